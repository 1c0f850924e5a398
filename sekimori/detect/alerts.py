"""One alert schema for every detector (Sigma, trust boundary, behaviour), as Arrow.

An alert names the rule, what it means (ATT&CK ids, level), when and where it happened, who was
involved (account, organisations), and its evidence: the events by source file and record id (as in
the log) plus their store uids. Scripts rely on the JSONL form (``sekimori alerts --format jsonl``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

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


# -- typed alerts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One event an alert fired on: its file and record id (as in the log) and its store uid."""

    path: str | None = None
    record_id: int | None = None
    uid: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Evidence:
        return cls(row.get("path"), row.get("record_id"), row.get("uid"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Alert:
    """One alert as the stages after detection see it: a row of :data:`ALERT_SCHEMA`, typed. The field
    names and order are the schema's (a test holds them together); ``time`` is aware UTC."""

    alert_id: str
    rule_id: str | None = None
    title: str | None = None
    source: str | None = None
    level: str | None = None
    score: float | None = None
    attack: tuple[str, ...] = ()
    time: datetime | None = None
    last_time: datetime | None = None
    host: str | None = None
    account: str | None = None
    domain: str | None = None
    src_host: str | None = None
    src_ip: str | None = None
    target_host: str | None = None
    organisations: tuple[str, ...] = ()
    description: str | None = None
    evidence: tuple[Evidence, ...] = ()
    details: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Alert:
        """An alert from a row of the schema (``Table.to_pylist()``, JSONL); times may be datetimes or
        ISO text, a naive time is UTC. Keys outside the schema are ignored."""
        alert_id = row.get("alert_id")
        if not alert_id:
            raise ValueError(f"an alert without alert_id: {row.get('title')!r}")
        return cls(
            alert_id=str(alert_id),
            rule_id=row.get("rule_id"),
            title=row.get("title"),
            source=row.get("source"),
            level=row.get("level"),
            score=row.get("score"),
            attack=tuple(str(t) for t in row.get("attack") or ()),
            time=_utc(row.get("time"), alert_id),
            last_time=_utc(row.get("last_time"), alert_id),
            host=row.get("host"),
            account=row.get("account"),
            domain=row.get("domain"),
            src_host=row.get("src_host"),
            src_ip=row.get("src_ip"),
            target_host=row.get("target_host"),
            organisations=tuple(str(o) for o in row.get("organisations") or ()),
            description=row.get("description"),
            evidence=tuple(Evidence.from_row(e) for e in row.get("evidence") or ()),
            details=row.get("details"),
        )

    def to_row(self) -> dict[str, Any]:
        """The alert as a row of the schema (lists for the list columns)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["attack"], row["organisations"] = list(self.attack), list(self.organisations)
        row["evidence"] = [e.to_dict() for e in self.evidence]
        return row


def alerts_from_table(table: pa.Table) -> list[Alert]:
    """The rows of an alerts table (the schema's columns; others ignored) as :class:`Alert` objects."""
    return [Alert.from_row(row) for row in table.to_pylist()]


def _utc(value: Any, alert_id: object) -> datetime | None:
    """A time as an aware UTC datetime (from a datetime, ISO text or a pandas/Arrow scalar)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        to_py = getattr(value, "to_pydatetime", None) or getattr(value, "as_py", None)
        if to_py is None:
            raise ValueError(f"alert {alert_id}: time {value!r} is not a datetime")
        value = to_py()
        if not isinstance(value, datetime):
            raise ValueError(f"alert {alert_id}: time {value!r} is not a datetime")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
