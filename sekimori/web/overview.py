"""The overview (``/``): boundary alerts first, open cases, the reports due with their deadlines, the
group posture and the store's ingest and detection status, each cut to what the reader may see."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from sekimori.respond import CaseStatus
from sekimori.web.data import AlertFilter, case_visible
from sekimori.web.guard import Ctx, guarded
from sekimori.web.reports import reports_of
from sekimori.web.status import store_status


@guarded("read")
def overview(ctx: Ctx) -> Response:
    assert ctx.account is not None
    reader = ctx.account
    counts = ctx.web.alerts.counts(reader)
    boundary, _ = ctx.web.alerts.page(reader, AlertFilter(source="boundary"), 10, 0)
    open_cases = [
        c
        for c in ctx.web.cases.list_cases()
        if c.status == CaseStatus.open and case_visible(ctx.web.model, reader, c)
    ]
    return ctx.render(
        "overview.html.j2",
        counts=counts,
        boundary=boundary,
        cases=open_cases,
        due=reports_due(ctx, open_cases),
        posture=posture_summary(ctx),
        store_state=store_status(ctx.web.alerts.store),
    )


def reports_due(ctx: Ctx, cases: list[Any]) -> list[Any]:
    """The reports due, or not yet decided (facts missing), for the open cases shown, the nearest deadline
    first."""
    rows = [r for case in cases for r in reports_of(ctx.web, case, ctx.lang)]
    return sorted(rows, key=lambda r: ((r.deadline or {}).get("due") or "9999", r.case_id, r.kind))


def posture_summary(ctx: Ctx) -> dict[str, Any] | None:
    """The group's posture today from the findings already worked out (None until the warm-up at start or
    a contractors page has worked them out: the overview does not wait), cut to the reader's
    organisations; the lowest scores first."""
    from sekimori.govern import group_posture
    from sekimori.web.contractors_data import kept_findings, today

    assert ctx.account is not None
    reader, model = ctx.account, ctx.web.model
    day = today()
    found = kept_findings(ctx.request.app.state, ctx.web, day)
    if found is None or model is None:
        return None
    visible = [f for f in found if reader.sees_all or f.organisation in reader.orgs]
    orgs = {o.id for o in model.organisations if o.kind != "parent"} | {f.organisation for f in visible}
    posture = group_posture(visible, day, sorted(o for o in orgs if reader.sees_all or o in reader.orgs))
    lowest = sorted(posture.organisations, key=lambda o: (o.score, o.organisation))[:5]
    return {"group": posture.group if reader.sees_all else None, "lowest": lowest, "day": day}


ROUTES = [Route("/", overview, methods=["GET"])]
