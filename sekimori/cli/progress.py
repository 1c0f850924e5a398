"""Progress of a detection run on the terminal, and its time per pass afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from sekimori.detect import DetectProgress


@contextmanager
def detect_progress(console: Console, quiet: bool = False) -> Iterator[Callable[[DetectProgress], None]]:
    """A callback for ``run_detectors(progress=…)`` that shows which detector runs and, for Sigma, how
    many batches of its log source passes are done of how many, and the events read so far."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[detector]}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )
    tasks: dict[str, Any] = {}
    events: dict[str, int] = {}

    def told(event: DetectProgress) -> None:
        name = event.detector
        if event.step == "start":
            tasks[name] = progress.add_task(name, total=None, detector=name, note="")
            events[name] = 0
        elif event.step == "batch" and name in tasks:  # the bar counts batches of passes: a known total
            events[name] += event.events
            note = f"{escape(event.logsource or '')} · {events[name]:,} events read"
            progress.update(tasks[name], total=event.total, completed=event.done, note=note)
        elif event.step == "end" and name in tasks:
            progress.update(tasks[name], total=1, completed=1, note=f"{event.alerts:,} alerts")
            progress.remove_task(tasks.pop(name))

    with progress:
        yield told


def print_passes(runs: list[Any], console: Console, most: int = 8) -> None:
    """The slowest passes of each detector that reported passes, with their share of its time."""
    for run in runs:
        passes = [p for p in run.passes if p.events]
        if not passes:
            continue
        total = sum(p.seconds for p in run.passes)
        table = Table(
            title=f"{run.name}: time per pass ({len(run.passes)} passes, {len(passes)} with events)"
        )
        for col in ("log source", "rules", "events", "seconds", "share"):
            table.add_column(col, justify="left" if col == "log source" else "right")
        for p in sorted(passes, key=lambda p: -p.seconds)[:most]:
            share = p.seconds / total if total else 0.0
            table.add_row(
                escape(p.logsource or ""), f"{p.rules:,}", f"{p.events:,}", f"{p.seconds:.2f}", f"{share:.0%}"
            )
        console.print(table)
