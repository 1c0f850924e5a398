"""The ``sekimori`` command line: a thin face over the stages (no logic of its own).

Output a person reads is a rich table; machine output (``--json``, ``--format json|csv``) is plain
JSON/CSV on stdout so scripts can rely on it.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console
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

from sekimori.cli_common import fail, json_default, load_model_or_fail
from sekimori.cli_paths import paths_app
from sekimori.cli_report import report_app
from sekimori.cli_respond import audit_app, case_app
from sekimori.ingest.base import readers as registered_readers
from sekimori.store import QueryRefused, Store, StoreError
from sekimori.store.store import iter_input_files

app = typer.Typer(
    help="sekimori (関守): guards the trust boundaries between the companies of a group and its contractors.",
    no_args_is_help=True,
    add_completion=False,
)
model_app = typer.Typer(help="The group's trust model (YAML).", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(paths_app, name="paths")
app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")
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


def _writer(store: Path, wait: float) -> Store:
    """The store opened for writing: one writer at a time; waiting for another is said once."""
    return Store(
        store, lock_wait=wait, on_wait=lambda message: console.print(f"[yellow]{escape(message)}[/]")
    )


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


def _fail(message: str, code: int = 2) -> typer.Exit:
    return fail(message, code)


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
) -> None:
    """Read logs into the store. Bad records are quarantined; the run always finishes."""
    if reader is not None and reader not in registered_readers():
        raise _fail(f"unknown reader {reader!r}; known: {', '.join(registered_readers())}")
    files = list(iter_input_files(paths))
    st = _writer(store, wait)
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

        try:
            report = st.ingest(files, reader=reader, progress=on_progress, workers=workers)
        except StoreError as exc:
            raise _fail(str(exc)) from exc
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
    st = _open(store)
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
) -> None:
    """Run SQL (DuckDB dialect) over the store."""
    st = _open(store)
    try:
        result = st.sql(sql)
    except QueryRefused as exc:
        raise _fail(f"query refused: {exc}") from exc
    except duckdb.Error as exc:
        raise _fail(f"query failed: {exc}") from exc
    rows = result.to_pylist()
    if fmt is OutputFormat.json:
        print(json.dumps(rows, default=_json_default, ensure_ascii=False))
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.column_names)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row.values()])
    else:
        table = Table(show_lines=False)
        for name in result.column_names:
            table.add_column(name, overflow="fold")
        for row in rows[:limit]:
            table.add_row(*(_cell(v) for v in row.values()))
        out.print(table)
        if len(rows) > limit:
            console.print(f"[dim]{len(rows) - limit:,} more rows (use --limit or --format csv/json)[/]")


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", "-s", help="Where to build the demo store.")] = Path(
        "sekimori-demo-store"
    ),
) -> None:
    """Build a store from the bundled real attack logs and show who crossed which boundary."""
    from sekimori.demo import build_demo_store, demo_model, demo_model_path, detect, overview

    console.rule("[bold]sekimori demo[/] — contractor PC → affiliate → shared realm → parent")
    st, report = build_demo_store(store)
    console.print(
        f"ingested [bold]{report.events:,}[/] events from {len(report.files)} bundled log files "
        f"({report.skipped} already in {store}), {report.quarantined} quarantined"
    )
    table = Table(title="what the store holds")
    for col in ("category", "host", "events", "period (UTC)"):
        table.add_column(col, justify="right" if col == "events" else "left")
    for row in overview(st):
        period = f"{row['first']:%Y-%m-%d} … {row['last']:%Y-%m-%d}" if row["first"] else "–"
        table.add_row(row["category"], escape(row["host"] or "–"), f"{row['events']:,}", period)
    out.print(table)

    model = demo_model()
    orgs = ", ".join(f"{o.name} ({o.kind})" for o in model.organisations)
    out.print(f"\n[bold]group model[/] {demo_model_path().name}: {orgs}")
    detected = detect(st, model)
    ran = ", ".join(f"{r.name} {r.alerts}" for r in detected.runs if not r.skipped)
    out.print(f"[bold]alerts[/] ({ran}), boundary crossings first:\n")
    rows = detected.alerts.to_pylist()
    order = {"boundary": 0, "behaviour": 1, "sigma": 2}
    rows.sort(key=lambda r: (order.get(r["source"], 3), r["time"]))
    _print_alerts(rows[:40], out)
    if len(rows) > 40:
        out.print(f"[dim]… {len(rows) - 40} more: sekimori alerts --store {store}[/]")
    out.print()
    failed = [
        name
        for name, part in (
            ("attack paths", lambda: _demo_graph(st, model, store)),
            ("case", lambda: _demo_case(st, model, store)),
            ("reports", lambda: _demo_reports(store)),
        )
        if not _demo_part(name, part)
    ]
    console.print(f'store: {store}   try: sekimori query --store {store} "SELECT * FROM events LIMIT 5"')
    if failed:
        raise _fail(f"the demo could not show: {', '.join(failed)} (reasons above)", code=1)


def _demo_part(name: str, part: Callable[[], None]) -> bool:
    """Run one part of the demo; what it cannot produce is named in one line and the rest goes on."""
    try:
        part()
    except Exception as exc:  # the demo must end in a sentence, never a traceback
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        console.print(f"[red]{name}: not produced[/] ({type(exc).__name__}: {escape(reason)})")
        return False
    return True


def _demo_reports(store: Path) -> None:
    """The demo's reporting part: the seed case's reports (速報, 確報, the ministry's, the notices) with
    their deadlines as of three days after the company learned of the leak, and the progress page."""
    from sekimori.cli_report import print_reports
    from sekimori.demo import DEMO_REPORTS_AS_OF, seed_reports

    output = store / "reports"
    produced = seed_reports(output)
    out.rule(f"[bold]the seed case's reports[/] (deadlines as of {DEMO_REPORTS_AS_OF:%Y-%m-%d %H:%M} JST)")
    print_reports(out, produced, output)
    pages = [f for p in produced if p.kind == "progress_page" for f in p.files]
    out.print(f"reports: {output}   public progress page: {pages[0] if pages else '–'}\n")


def _demo_case(st: Store, model: Any, store: Path) -> None:
    """The demo's response part: a case from the boundary alerts, its scope, timeline and containment
    plan (a dry-run: nothing is changed)."""
    from sekimori.cli_respond import print_plan, print_scope, print_timeline
    from sekimori.demo import demo_case

    story = demo_case(st, model, store / "cases.db")
    out.rule(f"[bold]case {story.case_id}[/]: {escape(story.title)}")
    print_scope(out, story.scope)
    out.print()
    print_timeline(out, story.timeline)
    out.print()
    print_plan(out, story.plan, max_lines=1)
    out.print(
        f"cases: sqlite:///{store / 'cases.db'}   try: sekimori case show {story.case_id} "
        f"--db sqlite:///{store / 'cases.db'}\n"
    )


def _demo_graph(st: Store, model: Any, store: Path) -> None:
    """The demo's graph part: the contractor's path, blast radius, choke points, and the separation."""
    from sekimori.cli_paths import print_blast, print_choke, print_paths, print_what_if
    from sekimori.demo import DEMO_ENTRY, graph_story

    story = graph_story(st, model, store / "attack-paths.svg")
    out.rule(f"[bold]attack paths from the contractor ({DEMO_ENTRY})[/]")
    print_paths(out, story.paths, limit=3)
    out.print()
    print_blast(out, story.blast)
    out.print()
    print_choke(out, story.choke)
    out.print()
    print_what_if(out, story.separation)
    _print_separations(story.separations)
    out.print(f"picture: {story.picture}\n")


def _print_separations(separations: list[Any]) -> None:
    """Each change the regulators asked for, alone and together, in a sentence: how many people stay
    exposed and, if any, the way in that the change leaves open."""
    table = Table(title="the separations, one at a time and together", title_justify="left")
    table.add_column("change", overflow="fold")
    table.add_column("people exposed after", justify="right")
    table.add_column("people protected", justify="right")
    for sep in separations:
        result = sep.result
        table.add_row(
            escape(" and ".join(result.changes)),
            f"{result.after.exposure.total:,}",
            f"{result.people_protected:,}",
        )
    out.print(table)
    for sep in separations:
        result = sep.result
        what = escape(" and ".join(result.changes))
        if result.after.is_zero:
            out.print(f"• {what}: the contractor's blast radius [green]drops to zero[/].")
            continue
        verb = "changes nothing" if result.people_protected == 0 else "is not enough"
        out.print(
            f"• {what} alone [red]{verb}[/]: {result.after.exposure.total:,} people stay exposed.",
            highlight=False,
        )
        if sep.still is not None:
            hops = " → ".join(escape(h.text) for h in sep.still.hops)
            out.print(f"  still open: {hops}", highlight=False)


def _short_time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if isinstance(value, datetime) else _cell(value)


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
    json_out: Annotated[bool, typer.Option("--json", help="The runs as one JSON object on stdout.")] = False,
) -> None:
    """Run the detectors over the store; alerts are kept in it (view ``alerts``). The alerts of a
    detector that does not run (not chosen, or no --model for the boundary rules) are kept as they were."""
    import yaml

    from sekimori.detect.run import run_detectors

    _open(store)
    st = _writer(store, wait)
    group = load_model_or_fail(model) if model is not None else None
    settings: dict[str, Any] = {}
    if config is not None:
        try:
            settings = yaml.safe_load(config.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise _fail(f"{config}: {exc}") from exc
    try:
        report = run_detectors(st, group, only=only, config=settings)
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    if json_out:
        runs = [asdict(r) | {"seconds": round(r.seconds, 3)} for r in report.runs]
        print(json.dumps({"store": str(store), "alerts": report.alerts.num_rows, "runs": runs}))
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
    _print_alerts(report.alerts.to_pylist()[:30], console)


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
    from sekimori.detect.watch import watch as watch_loop

    group = load_model_or_fail(model) if model is not None else None
    st = _writer(store, wait)
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
                _print_alerts([alert], out)
                out.print(
                    f"    [dim]delay from the record landing to this alert: {delay:.1f} s[/]", highlight=False
                )
    except FileNotFoundError as exc:
        raise _fail(f"{exc}: no such file or folder") from exc
    except StoreError as exc:
        raise _fail(str(exc)) from exc
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
    st = _open(store)
    if "alerts" not in st.tables():
        raise _fail(f"{store}: no alerts yet (run `sekimori detect --store {store}` first)")
    from sekimori.detect.alerts import SOURCES

    if source is not None and source not in SOURCES:
        raise _fail(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    where = f"WHERE source = '{source}'" if source else ""  # checked against SOURCES above
    rows = st.sql(
        f"""SELECT * FROM alerts {where}
            ORDER BY CASE source WHEN 'boundary' THEN 0 WHEN 'behaviour' THEN 1 ELSE 2 END, time"""
    ).to_pylist()
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        for row in rows:
            print(json.dumps(row, default=_json_default, ensure_ascii=False))
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
            writer.writerow([_csv_value(row[c]) for c in columns])
    else:
        _print_alerts(rows[:limit], out)
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
    from sekimori.detect.export import TimelineFormat
    from sekimori.detect.export import timeline as build_timeline

    try:
        kind = TimelineFormat(fmt)
    except ValueError:
        raise _fail(
            f"unknown timeline format {fmt!r}; known: {', '.join(f.value for f in TimelineFormat)}"
        ) from None
    try:
        table = build_timeline(_open(store), kind)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        rows = table.to_pylist()
        if kind is TimelineFormat.hayabusa_csv:
            writer = csv.writer(handle)
            writer.writerow(table.column_names)
            for row in rows:
                writer.writerow([_csv_value(v) for v in row.values()])
        else:
            for row in rows:
                handle.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    if output:
        console.print(f"{len(rows):,} timeline rows → {output}")


def _print_alerts(rows: list[dict[str, Any]], target: Console) -> None:
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
            f"{_short_time(row['time'])}  [{style}]{row['level']:<8}[/] {row['source']:<9} "
            f"[bold]{escape(row['title'])}[/]  {escape(who or '')} {escape(where)}  "
            f"[dim]{' '.join(row['attack'] or [])} · {len(row['evidence'] or [])} event(s)[/]",
            highlight=False,
        )
        if row.get("description"):
            target.print(f"    {escape(row['description'])}", highlight=False)


@model_app.command("validate")
def model_validate(
    path: Annotated[Path, typer.Argument(help="Group model YAML file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Problems (or the summary) as JSON.")] = False,
) -> None:
    """Check a group model; every problem names the file, line and field."""
    from sekimori.model import ModelError, load_model

    try:
        model = load_model(path)
    except ModelError as exc:
        if json_out:
            print(json.dumps({"valid": False, "issues": [vars(i) for i in exc.issues]}, ensure_ascii=False))
        else:
            for issue in exc.issues:
                console.print(escape(str(issue)), soft_wrap=True, highlight=False)
            console.print(f"[bold red]{len(exc.issues)} problem(s)[/] in {escape(str(path))}")
        raise typer.Exit(1) from exc
    counts = {name: table.num_rows for name, table in model.tables().items()}
    if json_out:
        print(json.dumps({"valid": True, "tables": counts}))
        return
    summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    console.print(f"[green]valid[/]: {escape(str(path))} — {summary}", soft_wrap=True)


@model_app.command("schema")
def model_schema() -> None:
    """Print the JSON Schema of the model format (for editors)."""
    from sekimori.model import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))


@app.command("readers")
def list_readers() -> None:
    """The log formats sekimori reads (each a plugin)."""
    table = Table(title="readers")
    table.add_column("name")
    table.add_column("reads")
    for name, cls in registered_readers().items():
        table.add_row(name, cls.description)
    out.print(table)


def _open(store: Path) -> Store:
    if not (store / "segments").is_dir():
        raise _fail(f"{store}: not a sekimori store (run `sekimori ingest PATH --store {store}` first)")
    return Store(store)


_json_default = json_default


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "[dim]–[/]"
    text = str(_csv_value(value))
    return escape(text if len(text) <= 200 else text[:199] + "…")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
