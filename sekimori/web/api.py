"""The JSON API's reads (``/api/v1``): the same reads as the pages, with a per-user bearer token, the same
authorization and the same organisation scoping. Its writes are :mod:`sekimori.web.api_write`'s; the JSON of
both is :mod:`sekimori.web.api_json`'s."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from sekimori.web.api_json import answer, case_json, not_found, visible_case
from sekimori.web.data import case_visible
from sekimori.web.guard import Ctx, guarded
from sekimori.web.pages import MAX_TEXT, alert_filter, page_number


@guarded("read", api=True)
def alerts(ctx: Ctx) -> Response:
    assert ctx.account is not None
    params = dict(ctx.request.query_params)
    size = ctx.web.settings.page_size
    number = page_number(params.get("page"))
    rows, total = ctx.web.alerts.page(ctx.account, alert_filter(params), size, (number - 1) * size)
    return answer({"total": total, "page": number, "page_size": size, "alerts": rows})


@guarded("read", api=True)
def alert(ctx: Ctx) -> Response:
    assert ctx.account is not None
    found = ctx.web.alerts.alert(ctx.account, ctx.request.path_params["alert_id"][:MAX_TEXT])
    if found is None:
        return not_found()
    row, events = found
    return answer({"alert": row, "events": events})


@guarded("read", api=True)
def cases(ctx: Ctx) -> Response:
    assert ctx.account is not None
    reader = ctx.account
    found = [c for c in ctx.web.cases.list_cases() if case_visible(ctx.web.model, reader, c)]
    return answer({"cases": [case_json(ctx, c, full=False) for c in found]})


@guarded("read", api=True)
def case(ctx: Ctx) -> Response:
    found = visible_case(ctx, ctx.request.path_params["case_id"])
    if found is None:
        return not_found()
    return answer({"case": case_json(ctx, found, full=True)})


ROUTES = [
    Route("/api/v1/alerts", alerts, methods=["GET"]),
    Route("/api/v1/alerts/{alert_id}", alert, methods=["GET"]),
    Route("/api/v1/cases", cases, methods=["GET"]),
    Route("/api/v1/cases/{case_id}", case, methods=["GET"]),
]
