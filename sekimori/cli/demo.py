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
    from sekimori.demo import (
        CaseStory,
        DemoPart,
        Detected,
        GovernanceStory,
        GraphStory,
        ReportsStory,
        Separation,
        StoredLogs,
    )
    from sekimori.govern import Finding, ReviewStatus


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
    from sekimori.demo import CaseStory, Detected, GovernanceStory, GraphStory, ReportsStory, StoredLogs

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
    elif isinstance(part, GovernanceStory):
        _print_governance(part)
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


SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def _severity(finding: Finding) -> str:
    return f"[{SEVERITY_STYLE.get(str(finding.severity), '')}]{finding.severity}[/]"


def _fix(finding: Finding) -> str:
    """What fixing a seed finding would protect, in a sentence."""
    protected = finding.evidence.get("people_protected")
    subject = escape(finding.subject)
    if str(finding.kind) == "no_entrustment_contract":
        return (
            f"a contract entrusting it with the personal data puts {finding.people:,} people's data under "
            "supervision as an entrusted party"
        )
    verb = "separating" if str(finding.kind) == "shared_authentication" else "blocking"
    if not protected:
        return f"{verb} {subject} alone protects [red]no one[/]: the affiliate has other ways in"
    return f"{verb} {subject} protects [green]{protected:,}[/] people"


def _print_governance(story: GovernanceStory) -> None:
    """The register's findings (the seed case's first, with what fixing each protects), the access review
    and its revoke proposed for a second person's approval, the group posture, the audit chain."""
    out.rule(f"[bold]governance: the group's register of entrusted parties[/] (as of {story.as_of})")
    if story.imported is None:
        out.print("register: imported by an earlier run of the demo")
    else:
        counts = ", ".join(f"{len(ids)} {kind}" for kind, ids in story.imported.inserted.items())
        out.print(f"register: register.yaml imported in one transaction ({counts})")
    out.print("\n[bold]the seed case's findings[/], and what fixing each would protect:")
    shown: dict[str, int] = {}
    for f in story.seed:
        by_category = ", ".join(f"{k} {v:,}" for k, v in sorted(f.people_by_category.items()))
        same = f.people_by_category == shown  # the categories once, while they stay the same
        shown = f.people_by_category
        out.print(f"• {_severity(f)}: {escape(f.text['en'])}", highlight=False)
        out.print(f"  people exposed: {f.people:,}" + ("" if same else f" ({by_category})"), highlight=False)
        out.print(f"  fixing it: {_fix(f)}", highlight=False)
    out.print()
    rest = Table(title=f"the other findings ({len(story.rest)})", title_justify="left")
    for column in ("severity", "organisation", "finding"):
        rest.add_column(column)
    for f in story.rest:
        rest.add_row(_severity(f), escape(f.organisation), escape(f.text["en"]))
    out.print(rest)
    out.print()
    _print_review(story)
    out.print()
    _print_posture(story)


def _print_review(story: GovernanceStory) -> None:
    review = story.review
    out.print(
        f"[bold]access review {escape(review.id)}[/]: {escape(review.title)} — {review.total} grants "
        f"in force on {story.as_of}, each sent to its owner; deadline {review.deadline}",
        highlight=False,
    )
    if story.at_deadline is not None:
        _print_completion(story.at_deadline, f"on {story.at_deadline.as_of}")
    late = f"after {escape(story.late_owner)}'s late decisions" if story.late_owner else "now"
    _print_completion(review, late)
    table = Table()
    table.add_column("grant", no_wrap=True)
    table.add_column("owner", max_width=16)
    table.add_column("decision")
    table.add_column("reason", overflow="fold")
    for item in review.items:
        style = "red" if item.decision == "revoke" else "green"
        table.add_row(
            escape(item.grant), escape(item.owner), f"[{style}]{item.decision}[/]", escape(item.reason or "–")
        )
    out.print(table)
    for r in story.revocations:
        out.print(
            f"revoke of {escape(r.grant)} proposed as action {r.action_id} in {r.case_id} by "
            f"{escape(r.requested_by)}: [bold]{r.status}[/], not executed",
            highlight=False,
        )
        for change in r.changes:
            out.print(f"  dry-run: {escape(change)}", highlight=False)
    out.print(
        f"two-person rule: the proposer's own approval is refused ({escape(story.refused)}); "
        "a second person must approve",
        highlight=False,
    )
    db = f"sqlite:///{story.database}"
    out.print(
        f"  try: sekimori case show {story.revocations[0].case_id} --db {db}" if story.revocations else ""
    )


def _print_completion(status: ReviewStatus, when: str) -> None:
    overdue = [i for i in status.items if i.overdue]
    late = ", ".join(f"{escape(i.grant)} ({escape(i.owner)})" for i in overdue)
    out.print(
        f"  {when}: {status.decided}/{status.total} decided ({status.completion:.0%}); "
        + (f"[red]overdue[/]: {late}" if overdue else "nothing overdue"),
        highlight=False,
    )


def _print_posture(story: GovernanceStory) -> None:
    posture = story.posture
    group = posture.group
    out.print(
        f"[bold]group posture[/] on {posture.as_of}: score [bold]{group.score}[/]/100 = 100 − the points of "
        f"each kind of finding (critical 10, high 5, medium 2, low 1; at most 25 a kind)",
        highlight=False,
    )
    table = Table()
    for column in ("kind", "findings", "by severity", "points"):
        table.add_column(column, justify="right" if column in ("findings", "points") else "left")
    for part in group.parts:
        severities = ", ".join(f"{k} {v}" for k, v in part.by_severity.items())
        table.add_row(
            escape(part.kind),
            str(part.findings),
            severities,
            f"−{part.points}" + (" (cap)" if part.capped else ""),
        )
    out.print(table)
    orgs = ", ".join(f"{escape(o.organisation)} {o.score}" for o in posture.organisations)
    out.print(f"per organisation: {orgs}", highlight=False)
    audit = story.audit
    verdict = "[green]verified[/]" if audit.ok else f"[red]{len(audit.problems)} problem(s)[/]"
    db = f"sqlite:///{story.database}"
    out.print(f"audit chain: {verdict}, {audit.entries} entries   register: {db}\n", highlight=False)
