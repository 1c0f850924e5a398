"""The reports page: for each case the reader may see, the breach reports the report stage says are due
or still undecided, with their deadlines, status and missing fields; a preview and downloads as HTML, PDF
and JSON.

A report is named by its case id and its kind (never by a file path from the request): the document is
built again from the case on each request (:func:`sekimori.report.facts_from_case`, the affected count
when the case has a scope) and rendered by the report stage. The HTML is served with a ``sandbox``
Content Security Policy of its own, so the browser runs no script in it and gives it no access to this
site's cookies or pages.

No person-level data leaves here: the documents served are the per-kind reports (counts and categories
of people); a per-person mail-merge notice (a document with a recipient) is refused, and a document's
``meta`` keeps only the category it is for (:func:`without_people`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sekimori.report import (
    Document,
    IncidentFacts,
    RenderError,
    affected_from_store,
    build,
    facts_from_case,
    render_html,
    render_pdf,
    report_kinds,
)
from sekimori.respond import CaseError, stored_scope
from sekimori.web.data import case_visible
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import LANGUAGES, add_messages
from sekimori.web.pages import MAX_TEXT

if TYPE_CHECKING:
    from sekimori.respond import Case
    from sekimori.web.state import WebState

add_messages(
    {
        "reports": ("Reports", "報告"),
        "rep_kind": ("Report", "報告書"),
        "rep_due": ("Due?", "要否"),
        "rep_due_yes": ("due", "要"),
        "rep_due_open": ("undecided", "未判断"),
        "rep_deadline": ("Deadline", "期限"),
        "rep_missing": ("Missing fields", "未記入の項目"),
        "rep_preview": ("Preview", "プレビュー"),
        "rep_none": (
            "No report is due or undecided for the cases you can see.",
            "表示できるケースに必要・未判断の報告はありません。",
        ),
        "rep_facts_note": (
            "Built from each case (title, milestones, timeline, affected count when the case has a scope); "
            "what the case does not say is listed as missing, never invented.",
            "各ケース(件名、マイルストーン、タイムライン、スコープがある場合は影響人数)から作成します。"
            "ケースにない事項は未記入として示し、推測では埋めません。",
        ),
        # a deadline's status (the report stage's words for them)
        "rep_st_ok": ("on time", "期限内"),
        "rep_st_due_soon": ("due soon", "期限間近"),
        "rep_st_overdue": ("overdue", "期限超過"),
        "rep_st_done": ("submitted", "提出済"),
        "rep_st_unknown": ("clock start unknown", "起算点不明"),
        "rep_no_pdf": ("The PDF cannot be rendered on this server:", "このサーバーではPDFを作成できません:"),
    }
)

# The report's own page: no script, no plugin, no framing, an opaque origin (no cookies, no access to this
# site); its one inline <style> is allowed by its hash (report_csp), nothing else inline. It replaces the
# app's policy on this response (SecurityHeaders keeps a route's own policy), which would refuse the style.
REPORT_CSP = "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def report_csp(html: str) -> str:
    """:data:`REPORT_CSP` with the hashes of ``html``'s inline styles (the report's own, from its
    template; a log field cannot add one: the renderer escapes every value)."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
        for m in _STYLE.finditer(html)
    ]
    return REPORT_CSP + (f"; style-src {' '.join(hashes)}" if hashes else "")


FORMATS = ("preview", "html", "pdf", "json")
_MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "json": "application/json"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
# What a document's ``meta`` may carry out: the category a notice is for; never a person's name, address,
# email or id (the mail merge's fields).
_PUBLIC_META = frozenset({"category"})


class PersonalData(ValueError):
    """A document addressed to one person (a mail-merge notice): not served by the web face."""


def without_people(document: Document) -> Document:
    """``document`` as the web face may serve it: refused when it is addressed to a person, its ``meta``
    cut to :data:`_PUBLIC_META`."""
    if document.recipient is not None:
        raise PersonalData(f"{document.kind}: a notice addressed to one recipient is not served")
    return replace(document, meta={k: v for k, v in document.meta.items() if k in _PUBLIC_META})


