"""``sekimori demo``: a store built from the logs bundled in the package, and what sekimori finds in it.

The logs are real (see ``data/logs/ATTRIBUTION.md``); the group model is an invented example modelled
on the 2023 incident chain (contractor PC → affiliate → shared authentication → parent systems).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sekimori.store import IngestReport, Store

DATA = resources.files("sekimori.demo") / "data"


def demo_logs() -> list[str]:
    folder = Path(str(DATA / "logs"))
    return sorted(str(p) for p in folder.iterdir() if p.suffix in (".evtx", ".log", ".csv", ".json", ".gz"))


def demo_model_path() -> Path:
    return Path(str(DATA / "group.yaml"))


@dataclass
class DemoResult:
    store: Path
    report: IngestReport
    overview: list[dict[str, Any]] = field(default_factory=list)
    logons: list[dict[str, Any]] = field(default_factory=list)


def build_demo_store(store_dir: Path) -> tuple[Store, IngestReport]:
    store = Store(store_dir)
    return store, store.ingest(demo_logs())


def overview(store: Store) -> list[dict[str, Any]]:
    """Events per category and host: what the store holds."""
    return store.sql(
        """
        SELECT category, host, count(*) AS events, min(time) AS first, max(time) AS last
        FROM events GROUP BY ALL ORDER BY category, events DESC
        """
    ).to_pylist()


def remote_logons(store: Store) -> list[dict[str, Any]]:
    """Logons and credential use from one machine onto another: the raw material of lateral movement."""
    return store.sql(
        """
        SELECT coalesce(src_host, src_ip) AS source, coalesce(target_host, host) AS target,
               coalesce(domain || '\\', '') || principal AS account, activity, logon_type,
               count(*) AS events, min(time) AS first_seen
        FROM events
        WHERE category = 'authentication' AND principal IS NOT NULL
          AND principal NOT IN ('ANONYMOUS LOGON', 'SYSTEM', 'LOCAL SERVICE', 'NETWORK SERVICE')
          AND NOT ends_with(principal, '$')
          AND coalesce(src_ip, '') NOT IN ('127.0.0.1', '::1')
          AND (src_ip IS NOT NULL OR src_host IS NOT NULL OR activity = 'explicit_credentials')
          AND lower(coalesce(target_host, host)) NOT IN ('localhost', '127.0.0.1', '::1')
          AND lower(split_part(coalesce(src_host, src_ip), '.', 1))
              IS DISTINCT FROM lower(split_part(coalesce(target_host, host), '.', 1))
        GROUP BY ALL ORDER BY first_seen
        """
    ).to_pylist()
