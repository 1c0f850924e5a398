"""The JSON API (``/api/v1``): the same reads as the pages, with a per-user bearer token, the same
authorization and the same organisation scoping."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sekimori.respond import Case, CaseError
from sekimori.web.data import case_alert_orgs, case_visible
from sekimori.web.guard import Ctx, guarded
from sekimori.web.pages import MAX_TEXT, alert_filter, page_number


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(_plain(data), status_code=status)


@guarded("read", api=True)
def alerts(ctx: Ctx) -> Response:
    assert ctx.account is not None
    params = dict(ctx.request.query_params)
    size = ctx.web.settings.page_size
    number = page_number(params.get("page"))
    rows, total = ctx.web.alerts.page(ctx.account, alert_filter(params), size, (number - 1) * size)
    return _json({"total": total, "page": number, "page_size": size, "alerts": rows})


@guarded("read", api=True)
def alert(ctx: Ctx) -> Response:
    assert ctx.account is not None
    found = ctx.web.alerts.alert(ctx.account, ctx.request.path_params["alert_id"][:MAX_TEXT])
    if found is None:
        return _json({"error": "not found"}, 404)
    row, events = found
    return _json({"alert": row, "events": events})


def _case(ctx: Ctx, case: Case, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": case.id,
        "title": case.title,
        "status": case.status,
        "created": case.created,
        "opened_by": case.opened_by,
        "alerts": [a.alert_id for a in case.alerts],
    }
    if full:
        data["alerts"] = [
            {
                "alert_id": a.alert_id,
                "title": a.title,
                "source": a.source,
                "level": a.level,
                "time": a.time,
                "host": a.host,
                "account": a.account,
                "organisations": case_alert_orgs(ctx.web.model, a),
            }
            for a in case.alerts
        ]
        data["timeline"] = [
            {"time": e.time, "kind": e.kind, "actor": e.actor, "text": e.text} for e in case.entries
        ]
        data["actions"] = [
            {
                "id": x.id,
                "kind": x.kind,
                "target": x.target,
                "status": x.status,
                "requested_by": x.requested_by,
                "approved_by": x.approved_by,
            }
            for x in ctx.web.cases.actions(case.id)
        ]
    return data


@guarded("read", api=True)
def cases(ctx: Ctx) -> Response:
    assert ctx.account is not None
    reader = ctx.account
    found = [c for c in ctx.web.cases.list_cases() if case_visible(ctx.web.model, reader, c)]
    return _json({"cases": [_case(ctx, c, full=False) for c in found]})


@guarded("read", api=True)
def case(ctx: Ctx) -> Response:
    assert ctx.account is not None
    try:
        found = ctx.web.cases.get(ctx.request.path_params["case_id"][:MAX_TEXT])
    except CaseError:
        return _json({"error": "not found"}, 404)
    if not case_visible(ctx.web.model, ctx.account, found):
        return _json({"error": "not found"}, 404)
    return _json({"case": _case(ctx, found, full=True)})


ROUTES = [
    Route("/api/v1/alerts", alerts, methods=["GET"]),
    Route("/api/v1/alerts/{alert_id}", alert, methods=["GET"]),
    Route("/api/v1/cases", cases, methods=["GET"]),
    Route("/api/v1/cases/{case_id}", case, methods=["GET"]),
]
