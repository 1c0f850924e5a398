"""Sigma over what is new: a run judges only the segments the last run did not, and gives the same alerts
as a run over the whole store.

A Sigma rule judges one event at a time, so the matches of the segments judged before stay what they
were: they are kept in the store (table ``sigma_matches``: rule id, event uid and the event's columns an
alert shows) with the state of the run (table ``sigma_state``: the digest of the rules run and the
segments judged). A run then evaluates the rules over the new segments only (a connection whose
``events`` view holds just them), adds their matches to the kept ones, and makes every alert from all
matches: the single-event alerts, and the correlations (which span segments: a burst may begin in an old
segment and end in a new one), whose group-by fields are read from the whole store.

The kept matches are used only while they are exactly what a full run would find: the same rules (their
digest: ids, SQL, log source readings), and every segment judged before still in the store (a segment
removed or rewritten takes its events away). Otherwise the run judges every segment again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sekimori.detect.sigma.batches import Budget, batch_views
from sekimori.detect.sigma.engine import MATCH_SCHEMA
from sekimori.detect.sigma.passes import SigmaBatch, SigmaPass, run_groups
from sekimori.detect.sigma.ruleset import CompiledRule, Ruleset
from sekimori.detect.sigma.run import alerts_of_matches
from sekimori.store import Store

# Another engine's matching: (the rules, the segments to judge) → (their matches as MATCH_SCHEMA,
# whether every rule ran).
Matcher = Callable[[list[CompiledRule], list[str]], tuple[pa.Table, bool]]

MATCHES_TABLE = "sigma_matches"
STATE_TABLE = "sigma_state"
KEPT_SCHEMA = pa.schema(
    [pa.field("rule_id", pa.string()), *[f for f in MATCH_SCHEMA if f.name != "rule_index"]]
)
STATE_SCHEMA = pa.schema([pa.field("digest", pa.string()), pa.field("segment", pa.string())])


@dataclass
class IncrementalRun:
    alerts: pa.Table
    judged: list[str]  # the segments this run evaluated the rules over
    full: bool  # whether it judged every segment (no usable state, or asked to)
    matches: pa.Table  # every match, kept and new, as ``MATCH_SCHEMA``


def rules_digest(rules: list[CompiledRule]) -> str:
    """What decides a rule's matches: its id and every reading (SQL, filter, source), in order."""
    h = hashlib.sha256()
    for r in sorted(rules, key=lambda r: r.index):
        for v in r.readings():
            h.update("\0".join([r.id, v.sql, repr(v.filter), v.source or ""]).encode() + b"\1")
    return h.hexdigest()


def _state(store: Store) -> tuple[str | None, set[str]]:
    path = store.tables().get(STATE_TABLE)
    if path is None or MATCHES_TABLE not in store.tables():
        return None, set()
    table = pq.read_table(path)
    digests = set(table.column("digest").to_pylist())
    return (digests.pop() if len(digests) == 1 else None), set(table.column("segment").to_pylist())


def _kept_matches(store: Store, rules: list[CompiledRule]) -> pa.Table:
    """The stored matches as ``MATCH_SCHEMA`` (rule ids mapped to this ruleset's indexes)."""
    kept = pq.read_table(store.tables()[MATCHES_TABLE]).cast(KEPT_SCHEMA)
    index = {r.id: r.index for r in rules}
    ids = kept.column("rule_id").to_pylist()
    indexes = pa.array([index.get(i) for i in ids], pa.int64())
    table = kept.drop_columns(["rule_id"]).add_column(0, "rule_index", indexes)
    return table.filter(pc.is_valid(table["rule_index"])).cast(MATCH_SCHEMA)


def _to_kept(matches: pa.Table, ruleset: Ruleset) -> pa.Table:
    ids = pa.array([ruleset.rules[i].id for i in matches.column("rule_index").to_pylist()], pa.string())
    return matches.drop_columns(["rule_index"]).add_column(0, "rule_id", ids).cast(KEPT_SCHEMA)


def run_incremental(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    ruleset: Ruleset,
    rules: list[CompiledRule],
    on_pass: Callable[[SigmaPass], None] | None = None,
    full: bool = False,
    save: bool = True,
    budget: Budget | None = None,
    on_batch: Callable[[SigmaBatch], None] | None = None,
    matcher: Matcher | None = None,
) -> IncrementalRun:
    """The alerts of ``rules`` over the whole store, evaluating them over the new segments only when the
    stored state allows (see the module docstring). ``con``: a connection over the whole store; the
    segments judged are read in batches of ``budget`` (``batches.py``; ``None``: at once). ``save``: keep
    the matches and the state for the next run (needs the store's writer lock). ``matcher``: another
    engine's matching of the segments named (``sekimori.spark``) instead of DuckDB's; when it says its
    matches are not complete (rules it could not run), nothing is kept for the next run, which then
    judges every segment again."""
    digest = rules_digest(rules)
    segments = [p.name for p in store.segments()]
    stored_digest, judged_before = _state(store)
    usable = not full and stored_digest == digest and judged_before <= set(segments)
    new = [s for s in segments if s not in judged_before] if usable else segments
    if usable and not new:
        matches = _kept_matches(store, rules)
    elif matcher is not None:
        found, complete = matcher(rules, new)
        matches = (
            pa.concat_tables([_kept_matches(store, rules), found.cast(MATCH_SCHEMA)]) if usable else found
        )
        save = save and complete
    else:
        with batch_views(con, store.event_files(new), budget) as views:
            found = run_groups(con, rules, on_pass=on_pass, batches=views, on_batch=on_batch)
        matches = pa.concat_tables([_kept_matches(store, rules), found]) if usable else found
    alerts = alerts_of_matches(con, ruleset, rules, matches)
    if save:
        store.put_table(MATCHES_TABLE, _to_kept(matches, ruleset))
        state = pa.table({"digest": [digest] * len(segments), "segment": segments}, schema=STATE_SCHEMA)
        store.put_table(STATE_TABLE, state)
    return IncrementalRun(alerts, new, not usable, matches)
