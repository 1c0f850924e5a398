"""Rendering shared by the commands: alerts as lines a person reads, cells and CSV values."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

from sekimori.cli.common import json_default


def csv_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=json_default, ensure_ascii=False)
    return value


def cell(value: Any) -> str:
    if value is None:
        return "[dim]–[/]"
    text = str(csv_value(value))
    return escape(text if len(text) <= 200 else text[:199] + "…")


def short_time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if isinstance(value, datetime) else cell(value)


def print_alerts(rows: list[dict[str, Any]], target: Console) -> None:
    styles = {
        "critical": "bold red",
        "high": "red",
        "medium": "yellow",
        "low": "cyan",
        "informational": "dim",
    }
    for row in rows:
        style = styles.get(row["level"], "")
        who = (
            f"{row['domain']}\\{row['account']}"
            if row.get("domain") and row.get("account")
            else row.get("account")
        )
        where = " → ".join(
            x
            for x in (row.get("src_host") or row.get("src_ip"), row.get("target_host") or row.get("host"))
            if x
        )
        target.print(
            f"{short_time(row['time'])}  [{style}]{row['level']:<8}[/] {row['source']:<9} "
            f"[bold]{escape(row['title'])}[/]  {escape(who or '')} {escape(where)}  "
            f"[dim]{' '.join(row['attack'] or [])} · {len(row['evidence'] or [])} event(s)[/]",
            highlight=False,
        )
        if row.get("description"):
            target.print(f"    {escape(row['description'])}", highlight=False)
