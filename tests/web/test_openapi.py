"""The OpenAPI description of the JSON API: a valid OpenAPI 3.1 document (checked by
openapi-spec-validator, not by the web code), every /api route of the running app in it, each described
GET answering with a documented status and a body of the documented shape, and the same gate as the rest
of /api (a token of any role; none, a forged one or a session cookie: 401)."""

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
    assert {r.path for r in routes} >= KNOWN
    described: set[tuple[str, str]] = set()
    for route in routes:
        path = route.path_format  # Starlette's own form of the path, without convertors
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation = spec["paths"][path][method.lower()]
            described.add((path, method.lower()))
            names = sorted(p["name"] for p in operation["parameters"] if p["in"] == "path")
            assert names == sorted(route.param_convertors), path
            assert operation["security"] == [{"bearer": []}]
            assert {"200", "401"} <= set(operation["responses"]), path
            if route.param_convertors:
                assert "404" in operation["responses"], path
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


@guarded("audit", api=True)
def things_of_an_organisation(ctx: Ctx) -> Response:
    return JSONResponse({})


def test_a_route_the_table_does_not_know_is_still_described() -> None:
    routes = [
        Route("/api/v1/things/{thing_id:int}", things_of_an_organisation, methods=["GET"]),
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
