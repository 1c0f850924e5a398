"""The OpenAPI 3.1 description of the JSON API (``GET /api/v1/openapi.json``).

The paths are found at run time from the app's routes (every ``/api/`` route and method, whichever
module adds it), so the document cannot miss one; what each does, its query parameters, its request body
and its answers come from :data:`sekimori.web.openapi_tables.OPERATIONS`. A route not in that table is
still described: its path parameters, the permission its guard checks, whether it takes a JSON body
(``write``), the answers every API route can give, and its name as its summary.

The document sits behind the bearer token like the rest of ``/api`` (permission ``read``, any role): it
holds no data, but it maps every endpoint of the server, and a caller without a token has no use for it;
keeping it inside the one gate also means no ``/api`` route answers without authentication.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.convertors import FloatConvertor, IntegerConvertor
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sekimori import __version__
from sekimori.web.api_write import MAX_BODY
from sekimori.web.guard import PERMISSIONS, Ctx, guarded
from sekimori.web.openapi_tables import FORBIDDEN, OPERATIONS, SCHEMAS, ref

OPENAPI_VERSION = "3.1.0"
API_PREFIX = "/api/"
_CONVERTOR = re.compile(r"\{([^}:]+):[^}]+\}")


def _answer(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


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
            "content": {"application/json": {"schema": ref("Error")}},
        },
        "403": _answer(FORBIDDEN, "Error"),
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
        schema = ref(known.body) if known and known.body else {"type": "object"}
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
