"""Commands over detection: detect, watch, alerts, timeline."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sekimori.cli.app import app
from sekimori.cli.common import (
    DEFAULT_STORE,
    DEFAULT_WAIT,
    OutputFormat,
    StoreOption,
    WaitOption,
    console,
    fail,
    iso_moment,
    json_default,
    load_model_or_fail,
    open_store,
    out,
    writer,
)
from sekimori.cli.engines import engine_named, read_settings
from sekimori.cli.progress import detect_progress, print_passes
from sekimori.cli.render import csv_value, print_alerts
from sekimori.store import StoreError


@app.command()
def detect(
    store: StoreOption = DEFAULT_STORE,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Detector name or source (sigma, boundary, behaviour).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="YAML with settings per detector.")] = None,
    wait: WaitOption = DEFAULT_WAIT,
    memory_limit: Annotated[
        str,
        typer.Option(
            "--memory-limit",
            help="DuckDB's memory for the run (e.g. 1GB, 512MB); beyond it, it spills to disk.",
        ),
    ] = "1GB",
    full: Annotated[
        bool, typer.Option("--full", help="Judge every segment again (Sigma judges only new ones otherwise).")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="The runs as one JSON object on stdout.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb, or spark: the Sigma rules, the boundary rules' edges and the behaviour "
            "analytics' logon rows on Apache Spark (sekimori's spark extra; master/remote in the "
            "config's spark: block, see docs/scale.md).",
        ),
    ] = "duckdb",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Show the alerts with evidence since then: an ISO time (2026-12-01T09:00+09:00), a "
            "duration back from now (90m, 24h, 7d), or 'new' for those this run found first.",
        ),
    ] = None,
) -> None:
    """Run the detectors over the store; alerts are kept in it (view ``alerts``). The alerts of a
    detector that does not run (not chosen, or no --model for the boundary rules) are kept as they were.

    Every run reads only the events of segments no earlier run saw (Sigma judges them; the boundary and
    behaviour rules group them once and judge the groups of the whole store); ``--full`` reads all."""
    from sekimori.detect import run_detectors

    when = _since(since)

    open_store(store)
    st = writer(store, wait)
    group = load_model_or_fail(model) if model is not None else None
    settings = read_settings(config)
    try:
        with detect_progress(console, quiet=json_out) as progress, engine_named(engine, settings) as other:
            report = run_detectors(
                st,
                group,
                only=only,
                config=settings,
                progress=progress,
                memory_limit=memory_limit,
                full=full,
                engine=other,
            )
    except (StoreError, ValueError) as exc:
        raise fail(str(exc)) from exc
    shown = report.alerts
    if since is not None:
        shown = report.new_alerts if when is None else report.since(when)
    if json_out:
        runs = [
            asdict(r) | {"seconds": round(r.seconds, 3), "passes": [_pass(p) for p in r.passes]}
            for r in report.runs
        ]
        result: dict[str, Any] = {
            "store": str(store),
            "alerts": report.alerts.num_rows,
            "new_alerts": report.new_alerts.num_rows,
            "runs": runs,
        }
        if since is not None:
            result |= {"since": since if when is None else when.isoformat(), "shown": shown.to_pylist()}
        print(json.dumps(result, default=json_default))
        return
    table = Table(title=f"detect → {store}")
    for col in ("detector", "source", "alerts", "seconds", "note"):
        table.add_column(col, justify="right" if col in ("alerts", "seconds") else "left")
    for run in report.runs:
        note = run.skipped or ""
        if run.skipped:
            note += (
                f"; kept its {run.kept:,} alert(s) of an earlier run" if run.kept else "; no earlier alerts"
            )
        table.add_row(run.name, run.source, f"{run.alerts:,}", f"{run.seconds:.2f}", note)
    console.print(table)
    print_passes(report.runs, console)
    console.print(
        f"{report.new_alerts.num_rows:,} alert(s) new in this run, {report.alerts.num_rows:,} in all"
    )
    if since is not None:
        what = "new in this run" if when is None else f"with evidence since {when.isoformat()}"
        console.print(f"{shown.num_rows:,} alert(s) {what}")
    print_alerts(shown.to_pylist()[:30], console)


def _since(text: str | None) -> datetime | None:
    """``--since``: an ISO time (UTC when it names no zone), a duration back from now, or ``new``."""
    if text is None or text.strip().lower() == "new":
        return None
    value = text.strip()
    units = {"m": 60, "h": 3600, "d": 86400}
    if value[:-1].isdigit() and value[-1:].lower() in units:
        return datetime.now(UTC) - timedelta(seconds=int(value[:-1]) * units[value[-1].lower()])
    try:
        return iso_moment(value)
    except ValueError as exc:
        raise fail(f"--since {text!r}: not an ISO time, a duration (90m, 24h, 7d) or 'new'") from exc


def _pass(p: Any) -> dict[str, Any]:
    return {"logsource": p.logsource, "rules": p.rules, "events": p.events, "seconds": round(p.seconds, 3)}


@app.command()
def watch(
    paths: Annotated[list[str], typer.Argument(help="Folders (or files) to watch.")],
    store: StoreOption = DEFAULT_STORE,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between scans.")] = 2.0,
    only: Annotated[list[str] | None, typer.Option("--only", help="Detector name or source.")] = None,
    ticks: Annotated[
        int | None, typer.Option(help="Stop after this many scans (default: run until ^C).")
    ] = None,
    wait: WaitOption = DEFAULT_WAIT,
) -> None:
    """Ingest new and growing files as they land, detect, and print each new alert with its delay."""
    from sekimori.detect import watch_store as watch_loop

    group = load_model_or_fail(model) if model is not None else None
    st = writer(store, wait)
    console.print(f"watching {', '.join(paths)} → {store} every {interval:g} s (Ctrl-C to stop)")
    try:
        for tick in watch_loop(st, paths, group, interval=interval, only=only, max_ticks=ticks):
            stamp = datetime.fromtimestamp(tick.started).strftime("%H:%M:%S")
            console.print(
                f"{stamp}  {len(tick.files)} file(s) changed, +{tick.events:,} events, "
                f"+{tick.quarantined:,} quarantined, {len(tick.new_alerts)} new alert(s) "
                f"in {tick.seconds:.1f} s"
            )
            for alert, delay in zip(tick.new_alerts, tick.delays, strict=True):
                print_alerts([alert], out)
                out.print(
                    f"    [dim]delay from the record landing to this alert: {delay:.1f} s[/]", highlight=False
                )
    except FileNotFoundError as exc:
        raise fail(f"{exc}: no such file or folder") from exc
    except StoreError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def alerts(
    store: StoreOption = DEFAULT_STORE,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, csv or json(l).")
    ] = OutputFormat.table,
    source: Annotated[str | None, typer.Option(help="Only this source: sigma, boundary, behaviour.")] = None,
    limit: Annotated[int, typer.Option(help="Alerts shown in table format.")] = 50,
) -> None:
    """The alerts in the store, boundary crossings first, then by time."""
    st = open_store(store)
    if "alerts" not in st.tables():
        raise fail(f"{store}: no alerts yet (run `sekimori detect --store {store}` first)")
    from sekimori.detect import SOURCES

    if source is not None and source not in SOURCES:
        raise fail(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    where = f"WHERE source = '{source}'" if source else ""  # checked against SOURCES above
    rows = st.sql(
        f"""SELECT * FROM alerts {where}
            ORDER BY CASE source WHEN 'boundary' THEN 0 WHEN 'behaviour' THEN 1 ELSE 2 END, time, alert_id"""
    ).to_pylist()
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        for row in rows:
            print(json.dumps(row, default=json_default, ensure_ascii=False))
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        columns = [
            "time",
            "level",
            "source",
            "rule_id",
            "title",
            "account",
            "host",
            "target_host",
            "attack",
            "organisations",
            "description",
            "evidence",
        ]
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_value(row[c]) for c in columns])
    else:
        print_alerts(rows[:limit], out)
        if len(rows) > limit:
            console.print(f"[dim]{len(rows) - limit:,} more (use --limit or --format jsonl)[/]")


@app.command()
def timeline(
    store: StoreOption = DEFAULT_STORE,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="hayabusa-csv, hayabusa-jsonl or timesketch.")
    ] = ("hayabusa-csv"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """The alerts' events as a timeline for Hayabusa-style review or Timesketch import."""
    from sekimori.detect import TimelineFormat
    from sekimori.detect import timeline as build_timeline

    try:
        kind = TimelineFormat(fmt)
    except ValueError:
        raise fail(
            f"unknown timeline format {fmt!r}; known: {', '.join(f.value for f in TimelineFormat)}"
        ) from None
    try:
        table = build_timeline(open_store(store), kind)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from exc
    handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        rows = table.to_pylist()
        if kind is TimelineFormat.hayabusa_csv:
            writer = csv.writer(handle)
            writer.writerow(table.column_names)
            for row in rows:
                writer.writerow([csv_value(v) for v in row.values()])
        else:
            for row in rows:
                handle.write(json.dumps(row, default=json_default, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    if output:
        console.print(f"{len(rows):,} timeline rows → {output}")
