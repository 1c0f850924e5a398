"""Small builders of DuckDB SQL text shared by the staging and the analytics: quoting, lists, keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from sekimori.detect.behaviour.config import BehaviourConfig

# The columns that identify a logon for the grouping passes (one account, source, destination, kind).
LOGON_KEY = (
    "principal",
    "domain",
    "src_host",
    "src_ip",
    "coalesce(target_host, host)",
    "logon_type",
    "auth_package",
)


def first_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query (fetching all: a half-read result would block the connection)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def in_list(values: Sequence[str], upper: bool = False) -> str:
    vals = [v.upper() if upper else v.lower() for v in values]
    return "(" + ", ".join(quote(v) for v in vals) + ")" if vals else "(NULL)"


def int_list(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")" if values else "(NULL)"


def mixed_key(columns: Sequence[str]) -> str:
    """One 64-bit group key of the columns: DuckDB's ``hash`` of several values combines their hashes in
    order (one call: a nested ``hash(hash(…))`` per column to salt it by position cost 66 calls a row
    for 11 columns)."""
    return f"hash({', '.join(columns)})"


def microseconds(minutes: float) -> int:
    return max(1, int(minutes * 60_000_000))


def windows(minutes: float) -> tuple[int, int]:
    """(hop, window) in µs of hopping windows of ``minutes``: each window is two hops."""
    hop = microseconds(minutes / 2)
    return hop, 2 * hop


def scope_sql(cfg: BehaviourConfig) -> str:
    """The baseline's scope: the whole store, or each source file on its own."""
    return "''" if cfg.baseline_scope == "global" else "coalesce(source_file, '')"


def machine_filter(cfg: BehaviourConfig) -> str:
    return "AND NOT ends_with(principal, '$')" if cfg.skip_machine_accounts else ""


def evidence_list(cap: int, order: str = "t0") -> str:
    return f"list(ev ORDER BY {order}, ev.uid)[1:{cap}]"
