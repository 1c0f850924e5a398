"""The pages: sign-in and out, password change, overview, alert queue and alert, cases and case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sekimori.respond import CaseError, person_key
from sekimori.web.accounts import AccountError
from sekimori.web.case_actions import render_case
from sekimori.web.data import LEVELS, SOURCES, AlertFilter, case_visible
from sekimori.web.guard import Ctx, guarded, safe_next, session_cookie_name
from sekimori.web.triage import alert_extras, queue_page

MAX_TEXT = 200


def _set_session(ctx: Ctx, response: Response, sid: str) -> Response:
    response.set_cookie(
        session_cookie_name(ctx.web.settings.secure_cookies),
        sid,
        httponly=True,
        samesite="lax",
        secure=ctx.web.settings.secure_cookies,
        path="/",
    )
    return response


@guarded("public")
def favicon(ctx: Ctx) -> Response:
    return Response(status_code=204)  # no icon; browsers ask for one anyway


@guarded("public")
def signin_form(ctx: Ctx) -> Response:
    nxt = safe_next(ctx.request.query_params.get("next"))
    if ctx.account is not None:
        return RedirectResponse(nxt, status_code=303)
    if ctx.csrf:
        return ctx.render("signin.html.j2", next=nxt, message="")
    sid, ctx.csrf = ctx.web.accounts.new_session(None)  # holds the form's CSRF token before sign-in
    return _set_session(ctx, ctx.render("signin.html.j2", next=nxt, message=""), sid)


@guarded("public")
def signin(ctx: Ctx) -> Response:
    login, password = ctx.form.get("login", "")[:MAX_TEXT], ctx.form.get("password", "")[:1024]
    nxt = safe_next(ctx.form.get("next"))
    key = person_key(login) if login.strip() else ""
    limiter = ctx.web.limiter
    if limiter.limited(key, ctx.client):
        return ctx.render("signin.html.j2", status=429, next=nxt, message=ctx.t("signin_limited"))
    account = ctx.web.accounts.authenticate(login, password) if key else None
    if account is None:
        limiter.failed(key, ctx.client)
        # One message whatever was wrong: no telling whether the login exists.
        return ctx.render("signin.html.j2", status=401, next=nxt, message=ctx.t("signin_failed"))
    limiter.succeeded(key)
    old = ctx.request.cookies.get(session_cookie_name(ctx.web.settings.secure_cookies), "")
    if old:
        ctx.web.accounts.end_session(old)
    sid, _ = ctx.web.accounts.new_session(account.id)  # a new id at sign-in: no fixation
    ctx.web.accounts.audit_event(account.principal, "web.signin", {"client": ctx.client})
    target = "/password" if account.must_change else nxt
    return _set_session(ctx, RedirectResponse(target, status_code=303), sid)


@guarded("self")
def signout(ctx: Ctx) -> Response:
    assert ctx.account is not None
    name = session_cookie_name(ctx.web.settings.secure_cookies)
    ctx.web.accounts.end_session(ctx.request.cookies.get(name, ""))
    ctx.web.accounts.audit_event(ctx.account.principal, "web.signout", {})
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(name, path="/", secure=ctx.web.settings.secure_cookies, httponly=True)
    return response


@guarded("self")
def password_form(ctx: Ctx) -> Response:
    return ctx.render("password.html.j2", message="")


@guarded("self")
def password(ctx: Ctx) -> Response:
    assert ctx.account is not None
    try:
        ctx.web.accounts.set_password(
            ctx.account.principal, ctx.account, ctx.form.get("current", ""), ctx.form.get("new", "")
        )
    except AccountError as exc:
        return ctx.render("password.html.j2", status=400, message=str(exc))
    return RedirectResponse("/", status_code=303)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value[:40])
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def alert_filter(params: dict[str, str]) -> AlertFilter:
    """The queue's filters from the query string: anything not recognised is dropped, not passed on."""
    source, level = params.get("source"), params.get("level")
    return AlertFilter(
        source=source if source in SOURCES else None,
        level=level if level in LEVELS else None,
        org=(params.get("org") or "")[:MAX_TEXT] or None,
        since=parse_time(params.get("since")),
        until=parse_time(params.get("until")),
        text=(params.get("q") or "").strip()[:MAX_TEXT] or None,
        attack=(params.get("attack") or "").strip().lower().removeprefix("attack.")[:MAX_TEXT] or None,
    )


