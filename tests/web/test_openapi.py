"""The OpenAPI description of the JSON API: a valid OpenAPI 3.1 document (checked by
openapi-spec-validator, not by the web code), every /api route and method of the running app in it, each
described GET answering with a documented status and a body of the documented shape, each described POST
refusing what it documents (no token, another media type, a body that is not an object) with a body of
the documented shape, and the same gate as the rest of /api (a token of any role; none, a forged one or a
session cookie: 401). What the writes do is tests/web/test_api_write.py's."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from sekimori.web import ROLES
from sekimori.web.guard import Ctx, guarded
from sekimori.web.openapi import document
from tests.web.conftest import PASSWORD, SCOPE, DemoWorld, sign_in

# The API of this slice, written out by hand: the description must hold at least these.
KNOWN = {
    "/api/v1/alerts",
    "/api/v1/alerts/{alert_id}",
    "/api/v1/cases",
    "/api/v1/cases/{case_id}",
    "/api/v1/openapi.json",
}
KNOWN_WRITES = {
    "/api/v1/cases",
    "/api/v1/cases/{case_id}/alerts",
    "/api/v1/cases/{case_id}/actions",
    "/api/v1/cases/{case_id}/actions/{action_id}/approve",
    "/api/v1/alerts/{alert_id}/dismiss",
    "/api/v1/alerts/{alert_id}/restore",
    "/api/v1/reviews/{review_id}/decisions",
}


def _token(client: TestClient, role: str) -> str:
    accounts = client.app.state.web.accounts  # type: ignore[attr-defined]
    account = accounts.authenticate(role, PASSWORD + "!")
    assert account is not None
    return str(accounts.create_token(account, "openapi test"))


def _bearer(client: TestClient, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(client, role)}"}


@pytest.fixture(scope="module")
def spec(world_client: TestClient) -> dict[str, Any]:
    response = world_client.get("/api/v1/openapi.json", headers=_bearer(world_client, "viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _api_routes(client: TestClient) -> list[Route]:
    routes = client.app.routes  # type: ignore[attr-defined]
    return [r for r in routes if isinstance(r, Route) and r.path.startswith("/api/")]


def _filled(path: str, world: DemoWorld) -> str:
    values = {"{alert_id}": world.in_alerts[0], "{case_id}": world.in_case}
    for name, value in values.items():
        path = path.replace(name, value)
    # a parameter of an endpoint this test does not know: a value no record has (404 is documented)
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "1" + path[end + 1 :]
    return path


def _schema_validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # the operation's schema with the document's components beside it, so its $refs resolve
    return Draft202012Validator({**schema, "components": spec["components"]})


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(spec).validate()  # raises on the first error
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a per-user API token",
    }
    assert spec["security"] == [{"bearer": []}]


def test_every_api_route_of_the_app_is_described(world_client: TestClient, spec: dict[str, Any]) -> None:
    routes = _api_routes(world_client)
    assert {r.path for r in routes if "GET" in (r.methods or ())} >= KNOWN
    assert {r.path for r in routes if "POST" in (r.methods or ())} >= KNOWN_WRITES
    described: set[tuple[str, str]] = set()
    for route in routes:
        path = route.path_format  # Starlette's own form of the path, without convertors
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation = spec["paths"][path][method.lower()]
            described.add((path, method.lower()))
            names = sorted(p["name"] for p in operation["parameters"] if p["in"] == "path")
            assert names == sorted(route.param_convertors), path
            assert operation["security"] == [{"bearer": []}]
            answers = set(operation["responses"])
            assert "401" in answers and answers & {"200", "201"}, path
            if route.param_convertors:
                assert "404" in answers, path
            if method == "POST":  # a write takes a JSON object and documents its refusals
                assert operation["requestBody"]["required"] is True
                assert list(operation["requestBody"]["content"]) == ["application/json"]
                assert {"400", "403", "413", "415"} <= answers, path
            else:
                assert "requestBody" not in operation, path
            assert operation["x-permission"] == route.endpoint.guard  # type: ignore[attr-defined]
    # nothing described that the app does not serve
    assert {(p, m) for p, ops in spec["paths"].items() for m in ops} == described
    assert len({op["operationId"] for ops in spec["paths"].values() for op in ops.values()}) == len(described)


def test_each_described_get_answers_with_the_documented_status(
    world_client: TestClient, demo_world: DemoWorld, spec: dict[str, Any]
) -> None:
    headers = _bearer(world_client, "admin")
    world_client.cookies.clear()
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        operation = operations["get"]
        url = _filled(path, demo_world)
        response = world_client.get(url, headers=headers)
        documented = operation["responses"]
        assert str(response.status_code) in documented, (url, response.status_code)
        if path in KNOWN:
            assert response.status_code == 200, (url, response.text[:200])
            schema = documented["200"]["content"]["application/json"]["schema"]
            _schema_validator(spec, schema).validate(response.json())
        unauthenticated = world_client.get(url)
        assert unauthenticated.status_code == 401 and "401" in documented
        assert unauthenticated.headers["www-authenticate"] == "Bearer"
        assert unauthenticated.json() == {"error": "unauthenticated"}


def test_the_documented_query_parameters_are_taken(
    world_client: TestClient, demo_world: DemoWorld, spec: dict[str, Any]
) -> None:
    headers = _bearer(world_client, "admin")
    operation = spec["paths"]["/api/v1/alerts"]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    samples = {"org": SCOPE, "since": "2000-01-01T00:00:00", "until": "2100-01-01", "q": "a", "page": "1"}
    everything = world_client.get("/api/v1/alerts", headers=headers).json()["total"]
    assert everything > 0
    for parameter in (p for p in operation["parameters"] if p["in"] == "query"):
        schema = parameter["schema"]
        value = schema["enum"][0] if "enum" in schema else samples[parameter["name"]]
        response = world_client.get("/api/v1/alerts", params={parameter["name"]: value}, headers=headers)
        assert response.status_code == 200, parameter["name"]
        _schema_validator(spec, page).validate(response.json())
        assert response.json()["total"] <= everything
    # a documented 404: an alert that does not exist
    missing = world_client.get("/api/v1/alerts/no-such-alert", headers=headers)
    assert missing.status_code == 404
    error = spec["paths"]["/api/v1/alerts/{alert_id}"]["get"]["responses"]["404"]
    _schema_validator(spec, error["content"]["application/json"]["schema"]).validate(missing.json())


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_it_with_a_token_and_it_holds_no_data(
    world_client: TestClient, demo_world: DemoWorld, role: str
) -> None:
    headers = _bearer(world_client, role)
    world_client.cookies.clear()
    response = world_client.get("/api/v1/openapi.json", headers=headers)
    assert response.status_code == 200
    assert response.json()["paths"]
    # no alert, case or organisation of either scope: it describes, it does not show
    for data in (
        *demo_world.in_alerts,
        *demo_world.out_alerts,
        demo_world.in_case,
        demo_world.out_case,
        SCOPE,
    ):
        assert data not in response.text, (role, data)


def test_it_refuses_without_a_valid_token(world_client: TestClient) -> None:
    world_client.cookies.clear()
    assert world_client.get("/api/v1/openapi.json").status_code == 401
    forged = {"Authorization": "Bearer skm_forged"}
    assert world_client.get("/api/v1/openapi.json", headers=forged).status_code == 401
    sign_in(world_client, "admin")  # a session cookie is not an API credential
    assert world_client.get("/api/v1/openapi.json").status_code == 401
    headers = _bearer(world_client, "admin")
    assert world_client.post("/api/v1/openapi.json", headers=headers).status_code == 405


def test_each_described_post_refuses_as_documented(
    world_client: TestClient, demo_world: DemoWorld, spec: dict[str, Any]
) -> None:
    """No token (401), another media type (415), a body that is not a JSON object (400): each answer
    documented, of the Error shape, and nothing written (the audit chain has no new entry)."""
    headers = _bearer(world_client, "admin")
    world_client.cookies.clear()
    cases = world_client.app.state.web.cases  # type: ignore[attr-defined]
    before = len(cases.audit.entries())
    posts = [(path, ops["post"]) for path, ops in spec["paths"].items() if "post" in ops]
    assert {path for path, _ in posts} >= KNOWN_WRITES
    for path, operation in posts:
        url = _filled(path, demo_world)
        documented = operation["responses"]
        error = _schema_validator(spec, documented["400"]["content"]["application/json"]["schema"])
        attempts = [
            ({"content": b"{}", "headers": {"Content-Type": "application/json"}}, 401),
            ({"content": b"{}", "headers": {**headers, "Content-Type": "text/plain"}}, 415),
            ({"data": {"title": "x"}, "headers": headers}, 415),  # a form, as a page of another site sends
            ({"content": b"[1, 2]", "headers": {**headers, "Content-Type": "application/json"}}, 400),
            ({"content": b"{not json", "headers": {**headers, "Content-Type": "application/json"}}, 400),
        ]
        for request, status in attempts:
            response = world_client.post(url, **request)  # type: ignore[arg-type]
            assert response.status_code == status, (url, request, response.text[:200])
            assert str(status) in documented, (url, status)
            error.validate(response.json())
        if "get" not in spec["paths"][path]:
            assert world_client.get(url, headers=headers).status_code == 405
    assert len(cases.audit.entries()) == before


@guarded("audit", api=True)
def things_of_an_organisation(ctx: Ctx) -> Response:
    return JSONResponse({})


@guarded("triage", api=True, write=True)
def change_a_thing(ctx: Ctx) -> Response:
    return JSONResponse({})


def test_a_route_the_table_does_not_know_is_still_described() -> None:
    routes = [
        Route("/api/v1/things/{thing_id:int}", things_of_an_organisation, methods=["GET"]),
        Route("/api/v1/things/{thing_id:int}", change_a_thing, methods=["POST"]),
        Route(
            "/things", things_of_an_organisation, methods=["GET"]
        ),  # not under /api: not in the API's description
    ]
    spec = document(routes)
    OpenAPIV31SpecValidator(spec).validate()
    assert list(spec["paths"]) == ["/api/v1/things/{thing_id}"]
    operation = spec["paths"]["/api/v1/things/{thing_id}"]["get"]
    assert operation["summary"] == "things of an organisation"
    assert operation["parameters"] == [
        {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    assert operation["x-permission"] == "audit"
    assert "roles: admin, auditor" in operation["description"]
    assert {"200", "401", "403", "404"} == set(operation["responses"])
    write = spec["paths"]["/api/v1/things/{thing_id}"]["post"]
    assert write["operationId"] == "post_api_v1_things_thing_id" != operation["operationId"]
    assert write["summary"] == "change a thing" and write["x-permission"] == "triage"
    assert write["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert {"200", "400", "401", "403", "404", "413", "415"} == set(write["responses"])
