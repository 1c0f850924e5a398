"""Running the Sigma passes: per log source group (``engine.groups``; pairs that differ only in field
names merged, ``merge.py``), one pass reads the group's events in turn from each batch, extracts the
fields its rules use and evaluates the rules over them; passes run concurrently on cursors of one
database and tell their progress."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.detect.sigma.engine import MATCH_SCHEMA, Group, filter_sql, groups
from sekimori.detect.sigma.merge import MergedGroup, merge_renamed
from sekimori.detect.sigma.ruleset import CompiledRule, RuleFailure


@dataclass(frozen=True)
class SigmaBatch:
    """One batch of one pass read and judged; ``done`` of ``total`` (every pass's batches) so far."""

    logsource: str
    events: int
    done: int
    total: int


@dataclass(frozen=True)
class SigmaPass:
    """One pass of the engine: a log source group read once and its rules evaluated."""

    logsource: str
    rules: int
    events: int
    seconds: float


def _matches(cur: duckdb.DuckDBPyConnection, group: Group, source: str) -> pa.Table:
    result: pa.Table = cur.sql(group.match_sql(source)).to_arrow_table()
    return result.cast(MATCH_SCHEMA)


CHUNK = 100  # rules per evaluation query: DuckDB's planning grows faster than linearly with size


def run_groups(
    con: duckdb.DuckDBPyConnection,
    rules: list[CompiledRule],
    table: str = "events",
    threads: int | None = None,
    chunk: int = CHUNK,
    failures: list[RuleFailure] | None = None,
    on_pass: Callable[[SigmaPass], None] | None = None,
    batches: Sequence[str] | None = None,
    on_batch: Callable[[SigmaBatch], None] | None = None,
) -> pa.Table:
    """Every (rule, event) match of the rules, as ``MATCH_SCHEMA``; ``on_pass`` is told of each pass
    as it ends, ``on_batch`` of each batch of each pass (from the worker threads).

    Per log source group, one pass reads the group's events and extracts every field its rules use
    into a temporary table (one JSON parse per event); the rules are then evaluated over that table
    ``chunk`` at a time (one query computes the chunk's rules as a list of matching rule indexes per
    event). ``batches``: relations holding ``table``'s events between them (``batches.py``), read in
    turn by each pass, whose table is then built and dropped per batch (default: ``table`` at once).
    Groups run concurrently on cursors of the same database. A chunk that DuckDB rejects is run rule
    by rule; the rules it rejects are left out (their matches in every batch) and added to ``failures``.
    """
    todo = sorted(merge_renamed(groups(rules)), key=lambda g: -len(g.rules))
    sources = list(batches) if batches else [table]
    readers = {s: _readers(con, todo, s) for s in sources}
    total = len(todo) * len(sources)
    done = [0]
    lock = threading.Lock()

    def batch_done(g: Group | MergedGroup, count: int) -> None:
        if on_batch is not None:
            with lock:  # passes run on several threads
                done[0] += 1
                step = SigmaBatch(g.label, count, done[0], total)
            on_batch(step)

    def one(job: tuple[int, Group | MergedGroup]) -> list[pa.Table]:
        n, g = job
        cur = con.cursor()
        name = f"_sigma_fields_{n}"
        started = time.perf_counter()
        events = 0
        failed: dict[int, RuleFailure] = {}
        out: list[pa.Table] = []
        try:
            planned = False
            for source in sources:
                if n not in readers[source]:
                    batch_done(g, 0)
                    continue
                cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {g.fields_sql(source)}")
                count = int(cur.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
                events += count
                if count and not planned:
                    # The rule queries are wide boolean expressions over a small table: the optimizers
                    # (made for joins and scans) cost more to run on them than they save. Off on this
                    # cursor only.
                    optimizers = [
                        r[0] for r in cur.execute("SELECT name FROM duckdb_optimizers()").fetchall()
                    ]
                    cur.execute(f"SET disabled_optimizers = '{','.join(optimizers)}'")
                    planned = True
                if count:  # no event of this log source in the batch: nothing to plan
                    out.extend(
                        _evaluate(
                            cur, g.part([r for r in g.rules if r.index not in failed]), name, chunk, failed
                        )
                    )
                cur.execute(f"DROP TABLE IF EXISTS {name}")
                batch_done(g, count)
            if on_pass is not None:
                on_pass(SigmaPass(g.label, len(g.rules), events, time.perf_counter() - started))
        finally:
            cur.close()
        if failures is not None:
            failures.extend(failed.values())
        if failed:  # as without batches: a rule DuckDB rejects on any event has no match at all
            gone = pa.array(sorted(failed), pa.int64())
            out = [t.filter(pc.invert(pc.is_in(t["rule_index"], gone))) for t in out]
        return out

    workers = threads or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        tables = [t for ts in pool.map(one, enumerate(todo)) for t in ts]
    return pa.concat_tables(tables) if tables else MATCH_SCHEMA.empty_table()


def _readers(con: duckdb.DuckDBPyConnection, todo: Sequence[Group | MergedGroup], source: str) -> set[int]:
    """Positions in ``todo`` of the passes that may find events in ``source``: the others' fields query
    would find none, as it selects events by a Windows filter (``engine.filter_sql``) on four columns
    that no distinct value of those columns here passes. Most of the ~90 passes have no event in a
    given batch; each not run saves a scan of the batch's raw records. One query per batch decides for
    all. A pass of another source selects its rows in its own ways: always run."""
    out: set[int] = set()
    checks: list[tuple[int, str]] = []
    for n, g in enumerate(todo):
        parts = [g.first, g.second] if isinstance(g, MergedGroup) else [g]
        if any(p.source is not None for p in parts):
            out.add(n)
        else:
            checks.append((n, " OR ".join(f"({filter_sql(p.filter)})" for p in parts)))
    if checks:
        kinds = f"SELECT DISTINCT source_format, event_code, channel, provider FROM {source}"
        found = con.execute(
            f"SELECT {', '.join(f'bool_or({w})' for _, w in checks)} FROM ({kinds})"
        ).fetchall()
        out |= {n for (n, _), hit in zip(checks, found[0], strict=True) if hit}
    return out


def _evaluate(
    cur: duckdb.DuckDBPyConnection, g: Group, name: str, chunk: int, failed: dict[int, RuleFailure]
) -> list[pa.Table]:
    """The matches of ``g``'s rules over the fields table ``name``, ``chunk`` rules a query; a rule
    DuckDB rejects goes to ``failed``."""
    out = []
    for i in range(0, len(g.rules), chunk):
        part = g.part(g.rules[i : i + chunk])
        try:
            out.append(_matches(cur, part, name))
        except duckdb.Error:
            for r in part.rules:
                try:
                    out.append(_matches(cur, part.part([r]), name))
                except duckdb.Error as exc:
                    reason = f"DuckDB: {str(exc).splitlines()[0]}"
                    failed.setdefault(r.index, RuleFailure(r.path, r.id, r.title, reason))
    return out