def paging(keep: dict[str, str], number: int, size: int, total: int) -> dict[str, Any]:
    """Page ``number`` of ``total`` rows, ``size`` a page: the page values a paged template shows, its
    links keeping the filters ``keep``."""
    return {
        "page": number,
        "pages": max(1, -(-total // size)),
        "prev_link": "?" + urlencode({**keep, "page": number - 1}) if number > 1 else "",
        "next_link": "?" + urlencode({**keep, "page": number + 1}) if number * size < total else "",
    }


def page_number(value: str | None) -> int:
    return max(1, min(int(value), 1_000_000)) if value and value.isdigit() else 1


@guarded("read")
def alert_queue(ctx: Ctx) -> Response:
    assert ctx.account is not None
    params = dict(ctx.request.query_params)
    flt = alert_filter(params)
    number, size = page_number(params.get("page")), ctx.web.settings.page_size
    rows, total, triage = queue_page(ctx, flt, params.get("dismissed"), size, (number - 1) * size)
    kept = ("source", "level", "org", "since", "until", "q", "attack", "dismissed")
    keep = {k: v[:MAX_TEXT] for k, v in params.items() if k in kept and v}
    orgs = ctx.web.alerts.known_orgs()
    if not ctx.account.sees_all:
        orgs = [o for o in orgs if o in ctx.account.orgs]
    names = {o.id: o.name for o in ctx.web.model.organisations} if ctx.web.model is not None else {}
    return ctx.render(
        "alerts.html.j2",
        rows=rows,
        total=total,
        **paging(keep, number, size, total),
        params=keep,
        sources=SOURCES,
        levels=LEVELS,
        orgs=orgs,
        org_names=names,
        attack_terms=ctx.web.alerts.attack_terms(),
        **triage,
    )


@guarded("read")
def alert_detail(ctx: Ctx) -> Response:
    assert ctx.account is not None
    found = ctx.web.alerts.alert(ctx.account, ctx.request.path_params["alert_id"][:MAX_TEXT])
    if found is None:  # unknown and out of scope look the same
        return ctx.error(404, "not_found")
    alert, events = found
    cases = ctx.web.cases.cases_of_alerts([alert["alert_id"]])
    return ctx.render(
        "alert.html.j2",
        alert=alert,
        events=events,
        case_id=cases.get(alert["alert_id"]),
        **alert_extras(ctx, alert),
    )


@guarded("read")
def case_list(ctx: Ctx) -> Response:
    assert ctx.account is not None
    reader = ctx.account
    cases = [c for c in ctx.web.cases.list_cases() if case_visible(ctx.web.model, reader, c)]
    return ctx.render("cases.html.j2", cases=cases)


@guarded("read")
def case_page(ctx: Ctx) -> Response:
    assert ctx.account is not None
    try:
        case = ctx.web.cases.get(ctx.request.path_params["case_id"][:MAX_TEXT])
    except CaseError:
        return ctx.error(404, "not_found")
    if not case_visible(ctx.web.model, ctx.account, case):
        return ctx.error(404, "not_found")
    return render_case(ctx, case)


ROUTES = [
    Route("/favicon.ico", favicon, methods=["GET"]),
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/password", password_form, methods=["GET"]),
    Route("/password", password, methods=["POST"]),
    Route("/alerts", alert_queue, methods=["GET"]),
    Route("/alerts/{alert_id}", alert_detail, methods=["GET"]),
    Route("/cases", case_list, methods=["GET"]),
    Route("/cases/{case_id}", case_page, methods=["GET"]),
]
