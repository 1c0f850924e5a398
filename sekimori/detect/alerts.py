"""One alert schema for every detector (Sigma, trust boundary, behaviour), as Arrow.

An alert names the rule, what it means (ATT&CK ids, level), when and where it happened, who was
involved (account, organisations), and its evidence: the events by source file and record id (as in
the log) plus their store uids. Scripts rely on the JSONL form (``sekimori alerts --format jsonl``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

SIGMA = "sigma"
BOUNDARY = "boundary"
BEHAVIOUR = "behaviour"
SOURCES = (SIGMA, BOUNDARY, BEHAVIOUR)

LEVELS = ("informational", "low", "medium", "high", "critical")

EVIDENCE_TYPE = pa.struct(
    [pa.field("path", pa.string()), pa.field("record_id", pa.int64()), pa.field("uid", pa.string())]
)

ALERT_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string()),  # stable: hash of rule id and evidence uids
        pa.field("rule_id", pa.string()),
        pa.field("title", pa.string()),
        pa.field("source", pa.string()),  # sigma | boundary | behaviour
        pa.field("level", pa.string()),  # informational … critical
        pa.field("score", pa.float64()),  # ranking within a source (behaviour); level-derived otherwise
        pa.field("attack", pa.list_(pa.string())),  # ATT&CK technique ids, e.g. T1078, T1021.002
        pa.field("time", pa.timestamp("us", tz="UTC")),  # first event
        pa.field("last_time", pa.timestamp("us", tz="UTC")),  # last event
        pa.field("host", pa.string()),
        pa.field("account", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("src_host", pa.string()),
        pa.field("src_ip", pa.string()),
        pa.field("target_host", pa.string()),
        pa.field("organisations", pa.list_(pa.string())),  # organisations involved, from the model
        pa.field("description", pa.string()),  # what was crossed / matched, in words
        pa.field("evidence", pa.list_(EVIDENCE_TYPE)),
        pa.field("details", pa.string()),  # detector-specific JSON
    ]
)

LEVEL_SCORE = {"informational": 0.1, "low": 0.3, "medium": 0.5, "high": 0.8, "critical": 1.0}


def alert_id(rule_id: str, evidence_uids: Sequence[str]) -> str:
    digest = hashlib.sha256(rule_id.encode())
    for uid in sorted(evidence_uids):
        digest.update(b"\0" + uid.encode())
    return digest.hexdigest()[:24]


def empty_alerts() -> pa.Table:
    return ALERT_SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """A detector's table in the alert schema: columns in order, missing ones null, types cast, and a
    score derived from the level where the detector gave none."""
    n = table.num_rows
    columns = []
    for f in ALERT_SCHEMA:
        if f.name in table.column_names:
            col = table.column(f.name)
            columns.append(col if col.type == f.type else col.cast(f.type))
        else:
            columns.append(pa.nulls(n, f.type))
    out = pa.Table.from_arrays(columns, schema=ALERT_SCHEMA)
    score = out.column("score")
    if score.null_count:
        levels = pa.array(list(LEVEL_SCORE), pa.string())
        by_level = pa.array(list(LEVEL_SCORE.values()), pa.float64()).take(
            pc.index_in(out.column("level"), value_set=levels)
        )
        out = out.set_column(out.schema.get_field_index("score"), "score", pc.coalesce(score, by_level))
    return out
