"""The OpenAPI 3.1 description of the JSON API (``GET /api/v1/openapi.json``).

The paths are found at run time from the app's routes (every ``/api/`` route and method, whichever
module adds it), so the document cannot miss one; what each does, its query parameters, its request body
and its answers come from :data:`OPERATIONS`. A route not in that table is still described: its path
parameters, the permission its guard checks, whether it takes a JSON body (``write``), the answers every
API route can give, and its name as its summary.

The document sits behind the bearer token like the rest of ``/api`` (permission ``read``, any role): it
holds no data, but it maps every endpoint of the server, and a caller without a token has no use for it;
keeping it inside the one gate also means no ``/api`` route answers without authentication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.convertors import FloatConvertor, IntegerConvertor
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sekimori import __version__
from sekimori.respond.dismissals import MAX_REASON as MAX_DISMISSAL_REASON
from sekimori.web.api_write import MAX_BODY
from sekimori.web.contractors_data import MAX_TEXT as MAX_REVIEW_ID
from sekimori.web.contractors_review import DECISIONS, MAX_REASON
from sekimori.web.data import LEVELS, SOURCES
from sekimori.web.guard import PERMISSIONS, Ctx, guarded
from sekimori.web.triage import MAX_ID, MAX_SELECTED

OPENAPI_VERSION = "3.1.0"
API_PREFIX = "/api/"
_CONVERTOR = re.compile(r"\{([^}:]+):[^}]+\}")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **more}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return schema


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A request body: nothing but the fields named (another is refused with 400)."""
    return {**_object(properties, required), "additionalProperties": False}


def _text(limit: int, **more: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit, **more}


