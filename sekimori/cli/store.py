"""Commands over the store: ingest, stats, query, readers."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sekimori.cli.app import app
from sekimori.cli.common import (
    DEFAULT_STORE,
    DEFAULT_WAIT,
    OutputFormat,
    StoreOption,
    WaitOption,
    console,
    day_range,
    fail,
    json_default,
    open_store,
    out,
    writer,
)
from sekimori.cli.engines import engine_named, read_settings
from sekimori.cli.render import cell, csv_value
from sekimori.ingest import registered_readers
from sekimori.store import QueryRefused, StoreError, iter_input_files


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Log files or directories (EVTX, JSON, syslog, …).")],
    store: StoreOption = DEFAULT_STORE,
    reader: Annotated[str | None, typer.Option(help="Force a reader instead of sniffing.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
    workers: Annotated[
        int | None, typer.Option(help="Processes reading files (default: one per CPU for large runs).")
    ] = None,
    wait: WaitOption = DEFAULT_WAIT,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (this machine's processes), or spark: the readers run in Spark tasks (sekimori's "
            "spark extra; master in the config's spark: block, see docs/scale.md).",
        ),
    ] = "duckdb",
    config: Annotated[Path | None, typer.Option(help="YAML settings (the spark: block).")] = None,
) -> None:
    """Read logs into the store. Bad records are quarantined; the run always finishes."""
    if reader is not None and reader not in registered_readers():
        raise fail(f"unknown reader {reader!r}; known: {', '.join(registered_readers())}")
    files = list(iter_input_files(paths))
    st = writer(store, wait)
    progress = Progress(
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TextColumn("{task.fields[events]:>10,} events"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=json_out or not console.is_terminal,
    )
    with progress:
        task = progress.add_task("ingest", total=len(files), events=0)
        counted = {"events": 0}

        def on_progress(path: str, size: int, events: int, done: bool) -> None:
            if done:
                counted["events"] += events
                progress.update(task, advance=1, events=counted["events"])
            else:  # a large file read in slices: its events so far
                progress.update(task, events=counted["events"] + events)

        try:
            with engine_named(engine, read_settings(config)) as spark:
                reading = spark.file_reading() if spark is not None else None
                report = st.ingest(
                    files, reader=reader, progress=on_progress, workers=workers, reading=reading
                )
        except StoreError as exc:
            raise fail(str(exc)) from exc
    summary = {
        "store": str(store),
        "files": len(report.files),
        "skipped": report.skipped,
        "events": report.events,
        "quarantined": report.quarantined,
        "seconds": round(report.seconds, 3),
        "events_per_second": round(report.events / report.seconds) if report.seconds else None,
        "failed": [
            {"path": f.path, "note": f.note} for f in report.files if f.status in ("failed", "partial")
        ],
    }
    if json_out:
        print(json.dumps(summary, ensure_ascii=False))
        return
    table = Table(title=f"ingest → {store}", show_header=False, box=None)
    table.add_row("files", f"{len(report.files):,} ({report.skipped:,} already in the store)")
    table.add_row("events", f"{report.events:,}")
    table.add_row("quarantined", f"{report.quarantined:,}")
    table.add_row("time", f"{report.seconds:.2f} s ({summary['events_per_second'] or 0:,} events/s)")
    console.print(table)
    bad = [f for f in report.files if f.quarantined]
    if bad:
        worst = Table(title="files with quarantined records (see the quarantine view)", box=None)
        worst.add_column("file")
        worst.add_column("events", justify="right")
        worst.add_column("quarantined", justify="right")
        for result in sorted(bad, key=lambda r: -r.quarantined)[:15]:
            worst.add_row(escape(result.path), f"{result.events:,}", f"{result.quarantined:,}")
        if len(bad) > 15:
            worst.add_row(f"… and {len(bad) - 15} more", "", "")
        console.print(worst)


@app.command()
def stats(
    store: StoreOption = DEFAULT_STORE,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Events and quarantined records in the store, per file."""
    st = open_store(store)
    data = st.stats()
    if json_out:
        print(json.dumps(data, ensure_ascii=False))
        return
    table = Table(title=f"{store}: {data['events']:,} events, {data['quarantined']:,} quarantined")
    table.add_column("file")
    table.add_column("events", justify="right")
    table.add_column("quarantined", justify="right")
    notes = any(f.get("note") for f in data["files"])
    if notes:  # why a file failed or was only partly stored
        table.add_column("note")
    for f in data["files"]:
        row = [escape(f["path"]), f"{f['events']:,}", f"{f['quarantined']:,}"]
        table.add_row(*row, *([escape(f.get("note") or "")] if notes else []))
    out.print(table)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views events, quarantine and files.")],
    store: StoreOption = DEFAULT_STORE,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    limit: Annotated[int, typer.Option(help="Rows shown in table format.")] = 50,
    days: Annotated[
        str | None,
        typer.Option(
            "--days",
            help="events holds only the events of these UTC days: 2024-03-01 or 2024-03-01..2024-03-07 "
            "(only the files that can hold them are read).",
        ),
    ] = None,
    sources: Annotated[
        list[str] | None,
        typer.Option("--source", help="events holds only this log source (source_format); repeatable."),
    ] = None,
) -> None:
    """Run SQL (DuckDB dialect) over the store."""
    try:
        window = day_range(days) if days is not None else None
    except ValueError as exc:
        raise fail(f"--days: {exc}") from exc
    st = open_store(store)
    try:
        result = st.sql(sql, days=window, sources=sources or None)
    except QueryRefused as exc:
        raise fail(f"query refused: {exc}") from exc
    except duckdb.Error as exc:
        raise fail(f"query failed: {exc}") from exc
    rows = result.to_pylist()
    if fmt is OutputFormat.json:
        print(json.dumps(rows, default=json_default, ensure_ascii=False))
    elif fmt is OutputFormat.jsonl:
        for row in rows:
            print(json.dumps(row, default=json_default, ensure_ascii=False))
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.column_names)
        for row in rows:
            writer.writerow([csv_value(v) for v in row.values()])
    else:
        table = Table(show_lines=False)
        for name in result.column_names:
            table.add_column(name, overflow="fold")
        for row in rows[:limit]:
            table.add_row(*(cell(v) for v in row.values()))
        out.print(table)
        if len(rows) > limit:
            console.print(f"[dim]{len(rows) - limit:,} more rows (use --limit or --format csv/json)[/]")


def list_readers() -> None:
    """The log formats sekimori reads (each a plugin)."""
    table = Table(title="readers")
    table.add_column("name")
    table.add_column("reads")
    for name, cls in registered_readers().items():
        table.add_row(name, cls.description)
    out.print(table)
