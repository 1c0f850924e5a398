"""``sekimori case …`` and ``sekimori audit verify``: incident cases, their scope, timeline and containment.

Thin: the work is in :mod:`sekimori.respond`. Who acts is the operating-system user running the command
(its real uid), mapped to a person by the principals file (``SEKIMORI_PRINCIPALS``, see
:mod:`sekimori.respond.principals`): never a name typed as an option or set in the environment.
``--actor NAME`` only asserts who you are and is refused when it names someone else. An approval must come
from another person than the request. Connector credentials come from the environment or the secrets file
(``SEKIMORI_SECRETS``), never from the command line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sekimori.cli.common import console, emit, fail, iso_moment, load_model_or_fail
from sekimori.detect import Alert, alerts_from_table
from sekimori.respond import (
    Case,
    CaseError,
    CaseStore,
    ContainmentAction,
    Principal,
    PrincipalError,
    Scope,
    Timeline,
    case_record,
    case_timeline,
    containment_plan,
    open_cases,
    os_principal,
    person_key,
    scope_case,
    select_alerts,
    stored_scope,
)

case_app = typer.Typer(
    help="Incident cases: open from alerts, scope, timeline, containment.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit trail of the cases.", no_args_is_help=True)

DbOption = Annotated[
    str,
    typer.Option(
        "--db", envvar="SEKIMORI_CASES", help="Case database URL: sqlite:///FILE or postgresql+psycopg://…"
    ),
]
DEFAULT_DB = "sqlite:///sekimori-cases.db"
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        help="Who you are, checked against your operating-system login: refused if it names someone else.",
    ),
]
StoreOption = Annotated[Path, typer.Option("--store", "-s", envvar="SEKIMORI_STORE", help="Store directory.")]
ModelOption = Annotated[
    Path | None, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


def acting_principal(claimed: str | None) -> Principal:
    """The principal of this process (the OS user); ``--actor`` can only repeat it, never change it."""
    try:
        who = os_principal()
    except PrincipalError as exc:
        raise fail(str(exc)) from exc
    if claimed is not None and person_key(claimed) not in who.name_keys():
        raise fail(
            f"--actor {claimed!r}: you are {who.label} (the operating-system user running sekimori); "
            "who acts is taken from the login, not from an option"
        )
    return who


_actor = acting_principal  # the respond commands' short name


def _cases(db: str) -> CaseStore:
    try:
        return CaseStore(db)
    except Exception as exc:  # a database that cannot be opened: say which, not the password in it
        safe = db.split("@")[-1] if "@" in db else db
        raise fail(f"cannot open the case database {safe}: {type(exc).__name__}") from exc


def _case(cases: CaseStore, case_id: str) -> Case:
    try:
        return cases.get(case_id)
    except CaseError as exc:
        raise fail(str(exc)) from exc


def load_case(db: str, case_id: str) -> Case:
    """The case, or a clear error (an unknown case, a database that cannot be opened)."""
    with _cases(db) as cases:
        return _case(cases, case_id)


def load_case_actions(db: str, case_id: str) -> list[Any]:
    """The case's containment actions (for its containment milestone), or a clear error."""
    with _cases(db) as cases:
        _case(cases, case_id)
        return cases.actions(case_id)


def case_scope(case: Case) -> Scope:
    """The case's scope, or a clear error saying how to get it."""
    scope = stored_scope(case)
    if scope is None:
        raise fail(f"{case.id} has no scope yet: run `sekimori case scope {case.id} --store …` first")
    return scope


def _store_alerts(store: Path, ids: list[str] | None = None) -> list[Alert]:
    from sekimori.store import Store

    if not (store / "segments").is_dir():
        raise fail(f"{store}: not a sekimori store")
    try:
        alerts = alerts_from_table(Store(store).sql("SELECT * FROM alerts ORDER BY time, alert_id"))
    except Exception as exc:
        raise fail(f"{store}: no alerts yet (run `sekimori detect --store {store}` first)") from exc
    try:
        return select_alerts(alerts, ids) if ids else alerts
    except CaseError as exc:
        raise fail(str(exc)) from exc


