"""Shared by the Sigma source tests: run rules with the engine and key their matches as the test's
oracle does (a line number, an audit stamp)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable

import duckdb

from sekimori.detect.sigma.passes import run_groups
from sekimori.detect.sigma.ruleset import CompiledRule, Ruleset


def matches_by(
    con: duckdb.DuckDBPyConnection,
    ruleset: Ruleset,
    rules: Iterable[CompiledRule],
    key_sql: str = "record_id",
    by: Callable[[CompiledRule], str] = lambda r: r.id,
) -> dict[str, set[Hashable]]:
    """``by(rule)`` → the ``key_sql`` values (over ``events``) of the events the engine matched."""
    rules = list(rules)
    matches = run_groups(con, rules)
    key_of = dict(con.execute(f"SELECT uid, {key_sql} FROM events").fetchall())
    out: dict[str, set[Hashable]] = defaultdict(set)
    for r in rules:
        out[by(r)]  # every rule listed, also with no match
    for i, uid in zip(
        matches.column("rule_index").to_pylist(), matches.column("uid").to_pylist(), strict=True
    ):
        out[by(ruleset.rules[i])].add(key_of[uid])
    return dict(out)
