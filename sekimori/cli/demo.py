"""The demo: the bundled real attack logs and example group told as the seed incident's story."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sekimori.cli.app import app
from sekimori.cli.common import console, fail, out
from sekimori.cli.render import print_alerts

if TYPE_CHECKING:  # the demo's stages load when the demo runs, not with every command
    from sekimori.demo import CaseStory, DemoPart, Detected, GraphStory, ReportsStory, Separation, StoredLogs


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", "-s", help="Where to build the demo store.")] = Path(
        "sekimori-demo-store"
    ),
) -> None:
    """Build a store from the bundled real attack logs and show who crossed which boundary."""
    from sekimori.demo import run_demo

    console.rule("[bold]sekimori demo[/] — contractor PC → affiliate → shared realm → parent")
    found = run_demo(store, show=_show)
    console.print(f'store: {store}   try: sekimori query --store {store} "SELECT * FROM events LIMIT 5"')
    if found.failed:
        names = ", ".join(part.name for part in found.failed)
        raise fail(f"the demo could not show: {names} (reasons above)", code=1)


def _show(part: DemoPart) -> None:
    """Print one part of the demo's story as soon as it is ready."""
    from sekimori.demo import CaseStory, Detected, GraphStory, ReportsStory, StoredLogs

    if isinstance(part, StoredLogs):
        _print_logs(part)
    elif isinstance(part, Detected):
        _print_detected(part)
    elif isinstance(part, GraphStory):
        _print_graph(part)
    elif isinstance(part, CaseStory):
        _print_case(part)
    elif isinstance(part, ReportsStory):
        _print_reports(part)
    else:
        console.print(f"[red]{part.name}: not produced[/] ({escape(part.reason)})")


def _print_logs(logs: StoredLogs) -> None:
    report = logs.ingest
    console.print(
        f"ingested [bold]{report.events:,}[/] events from {len(report.files)} bundled log files "
        f"({report.skipped} already in {logs.store_dir}), {report.quarantined} quarantined"
    )
    table = Table(title="what the store holds")
    for col in ("category", "host", "events", "period (UTC)"):
        table.add_column(col, justify="right" if col == "events" else "left")
    for row in logs.overview:
        period = f"{row.first:%Y-%m-%d} … {row.last:%Y-%m-%d}" if row.first and row.last else "–"
        table.add_row(row.category, escape(row.host or "–"), f"{row.events:,}", period)
    out.print(table)


def _print_detected(detected: Detected) -> None:
    orgs = ", ".join(f"{o.name} ({o.kind})" for o in detected.model.organisations)
    out.print(f"\n[bold]group model[/] {detected.model_file}: {orgs}")
    ran = ", ".join(f"{name} {count}" for name, count in detected.counts().items())
    out.print(f"[bold]alerts[/] ({ran}), boundary crossings first:\n")
    print_alerts([alert.to_row() for alert in detected.alerts[:40]], out)
    if len(detected.alerts) > 40:
        out.print(f"[dim]… {len(detected.alerts) - 40} more: sekimori alerts --store STORE[/]")
    out.print()


def _print_reports(story: ReportsStory) -> None:
    """The seed case's reports (速報, 確報, the ministry's, the notices) with their deadlines as of three
    days after the company learned of the leak, and the progress page."""
    from sekimori.cli.report import print_reports

    out.rule(f"[bold]the seed case's reports[/] (deadlines as of {story.as_of:%Y-%m-%d %H:%M} JST)")
    print_reports(out, story.produced, story.output)
    out.print(f"reports: {story.output}   public progress page: {story.progress_page or '–'}\n")


def _print_case(story: CaseStory) -> None:
    """A case from the boundary alerts, its scope, timeline and containment plan (a dry-run)."""
    from sekimori.cli.respond import print_plan, print_scope, print_timeline

    out.rule(f"[bold]case {story.case_id}[/]: {escape(story.title)}")
    print_scope(out, story.scope)
    out.print()
    print_timeline(out, story.timeline)
    out.print()
    print_plan(out, story.plan, max_lines=1)
    db = f"sqlite:///{story.database}"
    out.print(f"cases: {db}   try: sekimori case show {story.case_id} --db {db}\n")


def _print_graph(story: GraphStory) -> None:
    """The contractor's paths, blast radius, choke points, and the separations."""
    from sekimori.cli.paths import print_blast, print_choke, print_paths, print_what_if
    from sekimori.demo import DEMO_ENTRY

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


def _print_separations(separations: list[Separation]) -> None:
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