def _load_model(model: Path | None) -> Any:
    return load_model_or_fail(model) if model is not None else None


# --- commands ---


@case_app.command("open")
def open_command(
    store: StoreOption,
    db: DbOption = DEFAULT_DB,
    alert: Annotated[
        list[str] | None, typer.Option("--alert", help="Alert ids (default: group them all).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only alerts of this source (boundary, sigma…).")] = None,
    title: Annotated[str | None, typer.Option(help="Case title.")] = None,
    new: Annotated[
        bool, typer.Option("--new", help="Open new cases even for alerts already in a case.")
    ] = False,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Open cases from the store's alerts: one per group of alerts sharing accounts, hosts or
    organisations close in time (or one case for the alerts given). Alerts already in a case are not
    opened again: a group's new alerts join the case its other alerts are in (--new: new cases)."""
    who = _actor(actor)
    alerts = _store_alerts(store, alert)
    if source:
        alerts = [a for a in alerts if a.source == source]
    if not alerts:
        raise fail("no alerts to open a case from")
    with _cases(db) as cases:
        opened = open_cases(cases, alerts, who, title=title, new=new, one_case=bool(alert))
    if json_out:
        emit([o.to_dict() for o in opened.cases])
    else:
        for o in opened.cases:
            what = "opened" if o.new else f"added {o.added} alerts to"
            console.print(f"{what} [bold]{o.case.id}[/]: {escape(o.case.title)}")
    if opened.already:
        console.print(
            f"{opened.already} alerts already in cases {', '.join(opened.already_in)}: not opened again "
            "(--new to open new cases)",
            highlight=False,
        )


@case_app.command("list")
def list_command(db: DbOption = DEFAULT_DB, json_out: JsonOption = False) -> None:
    """The cases."""
    with _cases(db) as cases:
        rows = cases.list_cases()
    if json_out:
        emit([{"id": c.id, "title": c.title, "status": c.status, "created": c.created} for c in rows])
        return
    table = Table(title="cases")
    for col in ("id", "status", "created", "alerts", "title"):
        table.add_column(col)
    for c in rows:
        table.add_row(c.id, c.status, f"{c.created:%Y-%m-%d %H:%M}", str(len(c.alerts)), escape(c.title))
    console.print(table)


@case_app.command("show")
def show_command(case_id: str, db: DbOption = DEFAULT_DB, json_out: JsonOption = False) -> None:
    """A case: its alerts, entries and containment actions."""
    with _cases(db) as cases:
        case = _case(cases, case_id)
        actions = cases.actions(case_id)
    if json_out:
        emit(case_record(case, actions))
        return
    print_case(console, case, actions)


@case_app.command("note")
def note_command(
    case_id: str,
    text: str,
    db: DbOption = DEFAULT_DB,
    kind: Annotated[
        str, typer.Option(help="note, evidence, decision, judgment, detection, containment, notification")
    ] = "note",
    time: Annotated[str | None, typer.Option(help="When it happened (ISO 8601; default now).")] = None,
    actor: ActorOption = None,
) -> None:
    """Add a note, evidence, decision or milestone (judgment, notification…) to the case's timeline."""
    when = None
    if time:
        try:
            when = iso_moment(time)
        except ValueError as exc:
            raise fail(f"--time {time!r}: expected ISO 8601, e.g. 2023-10-27T09:00:00+09:00") from exc
    with _cases(db) as cases:
        try:
            entry = cases.add_entry(case_id, kind, text, _actor(actor), time=when)
        except CaseError as exc:
            raise fail(str(exc)) from exc
    console.print(f"{case_id}: {entry.kind} at {entry.time:%Y-%m-%d %H:%M}Z recorded")


@case_app.command("scope")
def scope_command(
    case_id: str,
    store: StoreOption,
    model: ModelOption = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Follow the case's compromised accounts and hosts through the store; keep the scope in the case."""
    from sekimori.store import Store

    group = _load_model(model)
    with _cases(db) as cases:
        case = _case(cases, case_id)
        alerts = _store_alerts(store, [a.alert_id for a in case.alerts])
        scope = scope_case(cases, case_id, Store(store), alerts, group, _actor(actor))
    if json_out:
        emit(scope.to_dict())
    else:
        print_scope(console, scope)


@case_app.command("timeline")
def timeline_command(case_id: str, db: DbOption = DEFAULT_DB, json_out: JsonOption = False) -> None:
    """The case's timeline: alerts, scope hops, entries and containment; dwell time and time to contain."""
    with _cases(db) as cases:
        try:
            timeline = case_timeline(cases, case_id)
        except CaseError as exc:
            raise fail(str(exc)) from exc
    if json_out:
        emit(timeline.to_dict())
    else:
        print_timeline(console, timeline)


@case_app.command("contain")
def contain_command(
    case_id: str,
    model: ModelOption = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    propose: Annotated[
        bool, typer.Option("--propose", help="Store the plans for approval (else only show).")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """The containment plan from the case's scope: each action, its connector and (where the connector is
    configured) the exact changes, as a dry-run. With --propose the plans are stored for approval."""
    group = _load_model(model)
    with _cases(db) as cases:
        case_scope(_case(cases, case_id))
        who = _actor(actor) if propose else None
        try:
            steps = containment_plan(cases, case_id, group, propose_as=who)
        except CaseError as exc:
            raise fail(str(exc)) from exc
    rows = [step.to_dict() for step in steps]
    if json_out:
        emit(rows)
    else:
        print_plan(console, rows)


@case_app.command("approve")
def approve_command(action_id: int, db: DbOption = DEFAULT_DB, actor: ActorOption = None) -> None:
    """Approve a proposed action (a second person: not the one who proposed it)."""
    _act(db, lambda cases: cases.approve(action_id, _actor(actor)))


@case_app.command("execute")
def execute_command(action_id: int, db: DbOption = DEFAULT_DB, actor: ActorOption = None) -> None:
    """Execute an approved action through its connector, then verify it."""
    _act(db, lambda cases: cases.execute(action_id, _actor(actor)))


@case_app.command("rollback")
def rollback_command(action_id: int, db: DbOption = DEFAULT_DB, actor: ActorOption = None) -> None:
    """Undo an executed action (where the change can be undone)."""
    _act(db, lambda cases: cases.rollback(action_id, _actor(actor)))


def _act(db: str, step: Any) -> None:
    with _cases(db) as cases:
        try:
            action: ContainmentAction = step(cases)
        except CaseError as exc:
            raise fail(str(exc)) from exc
    detail = action.error or action.verify_detail or action.detail or ""
    console.print(
        f"action {action.id} ({action.kind} {escape(action.target)}): "
        f"[bold]{action.status}[/] {escape(detail)}"
    )
    if action.status == "failed":
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    db: DbOption = DEFAULT_DB,
    anchor: Annotated[
        Path | None, typer.Option(help="Anchor file (default: beside an SQLite database).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Check the audit chain (any edited, deleted, reordered or truncated entry) and the case tables
    against it (any row edited, inserted or deleted beside sekimori: table, row, field, expected, found)."""
    try:
        with CaseStore(db, anchor=anchor, recover=False) as cases:
            report = cases.verify()
    except Exception as exc:
        raise fail(f"cannot verify the audit trail: {type(exc).__name__}: {exc}") from exc
    if json_out:
        emit({"ok": report.ok, "entries": report.entries, "problems": report.problems})
    elif report.ok:
        console.print(f"[green]audit trail intact[/]: {report.entries} entries")
    else:
        for problem in report.problems:
            console.print(f"[red]{escape(problem)}[/]")
    if not report.ok:
        raise typer.Exit(1)


def print_case(target: Console, case: Case, actions: list[ContainmentAction]) -> None:
    target.print(
        f"[bold]{case.id}[/] {escape(case.title)} — {case.status}, opened by {escape(case.opened_by)}"
    )
    table = Table(title="alerts", title_justify="left")
    for col in ("time", "level", "title", "account", "host"):
        table.add_column(col)
    for a in case.alerts:
        table.add_row(
            f"{a.time:%Y-%m-%d %H:%M:%S}" if a.time else "–",
            a.level or "",
            escape(a.title or ""),
            escape(a.account or ""),
            escape(a.host or ""),
        )
    target.print(table)
    for e in case.entries:
        target.print(f"  {e.time:%Y-%m-%d %H:%M}Z {e.kind}: {escape(e.text)} ({escape(e.actor)})")
    for act in actions:
        target.print(f"  action {act.id}: {act.kind} {escape(act.target)} via {act.connector}: {act.status}")


def print_scope(target: Console, scope: Scope) -> None:
    target.print(
        f"[bold]scope[/]: {len(scope.accounts)} accounts, {len(scope.hosts)} hosts, "
        f"{len(scope.data_stores)} data stores ({scope.rounds} rounds; window "
        f"{scope.window[0]:%Y-%m-%d} … {scope.window[1]:%Y-%m-%d})"
    )
    for line in scope.hops():
        target.print(f"  {escape(line)}", highlight=False)


def _at(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S}Z" if when is not None else "not recorded"


def print_timeline(target: Console, timeline: Timeline) -> None:
    table = Table(title="timeline (UTC)", title_justify="left")
    table.add_column("time")
    table.add_column("kind")
    table.add_column("what", overflow="fold")
    for item in timeline.items:
        table.add_row(f"{item.time:%Y-%m-%d %H:%M}", item.kind, escape(item.text))
    target.print(table)
    figures = timeline.figures()
    detected_from = f" ({timeline.detected_source})" if timeline.detected_source else ""
    contained_from = f" ({timeline.contained_source})" if timeline.contained_source else ""
    target.print(f"  first malicious activity: {_at(timeline.first_activity)}")
    target.print(f"  detected: {_at(timeline.detected)}{detected_from}")
    if timeline.opened is not None:
        target.print(f"  case opened: {_at(timeline.opened)} (time to triage: {figures.time_to_triage})")
    if timeline.contained is not None:
        target.print(f"  contained: {_at(timeline.contained)}{contained_from}")
    target.print(f"  dwell time (first activity → detection): [bold]{figures.dwell_time}[/]")
    target.print(f"  time to contain (detection → containment): [bold]{figures.time_to_contain}[/]")
    for note in timeline.notes:
        target.print(f"  [yellow]note[/]: {escape(note)}")
    if timeline.missing:
        target.print(f"  not recorded yet: {', '.join(timeline.missing)}")


def print_plan(target: Console, rows: list[dict[str, Any]], max_lines: int | None = None) -> None:
    table = Table(title="containment plan (dry-run: nothing changed)", title_justify="left")
    table.add_column("id")
    table.add_column("action")
    table.add_column("target", overflow="fold")
    table.add_column("connector")
    table.add_column("changes / note", overflow="fold", ratio=3)
    for row in rows:
        action = row["action"]
        lines = list(row.get("changes") or [])
        if max_lines is not None and len(lines) > max_lines:
            # the rules themselves, not the boilerplate that creates their table
            shown = [x for x in lines if " rule " in x or "replace" in x or "set " in x][:max_lines] or lines[
                :max_lines
            ]
            lines = [*shown, f"… {len(lines) - len(shown)} more (sekimori case contain --json)"]
        changes = row.get("error") or "\n".join(lines) or row.get("note", "")
        table.add_row(
            str(row.get("id", "")),
            action["kind"],
            escape(action["target"]),
            row["connector"],
            escape(changes),
        )
    target.print(table)
