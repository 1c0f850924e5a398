"""The OpenAPI 3.1 description of the JSON API (``GET /api/v1/openapi.json``).

The paths are found at run time from the app's routes (every ``/api/`` route, whichever module adds
it), so the document cannot miss one; what each does, its query parameters and its answers come from
:data:`OPERATIONS`. A route not in that table is still described: its path parameters, the permission
its guard checks, the answers every API route can give, and its name as its summary.

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
from sekimori.web.data import LEVELS, SOURCES
from sekimori.web.guard import PERMISSIONS, Ctx, guarded

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
_CASE_ROW = {
    "id": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "string"},
    "created": {"type": "string", "format": "date-time"},
    "opened_by": {"type": "string"},
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object({"error": {"type": "string"}}, ["error"]),
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
            "actions": _array(
                _object(
                    {
                        "id": {"type": "integer"},
                        "kind": {"type": "string"},
                        "target": {"type": "string"},
                        "status": {"type": "string"},
                        "requested_by": _TEXT,
                        "approved_by": _TEXT,
                    },
                    ["id", "kind", "target", "status"],
                )
            ),
        },
        [*_CASE_ROW, "alerts", "timeline", "actions"],
    ),
    "CaseDetail": _object({"case": _ref("Case")}, ["case"]),
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
    """What the table says of one API operation: its summary, query parameters and its 200 answer."""

    summary: str
    description: str
    schema: str  # the component schema of the 200 answer
    query: list[dict[str, Any]] = field(default_factory=list)
    not_found: str = ""  # when it answers 404 (empty: it does not)


OPERATIONS: dict[str, Operation] = {
    "/api/v1/alerts": Operation(
        "The alert queue",
        "One page of the alerts the token's user may see, boundary alerts first, then by time; "
        "filters that are not recognised are ignored.",
        "AlertPage",
        _ALERT_FILTERS,
    ),
    "/api/v1/alerts/{alert_id}": Operation(
        "One alert and its evidence events",
        "The stored alert and up to 100 of its evidence events.",
        "AlertDetail",
        not_found="no such alert, or one of organisations the token's user is not assigned to",
    ),
    "/api/v1/cases": Operation(
        "The cases",
        "The cases every alert of which involves an organisation the token's user may see.",
        "CaseList",
    ),
    "/api/v1/cases/{case_id}": Operation(
        "One case",
        "The case with its alerts, timeline and proposed actions.",
        "CaseDetail",
        not_found="no such case, or one the token's user may not see",
    ),
    "/api/v1/openapi.json": Operation(
        "This description", "The OpenAPI 3.1 document of the JSON API.", "OpenAPIDocument"
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


def operation(route: Route) -> dict[str, Any]:
    """The OpenAPI operation of one GET API route: the table's words, or what the route itself says."""
    permission = str(getattr(route.endpoint, "guard", "read"))
    known = OPERATIONS.get(route.path)
    # the guard's wrapper keeps the handler's name, not its docstring: a route the table does not
    # know is summarised by its name
    summary = known.summary if known else route.name.strip("_").replace("_", " ")
    description = known.description if known else "Not in the description table: its answer is JSON."
    roles = sorted(PERMISSIONS.get(permission, ()))
    answers: dict[str, Any] = {
        "200": _answer("the answer", known.schema) if known else {"description": "the answer (JSON)"},
        "401": {
            "description": "no token, or one unknown, revoked or of a disabled user",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ref("Error")}},
        },
        "403": _answer("the token's user lacks the permission", "Error"),
    }
    if route.param_convertors or (known is not None and known.not_found):
        answers["404"] = _answer(known.not_found if known and known.not_found else "not found", "Error")
    result: dict[str, Any] = {
        # from the path: unique, where handler names of two modules may not be
        "operationId": "get_" + re.sub(r"[^A-Za-z0-9]+", "_", openapi_path(route.path)).strip("_"),
        "summary": summary,
        "description": description
        + f" Permission: {permission} (roles: {', '.join(roles) or 'any signed-in user'}).",
        "x-permission": permission,
        "security": [{"bearer": []}],
        "parameters": [_path_parameter(n, route) for n in route.param_convertors]
        + (list(known.query) if known else []),
        "responses": answers,
    }
    return result


def api_routes(routes: list[Any]) -> list[Route]:
    """The app's GET routes under /api/ (the API answers GET only; any other method is 405)."""
    return [
        r
        for r in routes
        if isinstance(r, Route) and r.path.startswith(API_PREFIX) and "GET" in (r.methods or ())
    ]


def openapi_path(path: str) -> str:
    """A Starlette path as OpenAPI writes it: ``{user_id:int}`` → ``{user_id}``."""
    return _CONVERTOR.sub(r"{\1}", path)


def document(routes: list[Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api route in ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in api_routes(routes):
        paths.setdefault(openapi_path(route.path), {})["get"] = operation(route)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "sekimori JSON API",
            "version": __version__,
            "description": "Read-only. Each request carries a per-user API token (made on the web "
            "face's Tokens page) as 'Authorization: Bearer <token>'; answers hold only what that user "
            "may see (their roles and organisations).",
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
