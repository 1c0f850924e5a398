"""``sekimori govern findings | least-privilege | supervise … | posture``: what the register, the model, the
graph and the store show; the removals that protect the most people; the supervision records of each
party; the group posture and its report. Added to ``sekimori govern`` by :mod:`sekimori.cli.govern`.

Thin: the work is in :mod:`sekimori.govern`. The model is always judged with the register merged in
(:func:`sekimori.govern.merge_register`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sekimori.cli.common import console, emit, fail, load_model_or_fail, open_store, out
from sekimori.cli.respond import DEFAULT_DB, ActorOption, DbOption, JsonOption, acting_principal
from sekimori.govern import (
    QUESTIONNAIRE,
    Register,
    RegisterError,
    SupervisionError,
    merge_register,
)

if TYPE_CHECKING:
    from sekimori.govern import Finding
    from sekimori.model import GroupModel
    from sekimori.store import Store

supervise_app = typer.Typer(
    help="Supervision records: selection assessments and audits.", no_args_is_help=True
)

ModelOption = Annotated[
    Path, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")
]
StoreOpt = Annotated[
    Path | None, typer.Option("--store", "-s", help="Store: usage, MFA and boundary alerts.")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="The day to judge (YYYY-MM-DD; default today).")
]
LangOption = Annotated[str, typer.Option("--lang", help="ja or en.")]
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def open_register(db: str) -> Register:
    """The register in ``db``; a failure names the database without its credentials."""
    try:
        return Register(db)
    except Exception as exc:  # say which database, never a password in its URL
        raise fail(f"cannot open the register database {db.split('@')[-1]}: {type(exc).__name__}") from exc


def _day(text: str | None, option: str = "--as-of") -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{option} {text!r}: expected a day, YYYY-MM-DD") from exc


def _lang(lang: str) -> str:
    if lang not in ("ja", "en"):
        raise fail(f"--lang {lang!r}: expected ja or en")
    return lang


def _merged(model: Path, register: Register) -> GroupModel:
    try:
        return merge_register(load_model_or_fail(model), register).model
    except RegisterError as exc:
        for problem in exc.problems:
            console.print(f"[red]{escape(str(problem))}[/]", highlight=False)
        raise fail("the register does not fit the group model") from exc


def _store(store: Path | None) -> Store | None:
    return open_store(store) if store is not None else None


def _findings(register: Register, model: GroupModel, store: Store | None, as_of: date) -> list[Finding]:
    from sekimori.govern import findings

    return findings(register, model, store, as_of=as_of)


# -- findings --------------------------------------------------------------------------------------------


def findings_command(
    model: ModelOption,
    store: StoreOpt = None,
    db: DbOption = DEFAULT_DB,
    as_of: AsOfOption = None,
    lang: LangOption = "en",
    json_out: JsonOption = False,
) -> None:
    """Findings: parties reaching personal data without an entrustment contract, shared authentication,
    flows into the parent, grants expired, unused, outliving their contract or used without MFA, access
    no grant allows, re-entrustment not approved or not known, reviews and audits overdue."""
    day, lang = _day(as_of), _lang(lang)
    with open_register(db) as register:
        found = _findings(register, _merged(model, register), _store(store), day)
    if json_out:
        emit([f.to_dict() for f in found])
        return
    table = Table(title=f"findings on {day}")
    for column in ("severity", "kind", "organisation", "people", "finding"):
        table.add_column(column, justify="right" if column == "people" else "left")
    for f in found:
        style = SEVERITY_STYLE.get(str(f.severity), "")
        table.add_row(
            f"[{style}]{f.severity}[/]",
            escape(str(f.kind)),
            escape(f.organisation),
            f"{f.people:,}",
            escape(f.text[lang]),
        )
    out.print(table)


# -- least privilege --------------------------------------------------------------------------------------


def least_privilege_command(
    model: ModelOption,
    store: StoreOpt = None,
    db: DbOption = DEFAULT_DB,
    budget: Annotated[int, typer.Option(help="How many removals the best set holds.", min=0)] = 3,
    propose: Annotated[
        bool, typer.Option("--propose", help="Propose the best set (or --choose) as containment actions.")
    ] = False,
    choose: Annotated[
        list[str] | None, typer.Option(help="A removal to propose: 'remove grant G' or 'block flow F'.")
    ] = None,
    connector: Annotated[str, typer.Option(help="The connector of the proposed actions.")] = "webhook",
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """The grants and flows whose removal protects the most people (the graph's what-if), ranked, with the
    evidence that they are unused; --propose turns the chosen set into containment actions."""
    from sekimori.govern import LeastPrivilegeError, propose_removals, rank_removals
    from sekimori.graph import build_graph, graph_from_store

    who = acting_principal(actor) if propose else None
    with open_register(db) as register:
        group = _merged(model, register)
        opened = _store(store)
        graph = graph_from_store(opened, group) if opened is not None else build_graph(group)
        result = rank_removals(graph, register, opened, budget=budget)
        proposals = []
        if who is not None:
            chosen = list(choose) if choose else result.best
            try:
                proposals = propose_removals(register, graph, chosen, who, connector=connector)
            except LeastPrivilegeError as exc:
                raise fail(str(exc)) from exc
    if json_out:
        emit({**result.to_dict(), "proposals": [p.to_dict() for p in proposals]})
        return
    table = Table(title="removals ranked by the people they protect")
    for column in ("removal", "organisation", "people protected", "uses", "last used", "unused"):
        table.add_column(column, justify="right" if column in ("people protected", "uses") else "left")
    for r in result.ranked:
        use = r.usage or {}
        table.add_row(
            escape(r.change),
            escape(r.organisation),
            f"{r.people_protected:,}",
            str(use.get("uses", "–")) if r.usage else "[dim]–[/]",
            escape(str(use.get("last_used") or "–")),
            {True: "yes", False: "no", None: "[dim]?[/]"}[r.unused],
        )
    out.print(table)
    how = "exact" if result.exact else "greedy"
    best = ", ".join(result.best) or "none"
    console.print(
        f"best {len(result.best)} ({how}): {escape(best)} — {result.best_protected:,} people protected"
    )
    for p in proposals:
        console.print(f"{escape(p.change)}: action {p.action_id} proposed in {p.case_id}", highlight=False)


# -- supervision -----------------------------------------------------------------------------------------


def _supervision_error(exc: Exception) -> typer.Exit:
    return fail(str(exc))


@supervise_app.command("questionnaire")
def questionnaire_command(lang: LangOption = "en", json_out: JsonOption = False) -> None:
    """The selection assessment's items (the PPC guideline's safety-management measures)."""
    lang = _lang(lang)
    if json_out:
        emit([{**i.__dict__, "kind": str(i.kind)} for i in QUESTIONNAIRE])
        return
    table = Table(title="selection assessment")
    for column in ("item", "kind", "guideline", "question"):
        table.add_column(column)
    for i in QUESTIONNAIRE:
        table.add_row(i.id, str(i.kind), escape(i.section), escape(i.ja if lang == "ja" else i.en))
    out.print(table)


@supervise_app.command("assess")
def assess_command(
    party: str, assessment_id: str, db: DbOption = DEFAULT_DB, actor: ActorOption = None
) -> None:
    """Open a selection assessment of PARTY."""
    from sekimori.govern import start_assessment

    who = acting_principal(actor)
    try:
        with open_register(db) as register:
            start_assessment(register, assessment_id, party, who)
    except SupervisionError as exc:
        raise _supervision_error(exc) from exc
    console.print(f"assessment {escape(assessment_id)} of {escape(party)} opened", highlight=False)


@supervise_app.command("answer")
def answer_command(
    assessment_id: str,
    item: str,
    value: Annotated[str, typer.Argument(help="yes, partly, no or not_applicable.")],
    note: Annotated[str | None, typer.Option(help="A note.")] = None,
    evidence: Annotated[
        list[Path] | None, typer.Option(help="An evidence file (hashed, not copied).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Answer one item of an assessment, with evidence files recorded by path and SHA-256."""
    from sekimori.govern import answer

    who = acting_principal(actor)
    try:
        with open_register(db) as register:
            files = answer(register, assessment_id, item, value, who, note, evidence or [])
    except SupervisionError as exc:
        raise _supervision_error(exc) from exc
    if json_out:
        emit([f.__dict__ for f in files])
        return
    for f in files:
        console.print(f"{escape(f.path)}  sha256 {f.sha256}", highlight=False)


