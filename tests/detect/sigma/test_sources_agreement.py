"""Every SigmaHQ rule of the CloudTrail, Okta and Zeek log sources on real records, against a second
engine: pySigma's SQLite backend (with pySigma's ``zeek_raw`` pipeline for Zeek, no pipeline for the
cloud logs, whose rules SigmaHQ writes in the vendor's field names) over a SQLite table built here from
the *original files* (not the store): one row per record, one TEXT COLLATE NOCASE column per nested key
path joined by dots, as Zircolite flattens JSON. What is shared with sekimori is only the Sigma rules;
field reading, grouping, SQL and matching are each engine's own.
"""

from __future__ import annotations

import copy
import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sekimori.detect.sigma.reference import execute_adding_columns, sqlite_table
from sekimori.detect.sigma.rules import iter_rule_files, load_ruleset
from sekimori.store import Store
from tests.conftest import corpus
from tests.detect.sigma.matching import matches_by

pytestmark = pytest.mark.corpus


def _flatten(doc: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            if prefix:
                out.setdefault(prefix.lower(), json.dumps(node, separators=(",", ":")))
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        elif node is None:
            return
        elif isinstance(node, bool):
            out.setdefault(prefix.lower(), "true" if node else "false")
        elif isinstance(node, list | dict):
            out.setdefault(prefix.lower(), json.dumps(node, separators=(",", ":")))
        else:
            out.setdefault(prefix.lower(), str(node))

    walk(doc, "")
    return out


def _run(con: sqlite3.Connection, sql: str) -> set[int]:
    sql = sql.replace("SELECT * FROM logs", "SELECT row_uid FROM logs", 1)
    return {line for (line,) in execute_adding_columns(con, sql)}


def _reference(
    rows: list[tuple[int, dict[str, Any]]], wanted: set[str], zeek_log: str | None
) -> dict[str, set[int]]:
    from sigma.backends.sqlite.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
    from sigma.pipelines.elasticsearch.zeek import zeek_raw
    from sigma.processing.pipeline import ProcessingPipeline
    from sigma.rule import SigmaRule

    flat = [(line, _flatten(doc)) for line, doc in rows]
    if zeek_log is not None:
        for _, rec in flat:
            rec["@stream"] = zeek_log
    con = sqlite_table(flat)
    out: dict[str, set[int]] = {}
    for _path, text in iter_rule_files(None):
        if "correlation:" in text:
            continue
        for rule in SigmaCollection.from_yaml(text).rules:
            if not isinstance(rule, SigmaRule) or str(rule.id) not in wanted:
                continue
            pipeline = zeek_raw() if zeek_log is not None else ProcessingPipeline()
            backend = sqliteBackend(pipeline)
            try:
                queries = backend.convert_rule(copy.deepcopy(rule))
            except SigmaFeatureNotSupportedByBackendError:
                continue  # keywords: the SQLite backend has no full-text search
            out[str(rule.id)] = set().union(*(_run(con, str(q)) for q in queries))
    return out


def _ours(tmp: Path, files: list[Path], source_prefix: str) -> tuple[dict[str, set[int]], set[int], set[str]]:
    store = Store(tmp)
    store.ingest([str(f) for f in files])
    con = store.connect()
    ruleset = load_ruleset()
    rules = [
        r for r in ruleset.rules if any((v.source or "").startswith(source_prefix) for v in r.readings())
    ]
    ours = matches_by(con, ruleset, rules)
    lines = {int(n) for (n,) in con.execute("SELECT record_id FROM events").fetchall()}
    return ours, lines, {r.id for r in rules}


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield n, json.loads(line)


@pytest.mark.parametrize(
    ("folder", "name", "prefix", "min_fired"),
    [
        ("cloudtrail", "panther_aws_cloudtrail.jsonl", "cloudtrail:", 20),
        ("okta", "panther_okta_systemlog.jsonl", "okta:", 5),
    ],
)
def test_cloud_rules_agree_with_pysigma_sqlite(tmp_path, folder, name, prefix, min_fired):
    path = corpus("identity-cloud", folder, name)
    ours, lines, wanted = _ours(tmp_path, [path], prefix)
    rows = [(n, doc) for n, doc in _jsonl(path) if n in lines]  # the records the reader kept as events
    assert len(rows) == len(lines)
    theirs = _reference(rows, wanted, None)
    assert set(theirs) == wanted
    differ = {
        rid: (sorted(ours[rid] - theirs[rid]), sorted(theirs[rid] - ours[rid]))
        for rid in wanted
        if ours[rid] != theirs[rid]
    }
    assert differ == {}
    # the comparison is not vacuous: many rules fire on these labelled samples
    assert sum(1 for rid in wanted if theirs[rid]) > min_fired


@pytest.mark.parametrize("log", ["dns", "smb_files", "dce_rpc", "kerberos", "rdp", "x509"])
def test_zeek_rules_agree_with_pysigma_zeek_raw(tmp_path, log):
    path = corpus("zeek-wrccdc2018", "zeek-json", f"{log}.json.gz")
    ours, lines, wanted = _ours(tmp_path, [path], f"zeek:{log}")
    rows = [(n, doc) for n, doc in _jsonl(path) if n in lines]
    assert len(rows) == len(lines) > 0
    theirs = _reference(rows, wanted, log)
    # every rule the reference can convert (all but keyword searches) is compared
    assert theirs and set(theirs) <= wanted
    differ = {
        rid: (sorted(ours[rid] - theirs[rid])[:5], sorted(theirs[rid] - ours[rid])[:5])
        for rid in theirs
        if ours[rid] != theirs[rid]
    }
    assert differ == {}
