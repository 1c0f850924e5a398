"""``sekimori demo``: a store built from the logs bundled in the package, and what sekimori finds in it.

The logs are real (see ``data/logs/ATTRIBUTION.md``); the group model is an invented example modelled
on the 2023 incident chain (contractor PC → affiliate → shared authentication → parent systems).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from sekimori.model import GroupModel, load_model, register_model
from sekimori.store import IngestReport, Store

DATA = resources.files("sekimori.demo") / "data"


def demo_logs() -> list[str]:
    folder = Path(str(DATA / "logs"))
    return sorted(str(p) for p in folder.iterdir() if p.suffix in (".evtx", ".log", ".csv", ".json", ".gz"))


def demo_model_path() -> Path:
    return Path(str(DATA / "group.yaml"))


def demo_model() -> GroupModel:
    return load_model(demo_model_path())


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


_REMOTE_LOGONS = """
    SELECT coalesce(src_host, src_ip) AS source, src_host, src_ip,
           coalesce(target_host, host) AS target, target_ip,
           principal, domain, principal_sid, activity, logon_type,
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
    GROUP BY ALL
"""


def remote_logons(store: Store) -> list[dict[str, Any]]:
    """Logons and credential use from one machine onto another: the raw material of lateral movement."""
    return store.sql(f"SELECT * FROM ({_REMOTE_LOGONS}) ORDER BY first_seen").to_pylist()


def boundary_crossings(store: Store, model: GroupModel) -> list[dict[str, Any]]:
    """Remote logons joined with the group model: whose account, from whose host, onto whose system,
    and whether any grant allows it. A first look at what the boundary rules (detect/) will alert on."""
    con = store.connect()
    try:
        register_model(con, model)
        # Classify first (the model macros are correlated subqueries), then judge with plain joins.
        con.execute(
            f"""
            CREATE TEMP TABLE classified AS
            SELECT *, model.account_org(principal, domain, principal_sid) AS account_org,
                   model.host_org(src_host, src_ip) AS source_org,
                   model.host_org(target, target_ip) AS target_org
            FROM ({_REMOTE_LOGONS})
            """
        )
        return (
            con.sql(
                """
            SELECT c.*,
                string_agg(DISTINCT sh.system, ', ' ORDER BY sh.system) AS target_systems,
                string_agg(DISTINCT g.grant_id, ', ' ORDER BY g.grant_id) AS grants,
                (c.account_org IS DISTINCT FROM c.target_org OR c.source_org IS DISTINCT FROM c.target_org)
                    AS crosses_organisations
            FROM classified c
            LEFT JOIN model.system_hosts sh ON regexp_matches(c.target, sh.regex)
            LEFT JOIN model.grants g ON g.org = c.account_org
                AND (g.system = sh.system OR regexp_matches(c.target, coalesce(g.host_regex, '^$')))
                AND (c.logon_type IS NULL OR g.logon_type_code = c.logon_type)
            GROUP BY ALL ORDER BY c.first_seen
            """
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()
