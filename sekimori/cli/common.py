"""What the commands share: the consoles, the store and wait options, the error exit, JSON output, opening
a store, loading a model with its problems shown."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.store import Store

console = Console(stderr=True)  # tables and progress for people; stdout stays for machine output
out = Console()

StoreOption = Annotated[
    Path,
    typer.Option("--store", "-s", envvar="SEKIMORI_STORE", help="Store directory.", show_default=True),
]
DEFAULT_STORE = Path("sekimori-store")
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        help="Seconds to wait while another process writes to the store (0: refuse at once).",
        min=0,
    ),
]
DEFAULT_WAIT = 600.0


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


def iso_moment(text: str) -> datetime:
    """An ISO 8601 time given on the command line, in UTC when it names no zone (ValueError if none)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_range(text: str) -> tuple[date, date]:
    """``2024-03-01`` or ``2024-03-01..2024-03-07`` (UTC days, both ends included); ValueError naming the
    value otherwise."""
    first, _, last = text.partition("..")
    try:
        days = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a day (YYYY-MM-DD) or a range of days (YYYY-MM-DD..YYYY-MM-DD)"
        ) from exc
    if days[1] < days[0]:
        raise ValueError(f"{text!r}: the last day is before the first")
    return days


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


REGISTER_ENV = "SEKIMORI_REGISTER"  # a register database URL: its parties, contracts, grants join the model


def load_model_or_fail(path: Path) -> GroupModel:
    """The group model at ``path``; on problems each is printed (file, line, field) and the command exits.
    With ``SEKIMORI_REGISTER`` set (a case database URL), the register in it is merged into the model
    (:func:`sekimori.govern.model_with_register`), so every command judges against the current register."""
    from sekimori.model import ModelError, load_model

    try:
        model = load_model(path)
        register = os.environ.get(REGISTER_ENV)
        return _with_register(model, register) if register else model
    except ModelError as exc:
        for issue in exc.issues:
            console.print(escape(str(issue)), soft_wrap=True, highlight=False)
        raise fail(f"{path}: not a valid group model") from exc
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from exc


def _with_register(model: GroupModel, url: str) -> GroupModel:
    from sekimori.govern import Register, RegisterError, model_with_register

    try:
        with Register(url) as register:
            return model_with_register(model, register)
    except RegisterError as exc:
        for problem in exc.problems:
            console.print(escape(str(problem)), soft_wrap=True, highlight=False)
        raise fail(f"{REGISTER_ENV}: the register does not fit the group model") from exc


def writer(store: Path, wait: float) -> Store:
    """The store opened for writing: one writer at a time; waiting for another is said once."""
    from sekimori.store import Store

    return Store(
        store, lock_wait=wait, on_wait=lambda message: console.print(f"[yellow]{escape(message)}[/]")
    )


def open_store(store: Path) -> Store:
    """The store opened for reading, or a clear error if there is none at ``store``."""
    from sekimori.store import Store

    if not (store / "segments").is_dir():
        raise fail(f"{store}: not a sekimori store (run `sekimori ingest PATH --store {store}` first)")
    return Store(store)
