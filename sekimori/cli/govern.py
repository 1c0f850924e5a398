"""``sekimori govern …``: the register of entrusted parties, contracts and grants (import, export, show,
verify) and access review campaigns (start, decide, status); findings, least privilege, supervision and
posture are in :mod:`sekimori.cli.govern_findings`.

Thin: the work is in :mod:`sekimori.govern`. Who acts is the operating-system user running the command,
mapped to a person by the principals file, as for ``sekimori case`` (``--actor`` can only repeat it).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sekimori.cli.common import console, emit, fail, out
from sekimori.cli.govern_findings import (
    findings_command,
    least_privilege_command,
    open_register,
    posture_command,
    supervise_app,
)
from sekimori.cli.render import cell, short_time
from sekimori.cli.respond import DEFAULT_DB, ActorOption, DbOption, JsonOption, acting_principal
from sekimori.govern import (
    RegisterError,
    ReviewError,
    ReviewStatus,
    decide,
    grant_usage,
    propose_revocations,
    read_register,
    record_revocation_outcomes,
    review_status,
    start_review,
    write_register,
    yaml_text,
)

govern_app = typer.Typer(help="Govern the contractors: the register of parties and grants, reviews.")
register_app = typer.Typer(help="The register of parties, contracts and grants.", no_args_is_help=True)
review_app = typer.Typer(help="Access review campaigns.", no_args_is_help=True)
govern_app.add_typer(register_app, name="register")
govern_app.add_typer(review_app, name="review")
govern_app.add_typer(supervise_app, name="supervise")
govern_app.command("findings")(findings_command)
govern_app.command("least-privilege")(least_privilege_command)
govern_app.command("posture")(posture_command)

KINDS = ("parties", "contracts", "grants")


def _register_error(exc: RegisterError) -> typer.Exit:
    for problem in exc.problems:
        console.print(f"[red]{escape(str(problem))}[/]", soft_wrap=True, highlight=False)
    return fail(f"{len(exc.problems)} problem(s); nothing was stored")


# -- register ------------------------------------------------------------------------------------------


@register_app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="A YAML file, a CSV file named for its kind, or a folder of CSV.")
    ],
    db: DbOption = DEFAULT_DB,
    replace: Annotated[
        bool, typer.Option("--replace", help="Also delete stored records of the kinds given that PATH lacks.")
    ] = False,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import parties, contracts and grants (inserted or updated by id) in one transaction: on any bad row
    nothing is stored, and every problem is named by file, row and field."""
    who = acting_principal(actor)
    try:
        data = read_register(path)
        with open_register(db) as register:
            report = register.import_records(data, who, source=str(path), replace=replace)
    except RegisterError as exc:
        raise _register_error(exc) from exc
    if json_out:
        emit(report.to_dict())
        return
    for what, found in (
        ("inserted", report.inserted),
        ("updated", report.updated),
        ("deleted", report.deleted),
    ):
        for kind, ids in found.items():
            console.print(f"{what} {len(ids)} {kind}", highlight=False)
    console.print(f"audit entry seq {report.audit_seq}", highlight=False)


@register_app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="A .yaml file, '-' for YAML on stdout, or a folder for CSV.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export the register: YAML, or one CSV file per kind (parties.csv, contracts.csv, grants.csv)."""
    with open_register(db) as register:
        records = register.records()
    if str(path) == "-":
        print(yaml_text(records), end="")
        return
    for written in write_register(records, path):
        console.print(f"wrote {escape(str(written))}", highlight=False)