def case_facts(web: WebState, case: Case) -> IncidentFacts:
    """The facts of ``case`` as the report stage completes them from the case (and its affected count,
    when the case has a scope and the app a model)."""
    scope = stored_scope(case)
    affected = None
    if scope is not None and web.model is not None:
        affected = affected_from_store(web.alerts.store, web.model, scope)
    return facts_from_case(case, None, affected, actions=web.cases.actions(case.id))


def case_document(web: WebState, case: Case, kind: str, lang: str, now: datetime | None = None) -> Document:
    return without_people(build(kind, case_facts(web, case), lang, now))


@dataclass(frozen=True)
class ReportRow:
    case_id: str
    case_title: str
    kind: str
    title: str
    mandatory: bool | None
    deadline: dict[str, Any] | None  # the first deadline (to_dict), if any
    missing: list[str]


def reports_of(web: WebState, case: Case, lang: str) -> list[ReportRow]:
    """The kinds due (``mandatory`` True) or undecided (None) for ``case``; those decided not due are
    left out."""
    facts = case_facts(web, case)
    rows = []
    for kind in report_kinds():
        document = without_people(build(kind, facts, lang))
        if document.mandatory is False:
            continue
        first = document.deadlines[0].to_dict(document.as_of) if document.deadlines else None
        rows.append(
            ReportRow(case.id, case.title, kind, document.title, document.mandatory, first, document.missing)
        )
    return rows


def _visible_case(ctx: Ctx, case_id: str) -> Case | None:
    assert ctx.account is not None
    try:
        case = ctx.web.cases.get(case_id[:MAX_TEXT])
    except CaseError:
        return None
    return case if case_visible(ctx.web.model, ctx.account, case) else None


@guarded("read")
def report_list(ctx: Ctx) -> Response:
    assert ctx.account is not None
    reader = ctx.account
    cases = [c for c in ctx.web.cases.list_cases() if case_visible(ctx.web.model, reader, c)]
    rows = [row for case in cases for row in reports_of(ctx.web, case, ctx.lang)]
    return ctx.render("reports.html.j2", rows=rows)


def _file_name(case_id: str, kind: str, lang: str, ext: str) -> str:
    return _SAFE_NAME.sub("_", f"{case_id}.{kind}.{lang}.{ext}")


@guarded("read")
def report_file(ctx: Ctx) -> Response:
    """One report of a case the reader may see, by case id, kind and format; anything else is 404."""
    params = ctx.request.path_params
    kind, fmt = params["kind"], params["fmt"]
    if fmt not in FORMATS or kind not in report_kinds():
        return ctx.error(404, "not_found")
    case = _visible_case(ctx, params["case_id"])
    if case is None:  # unknown and out of scope look the same
        return ctx.error(404, "not_found")
    asked = ctx.request.query_params.get("lang")
    lang = asked if asked in LANGUAGES else ctx.lang
    document = case_document(ctx.web, case, kind, lang)
    ext = "html" if fmt == "preview" else fmt
    headers = {"content-disposition": f'attachment; filename="{_file_name(case.id, kind, lang, ext)}"'}
    if fmt == "preview":
        headers = {"content-disposition": "inline"}
    if ext == "html":
        html = render_html(document)
        headers["content-security-policy"] = report_csp(html)
        body: bytes = html.encode()
    elif ext == "json":
        body = json.dumps(document.to_dict(), ensure_ascii=False, indent=2).encode()
    else:
        try:
            with tempfile.TemporaryDirectory(prefix="sekimori-report-") as folder:
                body = render_pdf(document, Path(folder) / "report.pdf").read_bytes()
        except RenderError as exc:
            return ctx.render("error.html.j2", status=503, message=ctx.t("rep_no_pdf"), detail=str(exc))
    return Response(body, media_type=_MEDIA[ext], headers=headers)


ROUTES = [
    Route("/reports", report_list, methods=["GET"]),
    Route("/reports/{case_id}/{kind}/{fmt}", report_file, methods=["GET"]),
]