_TIME = _nullable("string", format="date-time")
_TEXT = _nullable("string")
_ALERT_ROW = {
    "alert_id": {"type": "string"},
    "time": _TIME,
    "source": {"type": "string", "description": f"detector family: {', '.join(SOURCES)}, …"},
    "level": {"type": "string", "description": f"{', '.join(LEVELS)}"},
    "title": {"type": "string"},
    "host": _TEXT,
    "account": _TEXT,
    "orgs": {**_array({"type": "string"}), "description": "the organisations the alert involves"},
}
_ACTION = {
    "id": {"type": "integer"},
    "kind": {"type": "string"},
    "target": {"type": "string"},
    "status": {"type": "string", "description": "proposed, approved, executing, executed, verified, …"},
    "connector": {"type": "string"},
    "changes": {**_array({"type": "string"}), "description": "the connector's dry-run, as approved"},
    "requested_by": _TEXT,
    "approved_by": _TEXT,
}
_ALERT_IDS = {
    **_array({"type": "string", "maxLength": MAX_ID}),
    "minItems": 1,
    "maxItems": MAX_SELECTED,
    "description": "alert ids, each of an alert the token's user may see",
}
# the grant's item as the reviewer's inbox shows it
_REVIEW_ITEM = {
    name: {"type": "boolean"} if name == "overdue" else {"type": "string"}
    for name in (
        *("review", "grant", "party", "subject", "object", "access", "justification", "expires"),
        *("owner", "decision", "reason", "change", "decided_by", "decided_at", "revoke_status", "overdue"),
    )
}
_DISMISSAL = {
    "alert_id": {"type": "string"},
    "reason": {"type": "string"},
    "dismissed_by": {"type": "string"},
    "dismissed_at": {"type": "string", "format": "date-time"},
    "restored_by": _TEXT,
    "restored_at": _TIME,
}
_CASE_ROW = {
    "id": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "string"},
    "created": {"type": "string", "format": "date-time"},
    "opened_by": {"type": "string"},
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        {"error": {"type": "string"}, "field": {"type": "string", "description": "the field refused"}},
        ["error"],
    ),
    "AlertRow": _object(_ALERT_ROW, list(_ALERT_ROW)),
    "AlertPage": _object(
        {
            "total": {"type": "integer", "minimum": 0, "description": "alerts that pass the filters"},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "alerts": _array(_ref("AlertRow")),
        },
        ["total", "page", "page_size", "alerts"],
    ),
    "Alert": {
        **_object(
            {**_ALERT_ROW, "rule_id": {"type": "string"}, "evidence": _nullable("array")}, list(_ALERT_ROW)
        ),
        "description": "every column of the stored alert, and the organisations it involves",
    },
    "Event": _object(
        {
            name: _TIME if name == "time" else _TEXT
            for name in (
                "time",
                "source_format",
                "host",
                "principal",
                "domain",
                "activity",
                "outcome",
                "src_host",
                "src_ip",
                "target_host",
                "process",
                "command_line",
                "object",
                "source_file",
                "uid",
            )
        }
    ),
    "AlertDetail": _object(
        {"alert": _ref("Alert"), "events": {**_array(_ref("Event")), "maxItems": 100}}, ["alert", "events"]
    ),
    "CaseSummary": _object({**_CASE_ROW, "alerts": _array({"type": "string"})}, [*_CASE_ROW, "alerts"]),
    "CaseList": _object({"cases": _array(_ref("CaseSummary"))}, ["cases"]),
    "CaseAlert": _object(
        {
            "alert_id": {"type": "string"},
            "title": {"type": "string"},
            "source": {"type": "string"},
            "level": {"type": "string"},
            "time": _TIME,
            "host": _TEXT,
            "account": _TEXT,
            "organisations": _array({"type": "string"}),
        },
        ["alert_id", "organisations"],
    ),
    "Case": _object(
        {
            **_CASE_ROW,
            "alerts": _array(_ref("CaseAlert")),
            "timeline": _array(
                _object(
                    {"time": {"type": "string"}, "kind": {"type": "string"}, "actor": _TEXT, "text": _TEXT},
                    ["time", "kind"],
                )
            ),
            "actions": {
                **_array(_ref("Action")),
                "description": "the actions on targets the token's user may see",
            },
            "plan": {
                **_array(
                    _object(
                        {
                            "step": {"type": "integer", "minimum": 0},
                            "kind": {"type": "string"},
                            "target": {"type": "string"},
                            "reason": {"type": "string"},
                            "connector": {"type": "string"},
                        },
                        ["step", "kind", "target", "connector"],
                    )
                ),
                "description": "the containment steps of the case's scope on targets the token's user "
                "may see, each with the number POST /api/v1/cases/{case_id}/actions takes",
            },
        },
        [*_CASE_ROW, "alerts", "timeline", "actions", "plan"],
    ),
    "CaseDetail": _object({"case": _ref("Case")}, ["case"]),
    "Action": _object(_ACTION, list(_ACTION)),
    "ActionDetail": _object({"action": _ref("Action")}, ["action"]),
    "AlertsAdded": _object(
        {"added": _array({"type": "string"}), "case": _ref("Case")},
        ["added", "case"],
    ),
    "Dismissal": _object(_DISMISSAL, list(_DISMISSAL)),
    "DismissalDetail": _object({"dismissal": _ref("Dismissal")}, ["dismissal"]),
    "ReviewItem": {
        **_object(_REVIEW_ITEM, list(_REVIEW_ITEM)),
        "description": "the grant's item as the reviewer's inbox shows it; ids of organisations the "
        "token's user is not assigned to are withheld",
    },
    "ReviewItemDetail": _object({"item": _ref("ReviewItem")}, ["item"]),
    "NewCase": _body({"title": _text(MAX_ID), "alerts": _ALERT_IDS}, ["title", "alerts"]),
    "AlertIds": _body({"alerts": _ALERT_IDS}, ["alerts"]),
    "DismissalReason": _body({"reason": _text(MAX_DISMISSAL_REASON)}, ["reason"]),
    "NoFields": {**_body({}, []), "description": "an empty JSON object: {}"},
    "PlanStep": _body(
        {
            "step": {"type": "integer", "minimum": 0, "description": "a step number of the case's plan"},
            "connector": _text(MAX_ID, description="the connector to carry it out (default: the plan's)"),
        },
        ["step"],
    ),
    "Decision": _body(
        {
            "grant": _text(MAX_REVIEW_ID),
            "decision": {"type": "string", "enum": list(DECISIONS)},
            "reason": _text(MAX_REASON),
            "change": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "for a change: grant fields and their new values, e.g. "
                '{"expires": "2026-03-31"}',
            },
        },
        ["grant", "decision", "reason"],
    ),
    "OpenAPIDocument": _object(
        {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}},
        ["openapi", "info", "paths"],
    ),
}