@register_app.command("show")
def show_command(
    kind: Annotated[str, typer.Argument(help="parties, contracts or grants.")] = "grants",
    db: DbOption = DEFAULT_DB,
    store: Annotated[
        Path | None, typer.Option("--store", "-s", help="Store: add each grant's last use and MFA.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """The register's parties, contracts or grants (grants with their last use and MFA from --store)."""
    if kind not in KINDS:
        raise fail(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    with open_register(db) as register:
        records = register.records()[kind]
        grants = register.grants() if kind == "grants" else []
    rows: list[dict[str, Any]] = [r.model_dump(mode="json") for r in records]
    if store is not None and kind == "grants":
        from sekimori.cli.common import open_store

        usage = grant_usage(grants, open_store(store))
        for row in rows:
            row["usage"] = usage[row["id"]].to_dict()
    if json_out:
        emit(rows)
        return
    table = Table(title=kind)
    columns = list(rows[0]) if rows else ["id"]
    columns = [c for c in columns if c != "usage"]
    for column in columns:
        table.add_column(column)
    if store is not None and kind == "grants":
        for column in ("uses", "last used", "MFA"):
            table.add_column(column)
    for row in rows:
        cells = [cell(row[c]) for c in columns]
        if "usage" in row:
            use = row["usage"]
            mfa = {True: "yes", False: "[red]no[/]", None: "[dim]?[/]"}[use["mfa_used"]]
            cells += [str(use["uses"]) if use["known"] else "[dim]?[/]", short_time(use["last_used"]), mfa]
        table.add_row(*cells)
    out.print(table)


@register_app.command("verify")
def verify_command(db: DbOption = DEFAULT_DB, json_out: JsonOption = False) -> None:
    """Check the audit chain and the register and review tables against it."""
    with open_register(db) as register:
        report = register.verify()
    if json_out:
        emit({"ok": report.ok, "entries": report.entries, "problems": report.problems})
    elif report.ok:
        console.print(f"[green]audit trail intact[/]: {report.entries} entries")
    else:
        for problem in report.problems:
            console.print(f"[red]{escape(problem)}[/]", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


# -- reviews -------------------------------------------------------------------------------------------


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{option} {text!r}: expected a day, YYYY-MM-DD") from exc


def _pairs(items: list[str] | None, option: str) -> list[tuple[str, str]]:
    found = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"{option} {item!r}: expected NAME=VALUE")
        found.append((key.strip(), value.strip()))
    return found


def _print_status(status: ReviewStatus) -> None:
    console.print(
        f"[bold]{escape(status.id)}[/] {escape(status.title)} — deadline {status.deadline}, "
        f"{status.decided}/{status.total} decided ({status.completion:.0%})"
        + (" [red]overdue[/]" if status.overdue else ""),
        highlight=False,
    )
    table = Table()
    for column in ("grant", "owner", "subject", "object", "decision", "by", "reason", "revoke"):
        table.add_column(column)
    for item in status.items:
        decision = item.decision or ("[red]overdue[/]" if item.overdue else "[dim]open[/]")
        table.add_row(
            escape(item.grant),
            escape(item.owner),
            escape(f"{item.frozen.get('subject_kind')} {item.frozen.get('subject')}"),
            escape(f"{item.frozen.get('object_kind')} {item.frozen.get('object')}"),
            decision,
            cell(item.decided_by),
            cell(item.reason),
            cell(item.revoke_status),
        )
    out.print(table)


@review_app.command("start")
def start_command(
    review_id: Annotated[str, typer.Argument(help="The campaign's id, e.g. 2026-Q1.")],
    deadline: Annotated[str, typer.Option(help="Last day for decisions (YYYY-MM-DD).")],
    title: Annotated[str | None, typer.Option(help="Title (default: the id).")] = None,
    party: Annotated[str | None, typer.Option(help="Only the grants of this party.")] = None,
    delegate: Annotated[
        list[str] | None, typer.Option(help="OWNER=PERSON: PERSON may decide for OWNER (repeatable).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Start a campaign: the grants in force now are frozen into it, each sent to its owner."""
    who = acting_principal(actor)
    delegates: dict[str, list[str]] = {}
    for owner, person in _pairs(delegate, "--delegate"):
        delegates.setdefault(owner, []).append(person)
    try:
        with open_register(db) as register:
            status = start_review(
                register,
                review_id,
                title or review_id,
                _day(deadline, "--deadline"),
                who,
                party=party,
                delegates=delegates,
            )
    except ReviewError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        emit(status.to_dict())
    else:
        _print_status(status)


@review_app.command("decide")
def decide_command(
    review_id: str,
    grant_id: str,
    decision: Annotated[str, typer.Argument(help="certify, revoke or change.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail).")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="For a change: FIELD=VALUE of the grant (repeatable).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Record a decision on one grant: by its owner or a delegate, never by the grant's own subject."""
    who = acting_principal(actor)
    change = dict(_pairs(set_, "--set")) or None
    try:
        with open_register(db) as register:
            item = decide(register, review_id, grant_id, decision, reason, who, change)
    except ReviewError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        emit(item.to_dict())
        return
    pending = " (revoke pending: no containment action yet)" if item.revoke_status == "pending" else ""
    console.print(f"{escape(grant_id)}: {item.decision} by {escape(item.decided_by or '')}{pending}")


@review_app.command("status")
def status_command(
    review_id: str,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to judge overdue (default today).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
) -> None:
    """A campaign's decisions, completion rate and what is overdue."""
    try:
        with open_register(db) as register:
            status = review_status(register, review_id, _day(as_of, "--as-of") if as_of else None)
    except ReviewError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        emit(status.to_dict())
    else:
        _print_status(status)


@review_app.command("revoke")
def revoke_command(
    review_id: str,
    connector: Annotated[str, typer.Option(help="The connector that removes grants.")] = "webhook",
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Turn the campaign's pending revokes into containment actions (the connector's dry-run plans) in the
    campaign's case; another person approves them with `sekimori case approve`, then `case execute`."""
    who = acting_principal(actor)
    try:
        with open_register(db) as register:
            proposals = propose_revocations(register, review_id, who, connector=connector)
    except ReviewError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        emit([p.to_dict() for p in proposals])
        return
    if not proposals:
        console.print("no pending revoke")
    for p in proposals:
        console.print(f"{escape(p.grant)}: action {p.action_id} proposed in {p.case_id}", highlight=False)
        for change in p.changes:
            console.print(f"    {escape(change)}", highlight=False)


@review_app.command("outcomes")
def outcomes_command(
    review_id: str,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Record in the campaign where each revoke's containment action has got to (executed, verified,
    failed, rolled back), once the respond stage has acted on it."""
    who = acting_principal(actor)
    try:
        with open_register(db) as register:
            changed = record_revocation_outcomes(register, review_id, who)
    except ReviewError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        emit(changed)
        return
    if not changed:
        console.print("no revoke has a new outcome")
    for grant, status in changed.items():
        console.print(f"{escape(grant)}: {status}", highlight=False)
