"""``sekimori report …``: the reports due for an incident, the affected people, the measures' progress page.

Thin: the work is in :mod:`sekimori.report`. The facts come from a YAML file (``--facts``; see
``sekimori/demo/data/seed-case.yaml``), completed from a case (``--case``) where the file is silent.
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
from sekimori.cli.respond import DEFAULT_DB, DbOption, case_scope, load_case, load_case_actions
from sekimori.report import IncidentFacts, Produced, applicable, load_facts, produce_reports, report_kinds

report_app = typer.Typer(
    help="Breach reports (PPC, MIC, GDPR, SEC, notices), affected people, progress.", no_args_is_help=True
)

FactsOption = Annotated[Path, typer.Option("--facts", "-f", help="Incident facts (YAML).")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


def _facts(path: Path) -> IncidentFacts:
    try:
        return load_facts(path)
    except ValueError as exc:
        raise fail(str(exc)) from exc


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return iso_moment(text)
    except ValueError as exc:
        raise fail(f"{text!r}: expected ISO 8601, e.g. 2023-10-30T09:00+09:00") from exc


@report_app.command("kinds")
def kinds_command(facts: Annotated[Path | None, typer.Option("--facts", "-f")] = None) -> None:
    """The report kinds; with --facts, the ones due for that incident."""
    due = set(applicable(_facts(facts))) if facts else set()
    for kind in report_kinds():
        mark = " (due)" if kind in due else ""
        console.print(f"{kind}{mark}")


@report_app.command("build")
def build_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the documents.")],
    facts: Annotated[Path | None, typer.Option("--facts", "-f", help="Incident facts (YAML).")] = None,
    case: Annotated[
        str | None, typer.Option(help="Fill the facts from this case (milestones, timeline).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    store: Annotated[
        Path | None, typer.Option("--store", "-s", help="With --case and --model: count the affected people.")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Group model YAML.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="Report kinds (default: those due).")
    ] = None,
    lang: Annotated[list[str] | None, typer.Option("--lang", help="ja and/or en (default both).")] = None,
    now: Annotated[
        str | None, typer.Option(help="Judge the deadlines as of (ISO 8601; default now).")
    ] = None,
    templates: Annotated[
        Path | None, typer.Option(help="Your own Jinja2 templates (searched first).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also render PDF.")] = True,
    json_out: JsonOption = False,
) -> None:
    """Write every report due (or --kind): HTML, PDF and JSON, in Japanese and English, with deadlines.
    The facts come from --facts and/or --case; what neither gives is listed as missing, never invented."""
    if facts is None and case is None:
        raise fail("give --facts FILE and/or --case CASE")
    incident = _facts(facts) if facts is not None else None
    if case is not None:
        incident = _from_case(case, db, incident, store, model)
    assert incident is not None
    known = report_kinds()
    unknown = [k for k in kind or [] if k not in known]
    if unknown:
        raise fail(f"unknown report kind(s) {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        produced = produce_reports(
            incident, output, kind or None, lang or ("ja", "en"), _when(now), templates, pdf
        )
    except Exception as exc:  # a missing font, an unwritable folder: one clear line
        raise fail(f"{type(exc).__name__}: {exc}") from exc
    if json_out:
        emit([p.to_dict() for p in produced])
    else:
        print_reports(console, produced, output)


def _from_case(
    case_id: str, db: str, base: IncidentFacts | None, store: Path | None, model: Path | None
) -> IncidentFacts:
    from sekimori.report import facts_from_case

    case = load_case(db, case_id)
    affected = None
    if store is not None and model is not None and case.scope:
        from sekimori.report import affected_from_store
        from sekimori.store import Store

        affected = affected_from_store(Store(store), load_model_or_fail(model), case_scope(case))
    return facts_from_case(case, base, affected, actions=load_case_actions(db, case_id))


@report_app.command("affected")
def affected_command(
    case_id: str,
    store: Annotated[Path, typer.Option("--store", "-s", envvar="SEKIMORI_STORE", help="Store directory.")],
    model: Annotated[Path, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")],
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
) -> None:
    """People affected in a case: confirmed (their data was read) and possibly exposed (reachable in the
    scope), per category, each person once."""
    from sekimori.report import affected_from_store
    from sekimori.store import Store

    group = load_model_or_fail(model)
    count = affected_from_store(Store(store), group, case_scope(load_case(db, case_id)))
    if json_out:
        emit(count.to_dict())
        return
    table = Table(title=f"people affected in {case_id}", title_justify="left")
    for col in ("category", "confirmed (read)", "possibly exposed"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for category in sorted(set(count.confirmed) | set(count.possible)):
        table.add_row(
            category, f"{count.confirmed.get(category, 0):,}", f"{count.possible.get(category, 0):,}"
        )
    console.print(table)


def print_reports(target: Console, produced: list[Produced], output: Path) -> None:
    table = Table(title=f"reports → {output}", title_justify="left")
    for col in ("report", "lang", "due (JST)", "status", "missing", "file"):
        table.add_column(col, overflow="fold")
    for p in produced:
        deadline: dict[str, Any] = p.deadlines[0] if p.deadlines else {}
        due = (deadline.get("due") or "")[:16].replace("T", " ")
        status = deadline.get("status") or ""
        colour = {"overdue": "red", "due_soon": "yellow", "ok": "green", "done": "green"}.get(status, "white")
        name = p.kind + (f" ({p.recipient})" if p.recipient else "")
        pdf = next((f for f in p.files if f.suffix == ".pdf"), p.files[0])
        table.add_row(
            escape(name),
            p.lang,
            due,
            f"[{colour}]{status}[/]" if status else "",
            str(len(p.missing)),
            escape(pdf.name),
        )
    target.print(table)
    for problem in dict.fromkeys(x for p in produced for x in p.problems):  # each once, in order
        target.print(f"[yellow]{escape(problem)}[/]")


# --- recurrence-prevention measures and the public progress page ---

measure_app = typer.Typer(
    help="Recurrence-prevention measures of a case (measures.yaml).", no_args_is_help=True
)
report_app.add_typer(measure_app, name="measure")
BookOption = Annotated[Path, typer.Option("--file", help="The case's measures.yaml (or its folder).")]


def _book(path: Path, case_id: str | None = None) -> Any:
    from sekimori.report import MeasureBook

    try:
        return MeasureBook.load(path, case_id)
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc


def _save(book: Any, path: Path, change: Any) -> None:
    from pydantic import ValidationError

    try:
        measure = change()
    except (KeyError, ValueError, ValidationError) as exc:
        raise fail(str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)) from exc
    book.save(path)
    console.print(f"{measure.id}: {measure.status}, {measure.percent} %, due {measure.due}")


@measure_app.command("add")
def measure_add(
    file: BookOption,
    case: Annotated[str, typer.Option(help="Case id (starts the file if new).")],
    id: Annotated[str, typer.Option("--id", help="Measure id, e.g. M1.")],
    what: Annotated[str, typer.Option(help="The measure, in Japanese.")],
    owner: Annotated[str, typer.Option(help="Accountable role or department (public).")],
    due: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")],
    what_en: Annotated[str | None, typer.Option(help="The measure in English.")] = None,
) -> None:
    """Add a measure."""
    from datetime import date

    book = _book(file, case)
    try:
        due_day = date.fromisoformat(due)
    except ValueError as exc:
        raise fail(f"--due {due!r}: expected YYYY-MM-DD") from exc
    _save(book, file, lambda: book.add(id, what, owner, due_day, what_en=what_en))


@measure_app.command("status")
def measure_status(
    file: BookOption,
    id: Annotated[str, typer.Option("--id")],
    status: Annotated[str, typer.Option(help="planned, in_progress, done or cancelled.")],
    percent: Annotated[int | None, typer.Option(help="% done.")] = None,
    note: Annotated[str | None, typer.Option(help="Why, for the history.")] = None,
) -> None:
    """Change a measure's status (and % done); the change is timestamped in its history."""
    book = _book(file)
    _save(book, file, lambda: book.update_status(id, status, percent=percent, note=note))


@measure_app.command("evidence")
def measure_evidence(file: BookOption, id: Annotated[str, typer.Option("--id")], text: str) -> None:
    """Record what shows a measure is done (a document, a configuration change…)."""
    book = _book(file)
    _save(book, file, lambda: book.add_evidence(id, text))


@report_app.command("progress")
def progress_command(
    file: BookOption,
    title: Annotated[str, typer.Option(help="The case's public title.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the pages.")],
    title_en: Annotated[str | None, typer.Option(help="The English title.")] = None,
) -> None:
    """Write the static public progress page (Japanese and English) from the case's measures."""
    from sekimori.report import build_progress_page

    page = build_progress_page(_book(file), title, output, title_en=title_en)
    console.print(f"progress page: {page}")
