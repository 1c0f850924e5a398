"""The JSON the API answers with, shared by its reads (:mod:`sekimori.web.api`) and its writes
(:mod:`sekimori.web.api_write`): a case, an action, a dismissal, and values made plain for JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from sekimori.respond import CaseError, propose_containment, stored_scope
from sekimori.web.case_actions import visible_targets
from sekimori.web.data import case_alert_orgs, case_visible
from sekimori.web.guard import Ctx
from sekimori.web.triage import MAX_ID

if TYPE_CHECKING:
    from sekimori.respond import Case, ContainmentAction, Dismissal


def plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(plain(data), status_code=status, headers=headers)


def not_found() -> Response:
    return answer({"error": "not found"}, 404)


def visible_case(ctx: Ctx, case_id: str) -> Case | None:
    """The case ``case_id`` if it exists and the token's user may see it (``None`` for both others)."""
    assert ctx.account is not None
    try:
        case = ctx.web.cases.get(case_id[:MAX_ID])
    except CaseError:
        return None
    return case if case_visible(ctx.web.model, ctx.account, case) else None


def action_json(action: ContainmentAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "kind": action.kind,
        "target": action.target,
        "status": action.status,
        "connector": action.connector,
        "changes": list(action.changes or ()),
        "requested_by": action.requested_by,
        "approved_by": action.approved_by,
    }


def case_json(ctx: Ctx, case: Case, full: bool) -> dict[str, Any]:
    """A case as the API gives it; ``full``: with its alerts, entries, the actions and plan steps on
    targets the user may see (as the case page shows them), each step numbered as ``POST …/actions``
    takes it."""
    data: dict[str, Any] = {
        "id": case.id,
        "title": case.title,
        "status": case.status,
        "created": case.created,
        "opened_by": case.opened_by,
        "alerts": [a.alert_id for a in case.alerts],
    }
    if not full:
        return data
    scope = stored_scope(case)
    targets = visible_targets(ctx, scope)
    steps = propose_containment(scope, ctx.web.model) if scope is not None else []
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
        action_json(x) for x in ctx.web.cases.actions(case.id) if targets is None or x.target in targets
    ]
    data["plan"] = [
        {
            "step": i,
            "kind": str(p.action.kind),
            "target": p.action.target,
            "reason": p.action.reason,
            "connector": p.connector,
        }
        for i, p in enumerate(steps)
        if targets is None or p.action.target in targets
    ]
    return data


def dismissal_json(dismissal: Dismissal) -> dict[str, Any]:
    return {
        "alert_id": dismissal.alert_id,
        "reason": dismissal.reason,
        "dismissed_by": dismissal.dismissed_by,
        "dismissed_at": dismissal.dismissed_at,
        "restored_by": dismissal.restored_by,
        "restored_at": dismissal.restored_at,
    }
