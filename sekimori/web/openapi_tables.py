"""What the OpenAPI description (:mod:`sekimori.web.openapi`) says of each API operation: the component
schemas (:data:`SCHEMAS`) and the table of operations (:data:`OPERATIONS`): summary, query parameters,
request body, answers and refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sekimori.respond import MAX_DISMISSAL_REASON
from sekimori.web.contractors_data import MAX_TEXT as MAX_REVIEW_ID
from sekimori.web.contractors_review import DECISIONS, MAX_REASON
from sekimori.web.data import LEVELS, SOURCES
from sekimori.web.triage import MAX_ID, MAX_SELECTED


def ref(name: str) -> dict[str, str]:
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
            "alerts": _array(ref("AlertRow")),
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
        {"alert": ref("Alert"), "events": {**_array(ref("Event")), "maxItems": 100}}, ["alert", "events"]
    ),
    "CaseSummary": _object({**_CASE_ROW, "alerts": _array({"type": "string"})}, [*_CASE_ROW, "alerts"]),
    "CaseList": _object({"cases": _array(ref("CaseSummary"))}, ["cases"]),
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
            "alerts": _array(ref("CaseAlert")),
            "timeline": _array(
                _object(
                    {"time": {"type": "string"}, "kind": {"type": "string"}, "actor": _TEXT, "text": _TEXT},
                    ["time", "kind"],
                )
            ),
            "actions": {
                **_array(ref("Action")),
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
    "CaseDetail": _object({"case": ref("Case")}, ["case"]),
    "Action": _object(_ACTION, list(_ACTION)),
    "ActionDetail": _object({"action": ref("Action")}, ["action"]),
    "AlertsAdded": _object(
        {"added": _array({"type": "string"}), "case": ref("Case")},
        ["added", "case"],
    ),
    "Dismissal": _object(_DISMISSAL, list(_DISMISSAL)),
    "DismissalDetail": _object({"dismissal": ref("Dismissal")}, ["dismissal"]),
    "ReviewItem": {
        **_object(_REVIEW_ITEM, list(_REVIEW_ITEM)),
        "description": "the grant's item as the reviewer's inbox shows it; ids of organisations the "
        "token's user is not assigned to are withheld",
    },
    "ReviewItemDetail": _object({"item": ref("ReviewItem")}, ["item"]),
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


FORBIDDEN = "the token's user lacks the permission"
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
            "403": FORBIDDEN + ", or proposed the action (the two-person rule)",
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
            "403": FORBIDDEN + ", or the grant is not theirs to decide (not its owner or a delegate, or "
            "its subject)",
        },
    ),
}
