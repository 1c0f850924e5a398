"""What the command-line faces share: the error exit, JSON output, loading a model with its problems shown."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sekimori.model import GroupModel

console = Console(stderr=True)  # tables and progress for people; stdout stays for machine output


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print the error for a person and return the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)


def emit(payload: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(payload, ensure_ascii=False, default=json_default))


def load_model_or_fail(path: Path) -> GroupModel:
    """The group model at ``path``; on problems each is printed (file, line, field) and the command exits."""
    from sekimori.model import ModelError, load_model

    try:
        return load_model(path)
    except ModelError as exc:
        for issue in exc.issues:
            console.print(escape(str(issue)), soft_wrap=True, highlight=False)
        raise fail(f"{path}: not a valid group model") from exc
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from exc