def _query(name: str, text: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": text, "schema": schema}


_ALERT_FILTERS = [
    _query("source", "only alerts of this detector family", {"type": "string", "enum": list(SOURCES)}),
    _query("level", "only alerts of this level", {"type": "string", "enum": list(LEVELS)}),
    _query("org", "only alerts that involve this organisation", {"type": "string", "maxLength": 200}),
    _query("since", "alerts at or after this time (ISO 8601; UTC when no offset)", {"type": "string"}),
    _query("until", "alerts before this time (ISO 8601; UTC when no offset)", {"type": "string"}),
    _query(
        "q", "text in the title, rule, host, account or description", {"type": "string", "maxLength": 200}
    ),
    _query("page", "page number, from 1 (the page size is the server's)", {"type": "integer", "minimum": 1}),
]


@dataclass(frozen=True)
class Operation:
    """What the table says of one API operation: its summary, query parameters, request body and its
    answers."""

    summary: str
    description: str
    schema: str  # the component schema of the answer when it is done
    query: list[dict[str, Any]] = field(default_factory=list)
    not_found: str = ""  # when it answers 404 (empty: it does not)
    body: str = ""  # the component schema of its JSON request body (a write)
    status: int = 200  # the status when it is done
    refusals: dict[str, str] = field(default_factory=dict)  # other statuses it answers, and when


_FORBIDDEN = "the token's user lacks the permission"
_SCOPED_CASE = "no such case, or one the token's user may not see"
_SCOPED_ALERTS = "a case or an alert that does not exist or the token's user may not see (nothing is changed)"
_SCOPED_ALERT = "no such alert, or one of organisations the token's user is not assigned to"

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/v1/alerts"): Operation(
        "The alert queue",
        "One page of the alerts the token's user may see, boundary alerts first, then by time; "
        "filters that are not recognised are ignored.",
        "AlertPage",
        _ALERT_FILTERS,
    ),
    ("GET", "/api/v1/alerts/{alert_id}"): Operation(
        "One alert and its evidence events",
        "The stored alert and up to 100 of its evidence events.",
        "AlertDetail",
        not_found=_SCOPED_ALERT,
    ),
    ("GET", "/api/v1/cases"): Operation(
        "The cases",
        "The cases every alert of which involves an organisation the token's user may see.",
        "CaseList",
    ),
    ("GET", "/api/v1/cases/{case_id}"): Operation(
        "One case",
        "The case with its alerts, timeline, proposed actions and containment plan.",
        "CaseDetail",
        not_found=_SCOPED_CASE,
    ),
    ("GET", "/api/v1/openapi.json"): Operation(
        "This description", "The OpenAPI 3.1 document of the JSON API.", "OpenAPIDocument"
    ),
    ("POST", "/api/v1/cases"): Operation(
        "Open a case",
        "A new case of the alerts named, every one of which the token's user may see (as the alert "
        "queue's bulk triage opens one); opened by the token's user.",
        "CaseDetail",
        not_found=_SCOPED_ALERTS,
        body="NewCase",
        status=201,
    ),
    ("POST", "/api/v1/cases/{case_id}/alerts"): Operation(
        "Add alerts to a case",
        "The alerts named into the case; those in it already are skipped (see 'added').",
        "AlertsAdded",
        not_found=_SCOPED_ALERTS,
        body="AlertIds",
    ),
    ("POST", "/api/v1/alerts/{alert_id}/dismiss"): Operation(
        "Dismiss an alert",
        "Dismiss the alert with a reason, kept and in the audit trail.",
        "DismissalDetail",
        not_found=_SCOPED_ALERT,
        body="DismissalReason",
        refusals={"409": "the alert is dismissed already"},
    ),
    ("POST", "/api/v1/alerts/{alert_id}/restore"): Operation(
        "Restore a dismissed alert",
        "Close the alert's dismissal (kept, with who restored it and when; no reason is taken).",
        "DismissalDetail",
        not_found=_SCOPED_ALERT,
        body="NoFields",
        refusals={"409": "the alert is not dismissed"},
    ),
    ("POST", "/api/v1/cases/{case_id}/actions"): Operation(
        "Propose a containment step",
        "Store a step of the case's plan (by its number in the case's 'plan') for approval, with the "
        "connector's dry-run; proposed by the token's user.",
        "ActionDetail",
        not_found=_SCOPED_CASE + ", or a step on a target the token's user may not see",
        body="PlanStep",
        status=201,
        refusals={"409": "the case store or the connector refused it (its words)"},
    ),
    ("POST", "/api/v1/cases/{case_id}/actions/{action_id}/approve"): Operation(
        "Approve a proposed action",
        "Approve the action, by another person than the one who proposed it (the case store compares "
        "principals: the token's user is the same principal as when signed in on the pages).",
        "ActionDetail",
        not_found=_SCOPED_CASE + ", or an action not of this case or on a target the user may not see",
        body="NoFields",
        refusals={
            "403": _FORBIDDEN + ", or proposed the action (the two-person rule)",
            "409": "the action is not proposed (approved already, executed…), or another refusal of the "
            "case store (its words)",
        },
    ),
    ("POST", "/api/v1/reviews/{review_id}/decisions"): Operation(
        "Decide on a grant in an access review",
        "Certify, revoke or change a grant of the review with a reason (as the reviewer's inbox does); "
        "the govern stage records it if the token's user is the grant's owner or a delegate named when "
        "the review started, and not the grant's subject.",
        "ReviewItemDetail",
        not_found="no such review, or a grant not in it or of a party the token's user may not see",
        body="Decision",
        refusals={
            "400": "a field is missing, of the wrong type or too long, or the govern stage refused the "
            "decision of the grant's owner (decided already, no reason, a change it cannot make)",
            "403": _FORBIDDEN + ", or the grant is not theirs to decide (not its owner or a delegate, or "
            "its subject)",
        },
    ),
}


