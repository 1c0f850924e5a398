"""The JSON API's writes (``POST /api/v1/…``): the triage, approval and review decisions the pages offer,
each a thin caller of the stage function the page calls, with the page modules' own scope checks
(:func:`sekimori.web.triage.visible_alert`, :func:`sekimori.web.data.case_visible`,
:func:`sekimori.web.case_actions.visible_targets`, :func:`sekimori.web.contractors_review.visible_status`):
an id out of the token user's organisations is answered 404, as an unknown one. What is recorded is
attributed to the token's user (their principal, as if signed in on the pages).

A body is one JSON object of at most :data:`MAX_BODY` bytes (the gate has checked it is sent as
``application/json``); a field that is missing, of the wrong type, too long or not one of the operation's
is refused with 400 and its name. No CSRF token: the credential is the ``Authorization`` header, which a
page of another site cannot send.

The JSON a case and an action are answered with is :mod:`sekimori.web.api_json`'s, shared with the reads.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio.from_thread
from starlette.responses import Response
from starlette.routing import Route

from sekimori.govern import ReviewError, decide, review_status
from sekimori.respond import (
    MAX_DISMISSAL_REASON,
    CaseError,
    SamePersonError,
    propose_containment,
    stored_scope,
)
from sekimori.web.api_json import action_json, answer, case_json, dismissal_json, not_found, visible_case
from sekimori.web.case_actions import visible_targets
from sekimori.web.contractors_data import MAX_TEXT as MAX_REVIEW_ID
from sekimori.web.contractors_data import reading
from sekimori.web.contractors_review import DECISIONS, MAX_REASON, item_row, owns, visible_status
from sekimori.web.guard import Ctx, Handler, guarded
from sekimori.web.triage import MAX_ID, MAX_SELECTED, dismissals_of, visible_alert

if TYPE_CHECKING:
    from starlette.requests import Request

    from sekimori.detect import Alert

MAX_BODY = 64 * 1024  # bytes: the largest body (a decision's reason and change) is a few kilobytes
MAX_CHANGE_FIELDS = 20  # fields of a grant a "change" decision names (a grant record has fewer)


# -- the body --------------------------------------------------------------------------------------------


class BadRequest(Exception):
    """A body the operation cannot take: ``problem``, and the ``field`` it is about (if one)."""

    def __init__(self, problem: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(problem)
        self.problem, self.field, self.status = problem, field, status

    def answer(self) -> Response:
        said = {"error": self.problem} | ({"field": self.field} if self.field else {})
        return answer(said, self.status)


async def _read_body(request: Request) -> bytes | None:
    """The body, or ``None`` when it is longer than :data:`MAX_BODY` (not read further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def body_of(ctx: Ctx, fields: tuple[str, ...]) -> dict[str, Any]:
    """The request's JSON object, holding none but ``fields`` (BadRequest otherwise)."""
    # Handlers run in a worker thread; the body is read on the event loop.
    raw = anyio.from_thread.run(_read_body, ctx.request)
    if raw is None:
        raise BadRequest(f"the body is longer than {MAX_BODY} bytes", status=413)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # a bad encoding is a ValueError; nesting past the stack too
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        taken = ", ".join(fields) or "no field"
        raise BadRequest(f"not a field of this operation (it takes: {taken})", unknown[0])
    return body


def text_field(body: dict[str, Any], name: str, limit: int) -> str:
    """A required text field, not blank, at most ``limit`` characters."""
    value = body.get(name)
    if value is None:
        raise BadRequest("required", name)
    if not isinstance(value, str):
        raise BadRequest("must be text", name)
    if not value.strip():
        raise BadRequest("must not be empty", name)
    if len(value) > limit:
        raise BadRequest(f"longer than {limit} characters", name)
    return value


def id_list(body: dict[str, Any], name: str) -> list[str]:
    """A required list of ids (each text of at most :data:`MAX_ID` characters), duplicates dropped."""
    value = body.get(name)
    if value is None:
        raise BadRequest("required", name)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise BadRequest("must be a non-empty list of ids", name)
    if len(value) > MAX_SELECTED:
        raise BadRequest(f"more than {MAX_SELECTED} ids", name)
    if any(len(v) > MAX_ID for v in value):
        raise BadRequest(f"an id longer than {MAX_ID} characters", name)
    return list(dict.fromkeys(value))


def refusing(handler: Handler) -> Handler:
    """``handler`` with a BadRequest it raises answered as JSON naming the field."""

    @functools.wraps(handler)
    def run(ctx: Ctx) -> Response:
        try:
            return handler(ctx)
        except BadRequest as exc:
            return exc.answer()

    return run


def _visible_alerts(ctx: Ctx, ids: list[str]) -> list[Alert] | None:
    """The alerts ``ids`` if the user may see every one (``None`` otherwise: nothing is half done)."""
    found = [visible_alert(ctx, i) for i in ids]
    chosen = [a for a in found if a is not None]
    return chosen if len(chosen) == len(ids) else None


# -- triage ----------------------------------------------------------------------------------------------


@guarded("triage", api=True, write=True)
@refusing
def open_case(ctx: Ctx) -> Response:
    """A new case of alerts the user may see (as the queue's bulk triage opens one)."""
    assert ctx.account is not None
    body = body_of(ctx, ("title", "alerts"))
    title = text_field(body, "title", MAX_ID).strip()
    alerts = _visible_alerts(ctx, id_list(body, "alerts"))
    if alerts is None:
        return not_found()
    try:
        case = ctx.web.cases.open_case(title, alerts, ctx.account.principal)
    except CaseError:
        return not_found()
    where = {"Location": f"/api/v1/cases/{quote(case.id, safe='')}"}
    return answer({"case": case_json(ctx, case, full=True)}, 201, where)


@guarded("triage", api=True, write=True)
@refusing
def add_alerts(ctx: Ctx) -> Response:
    """Alerts the user may see into a case they may see; those already in it are skipped."""
    assert ctx.account is not None
    ids = id_list(body_of(ctx, ("alerts",)), "alerts")
    case = visible_case(ctx, ctx.request.path_params["case_id"])
    alerts = _visible_alerts(ctx, ids) if case is not None else None
    if case is None or alerts is None:
        return not_found()
    try:
        added = ctx.web.cases.add_alerts(case.id, alerts, ctx.account.principal)
    except CaseError:
        return not_found()
    return answer({"added": added, "case": case_json(ctx, ctx.web.cases.get(case.id), full=True)})


@guarded("triage", api=True, write=True)
@refusing
def dismiss_alert(ctx: Ctx) -> Response:
    assert ctx.account is not None
    reason = text_field(body_of(ctx, ("reason",)), "reason", MAX_DISMISSAL_REASON)
    alert = visible_alert(ctx, ctx.request.path_params["alert_id"])
    if alert is None:
        return not_found()
    try:
        kept = dismissals_of(ctx).dismiss(alert.alert_id, reason, ctx.account.principal)
    except CaseError as exc:  # dismissed already
        return answer({"error": str(exc)}, 409)
    return answer({"dismissal": dismissal_json(kept)})


@guarded("triage", api=True, write=True)
@refusing
def restore_alert(ctx: Ctx) -> Response:
    """Close the alert's dismissal; the respond stage keeps who and when, no reason (so none is taken)."""
    assert ctx.account is not None
    body_of(ctx, ())
    alert = visible_alert(ctx, ctx.request.path_params["alert_id"])
    if alert is None:
        return not_found()
    try:
        kept = dismissals_of(ctx).restore(alert.alert_id, ctx.account.principal)
    except CaseError as exc:  # not dismissed
        return answer({"error": str(exc)}, 409)
    return answer({"dismissal": dismissal_json(kept)})


# -- containment -----------------------------------------------------------------------------------------


@guarded("triage", api=True, write=True)
@refusing
def propose(ctx: Ctx) -> Response:
    """Store a step of the case's plan for approval, taken by its number from the plan worked out again
    from the stored scope (as the case page does): a body cannot make up an action."""
    assert ctx.account is not None
    body = body_of(ctx, ("step", "connector"))
    index = body.get("step")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise BadRequest("required: the number of a step of the case's plan", "step")
    connector = text_field(body, "connector", MAX_ID) if "connector" in body else None
    case = visible_case(ctx, ctx.request.path_params["case_id"])
    if case is None:
        return not_found()
    scope = stored_scope(case)
    steps = propose_containment(scope, ctx.web.model) if scope is not None else []
    if index >= len(steps):
        raise BadRequest("no such step in the case's plan", "step")
    step = steps[index]
    targets = visible_targets(ctx, scope)
    if targets is not None and step.action.target not in targets:
        return not_found()
    try:
        row = ctx.web.cases.propose(case.id, step.action, connector or step.connector, ctx.account.principal)
    except CaseError as exc:
        return answer({"error": str(exc)}, 409)
    return answer({"action": action_json(row)}, 201)


@guarded("approve", api=True, write=True)
@refusing
def approve(ctx: Ctx) -> Response:
    """Approve a proposed action of the case. The case store applies the two-person rule (by principal);
    its refusal of the proposer's own approval is answered 403, any other refusal 409."""
    assert ctx.account is not None
    body_of(ctx, ())
    case = visible_case(ctx, ctx.request.path_params["case_id"])
    if case is None:
        return not_found()
    raw = ctx.request.path_params["action_id"]
    targets = visible_targets(ctx, stored_scope(case))
    owned = {a.id for a in ctx.web.cases.actions(case.id) if targets is None or a.target in targets}
    if not raw.isdigit() or int(raw) not in owned:  # an action of another case is not reached from here
        return not_found()
    who, action_id = ctx.account.principal, int(raw)
    try:
        done = ctx.web.cases.approve(action_id, who)
    except SamePersonError as exc:  # the two-person rule, as the case store applies it
        return answer({"error": str(exc)}, 403)
    except CaseError as exc:
        return answer({"error": str(exc)}, 409)
    return answer({"action": action_json(done)})


# -- access reviews --------------------------------------------------------------------------------------


def _change_field(body: dict[str, Any]) -> dict[str, str] | None:
    value = body.get("change")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest("must be an object of grant fields and their new values as text", "change")
    too_long = any(len(k) > MAX_ID or len(v) > MAX_REASON for k, v in value.items())
    if len(value) > MAX_CHANGE_FIELDS or too_long:
        raise BadRequest("too many or too long fields", "change")
    return value


@guarded("decide", api=True, write=True)
@refusing
def decide_grant(ctx: Ctx) -> Response:
    """Certify, revoke or change a grant of an access review (as the reviewer's inbox does): the govern
    stage decides who may; its refusal is 403 when the item is not the user's to decide, else 400."""
    assert ctx.account is not None
    body = body_of(ctx, ("grant", "decision", "reason", "change"))
    grant_id = text_field(body, "grant", MAX_REVIEW_ID)
    decision = text_field(body, "decision", 20)
    if decision not in DECISIONS:
        raise BadRequest(f"one of {', '.join(DECISIONS)}", "decision")
    reason = text_field(body, "reason", MAX_REASON)
    change = _change_field(body)
    review_id = ctx.request.path_params["review_id"][:MAX_REVIEW_ID]
    with reading(ctx) as r:
        try:
            status = review_status(r.register, review_id)
        except ReviewError:
            return not_found()
        # the items of the user's organisations' parties only: unknown and out of scope look the same
        item = next((i for i in visible_status(status, r.scope).items if i.grant == grant_id), None)
        if item is None:
            return not_found()
        try:
            done = decide(r.register, review_id, grant_id, decision, reason, ctx.account.principal, change)
        except ReviewError as exc:
            refused = r.scope.mask(str(exc), ctx.t("ctr_withheld"))
            return answer({"error": refused}, 400 if owns(ctx, status, item) else 403)
        return answer({"item": item_row(ctx, r.scope, review_id, done)})


ROUTES = [
    Route("/api/v1/cases", open_case, methods=["POST"]),
    Route("/api/v1/cases/{case_id}/alerts", add_alerts, methods=["POST"]),
    Route("/api/v1/cases/{case_id}/actions", propose, methods=["POST"]),
    Route("/api/v1/cases/{case_id}/actions/{action_id}/approve", approve, methods=["POST"]),
    Route("/api/v1/alerts/{alert_id}/dismiss", dismiss_alert, methods=["POST"]),
    Route("/api/v1/alerts/{alert_id}/restore", restore_alert, methods=["POST"]),
    Route("/api/v1/reviews/{review_id}/decisions", decide_grant, methods=["POST"]),
]