@supervise_app.command("conclude")
def conclude_command(
    assessment_id: str,
    conclusion: Annotated[str, typer.Argument(help="accepted, accepted_with_conditions or rejected.")],
    day: AsOfOption = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
) -> None:
    """Conclude an assessment whose items are all answered."""
    from sekimori.govern import conclude

    who = acting_principal(actor)
    try:
        with open_register(db) as register:
            conclude(register, assessment_id, conclusion, _day(day), who)
    except SupervisionError as exc:
        raise _supervision_error(exc) from exc


@supervise_app.command("audit")
def audit_command(
    party: str,
    audit_id: str,
    day: AsOfOption = None,
    method: Annotated[str, typer.Option(help="onsite, remote or document.")] = "document",
    summary: Annotated[str | None, typer.Option(help="What was audited.")] = None,
    finding: Annotated[
        list[str] | None, typer.Option(help="TEXT|SEVERITY|DUE (YYYY-MM-DD), repeatable.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
) -> None:
    """Record an audit of PARTY by you, with its findings and their remediation due dates."""
    from sekimori.govern import record_audit

    who = acting_principal(actor)
    parsed = []
    for item in finding or []:
        parts = item.split("|")
        if len(parts) != 3:
            raise fail(f"--finding {item!r}: expected TEXT|SEVERITY|DUE")
        parsed.append((parts[0].strip(), parts[1].strip(), _day(parts[2].strip(), "--finding")))
    try:
        with open_register(db) as register:
            record_audit(register, audit_id, party, _day(day), method, who, summary, parsed)
    except SupervisionError as exc:
        raise _supervision_error(exc) from exc


@supervise_app.command("remediate")
def remediate_command(
    finding_id: str,
    how: Annotated[str, typer.Option(help="What was done.")],
    day: AsOfOption = None,
    db: DbOption = DEFAULT_DB,
    actor: ActorOption = None,
) -> None:
    """Record that an audit finding (AUDIT/N) was remediated."""
    from sekimori.govern import remediate

    who = acting_principal(actor)
    try:
        with open_register(db) as register:
            remediate(register, finding_id, _day(day), how, who)
    except SupervisionError as exc:
        raise _supervision_error(exc) from exc


@supervise_app.command("show")
def show_command(
    party: Annotated[str | None, typer.Argument(help="One party (default: all).")] = None,
    as_of: AsOfOption = None,
    check: Annotated[bool, typer.Option("--check", help="Re-hash the evidence files.")] = False,
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
) -> None:
    """Per party: selection, assessments answered, last audit, audit due, remediations overdue."""
    from sekimori.govern import check_evidence, supervision_records

    with open_register(db) as register:
        records = supervision_records(register, _day(as_of), party)
        evidence = check_evidence(register) if check else []
    if json_out:
        emit({"parties": [r.to_dict() for r in records], "evidence": evidence})
        return
    table = Table(title="supervision")
    for column in ("party", "selected", "assessments", "last audit", "audit due", "overdue remediations"):
        table.add_column(column)
    for r in records:
        table.add_row(
            escape(r.party),
            "yes" if r.selected else "[red]no[/]",
            ", ".join(f"{escape(a.id)} ({len(a.answers)}/{len(QUESTIONNAIRE)})" for a in r.assessments)
            or "–",
            str(r.last_audit or "–"),
            "[red]yes[/]" if r.audit_due else "no",
            escape(", ".join(f.id for f in r.overdue_remediations)) or "–",
        )
    out.print(table)
    for ev in evidence:
        style = "green" if ev["status"] == "ok" else "red"
        console.print(f"[{style}]{ev['status']}[/] {escape(ev['path'])}", highlight=False)


# -- posture ---------------------------------------------------------------------------------------------


def posture_command(
    model: ModelOption,
    store: StoreOpt = None,
    db: DbOption = DEFAULT_DB,
    as_of: AsOfOption = None,
    lang: LangOption = "ja",
    html: Annotated[Path | None, typer.Option("--html", help="Write the report as HTML.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the report as PDF.")] = None,
    save: Annotated[bool, typer.Option("--save", help="Keep a snapshot (its history).")] = False,
    progress: Annotated[
        Path | None, typer.Option("--progress", help="Write the public progress page to this folder.")
    ] = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """The group posture per organisation and for the group: findings by kind and severity, a score with
    its parts shown; its history; HTML/PDF report; the public progress page."""
    from sekimori.govern import (
        group_posture,
        posture_history,
        posture_html,
        posture_measures,
        posture_pdf,
        save_snapshot,
    )
    from sekimori.report import RenderError, build_progress_page

    day, lang = _day(as_of), _lang(lang)
    who = acting_principal(actor) if save else None
    with open_register(db) as register:
        group = _merged(model, register)
        found = _findings(register, group, _store(store), day)
        earlier = posture_history(register)
        current = group_posture(
            found, day, [o.id for o in group.organisations if o.kind != "parent"], earlier
        )
        if who is not None:
            save_snapshot(register, current, who)
    if html is not None:
        html.write_text(posture_html(current, lang, group.group), encoding="utf-8")
    if pdf is not None:
        try:
            posture_pdf(current, pdf, lang, group.group)
        except RenderError as exc:
            raise fail(str(exc)) from exc
    if progress is not None:
        first = earlier[0]["by_kind"] if earlier else current.group.by_kind
        build_progress_page(
            posture_measures(first, current.group.by_kind, day),
            "グループのセキュリティ態勢",
            progress,
            title_en="Group security posture",
        )
    if json_out:
        emit(current.to_dict())
        return
    _print_posture(current.to_dict())


def _print_posture(body: dict[str, Any]) -> None:
    table = Table(title=f"group posture on {body['as_of']}  ({body['formula']})")
    for column in ("organisation", "score", "findings", "critical", "high", "medium", "low", "parts"):
        table.add_column(column, justify="left" if column in ("organisation", "parts") else "right")
    for org in [body["group"], *body["organisations"]]:
        sev = org["by_severity"]
        parts = ", ".join(f"{p['kind']} −{p['points']}" for p in org["parts"])
        table.add_row(
            escape(org["organisation"]),
            str(org["score"]),
            str(org["findings"]),
            *(str(sev.get(s, 0)) for s in ("critical", "high", "medium", "low")),
            escape(parts) or "–",
        )
    out.print(table)
    for h in body["history"]:
        console.print(f"{h['as_of']}  {h['score']}", highlight=False)