def _answer(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _path_parameter(name: str, route: Route) -> dict[str, Any]:
    convertor = route.param_convertors[name]
    kind = (
        "integer"
        if isinstance(convertor, IntegerConvertor)
        else "number"
        if isinstance(convertor, FloatConvertor)
        else "string"
    )
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def operation(route: Route, method: str = "GET") -> dict[str, Any]:
    """The OpenAPI operation of one API route and method: the table's words, or what the route says."""
    permission = str(getattr(route.endpoint, "guard", "read"))
    write = bool(getattr(route.endpoint, "write", False))
    known = OPERATIONS.get((method, route.path))
    # the guard's wrapper keeps the handler's name, not its docstring: a route the table does not
    # know is summarised by its name
    summary = known.summary if known else route.name.strip("_").replace("_", " ")
    description = known.description if known else "Not in the description table: its answer is JSON."
    roles = sorted(PERMISSIONS.get(permission, ()))
    done = str(known.status) if known else "200"
    answers: dict[str, Any] = {
        done: _answer("done" if write else "the answer", known.schema)
        if known
        else {"description": "the answer (JSON)"},
        "401": {
            "description": "no token, or one unknown, revoked or of a disabled user",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ref("Error")}},
        },
        "403": _answer(_FORBIDDEN, "Error"),
    }
    if route.param_convertors or (known is not None and known.not_found):
        answers["404"] = _answer(known.not_found if known and known.not_found else "not found", "Error")
    if write:
        answers["400"] = _answer(
            "the body is not a JSON object, or a field is missing, of the wrong type, too long or not one "
            "of the operation's ('field' names it)",
            "Error",
        )
        answers["413"] = _answer(f"the body is longer than {MAX_BODY} bytes", "Error")
        answers["415"] = _answer("the body is not sent as application/json", "Error")
    for status, when in (known.refusals if known else {}).items():
        answers[status] = _answer(when, "Error")
    result: dict[str, Any] = {
        # from the method and path: unique, where handler names of two modules may not be
        "operationId": method.lower()
        + "_"
        + re.sub(r"[^A-Za-z0-9]+", "_", openapi_path(route.path)).strip("_"),
        "summary": summary,
        "description": description
        + f" Permission: {permission} (roles: {', '.join(roles) or 'any signed-in user'}).",
        "x-permission": permission,
        "security": [{"bearer": []}],
        "parameters": [_path_parameter(n, route) for n in route.param_convertors]
        + (list(known.query) if known else []),
        "responses": dict(sorted(answers.items())),
    }
    if write:
        schema = _ref(known.body) if known and known.body else {"type": "object"}
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return result


def api_routes(routes: list[Any]) -> list[Route]:
    """The app's routes under /api/."""
    return [r for r in routes if isinstance(r, Route) and r.path.startswith(API_PREFIX)]


def openapi_path(path: str) -> str:
    """A Starlette path as OpenAPI writes it: ``{user_id:int}`` → ``{user_id}``."""
    return _CONVERTOR.sub(r"{\1}", path)


def document(routes: list[Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api route in ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in api_routes(routes):
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(openapi_path(route.path), {})[method.lower()] = operation(route, method)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "sekimori JSON API",
            "version": __version__,
            "description": "Each request carries a per-user API token (made on the web face's Tokens "
            "page) as 'Authorization: Bearer <token>'; answers hold only what that user may see (their "
            "roles and organisations), and what a POST records is attributed to that user. A POST takes "
            "one JSON object (Content-Type: application/json), no CSRF token.",
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "a per-user API token"}
            },
            "schemas": SCHEMAS,
        },
    }


@guarded("read", api=True)
def openapi_json(ctx: Ctx) -> Response:
    return JSONResponse(document(ctx.request.app.routes))


ROUTES = [Route("/api/v1/openapi.json", openapi_json, methods=["GET"])]
