"""What the Spark tests compare of two engines' alerts: the (rule, event) pairs, and the rows with their
details parsed (the details' JSON text may order keys differently)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

COMPARED = ["alert_id", "rule_id", "title", "level", "score", "attack", "time", "host", "account"]


def pairs(alerts: pa.Table) -> set[tuple[str, str]]:
    return {(a["rule_id"], a["evidence"][0]["uid"]) for a in alerts.to_pylist()}


def rows(alerts: pa.Table) -> list[dict[str, Any]]:
    out = alerts.select([*COMPARED, "evidence", "details"]).to_pylist()
    for row in out:
        row["details"] = json.loads(row["details"])
    return sorted(out, key=lambda r: str(r["alert_id"]))


def every_column(alerts: pa.Table) -> list[dict[str, Any]]:
    """Every column of every alert, the details parsed, in ``alert_id`` order."""
    out = alerts.to_pylist()
    for row in out:
        row["details"] = json.loads(row["details"])
    return sorted(out, key=lambda r: (str(r["alert_id"]), str(r["rule_id"])))
