"""Every endpoint × every role × an in-scope and an out-of-scope organisation: the status code, and no
alert or case of another organisation in the body. Users are assigned to contractor-kr; the oracle of
what is in scope is the organisations detection gave the boundary alerts (not the web face's code)."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from sekimori.web import ROLES
from tests.web.conftest import SCOPE, DemoWorld, csrf_of, sign_in

SEES_ALL = {"admin", "auditor"}


def test_every_route_is_behind_the_guard(world_client: TestClient) -> None:
    for route in world_client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            assert route.path == "/static"
            continue
        assert isinstance(route, Route)
        assert getattr(route.endpoint, "guard", None), f"{route.path} is not guarded"


def _pages(world: DemoWorld) -> list[tuple[str, str, dict[str, int]]]:
    """(name, path, expected status by role; '*' for the others)."""
    inside, outside = world.in_alerts[0], world.out_alerts[0]
    return [
        ("overview", "/", {"*": 200}),
        ("alerts", "/alerts", {"*": 200}),
        ("alerts boundary", "/alerts?source=boundary", {"*": 200}),
        ("alert in scope", f"/alerts/{inside}", {"*": 200}),
        ("alert out of scope", f"/alerts/{outside}", {"admin": 200, "auditor": 200, "*": 404}),
        ("cases", "/cases", {"*": 200}),
        ("case in scope", f"/cases/{world.in_case}", {"*": 200}),
        ("case out of scope", f"/cases/{world.out_case}", {"admin": 200, "auditor": 200, "*": 404}),
        ("tokens", "/tokens", {"*": 200}),
        ("users", "/admin/users", {"admin": 200, "*": 403}),
        ("audit", "/audit", {"admin": 200, "auditor": 200, "*": 403}),
    ]


def _out_of_scope_ids(world: DemoWorld) -> list[str]:
    return [*(a for a in world.out_alerts if a not in world.in_alerts), world.out_case]


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(world_client: TestClient, demo_world: DemoWorld, role: str) -> None:
    sign_in(world_client, role)
    for name, path, expected in _pages(demo_world):
        response = world_client.get(path)
        want = expected.get(role, expected["*"])
        assert response.status_code == want, (role, name, response.status_code)
        if role not in SEES_ALL:
            for hidden in _out_of_scope_ids(demo_world):
                assert hidden not in response.text, (role, name, hidden)
    if role not in SEES_ALL:  # what is in scope is there
        listed = world_client.get("/alerts?source=boundary").text
        assert all(a in listed for a in demo_world.in_alerts)
        assert demo_world.in_case in world_client.get("/cases").text
    else:
        listed = world_client.get("/alerts?source=boundary").text
        assert all(a in listed for a in demo_world.out_alerts)


@pytest.mark.parametrize("role", ROLES)
def test_admin_writes_by_role(world_client: TestClient, role: str) -> None:
    sign_in(world_client, role)
    csrf = csrf_of(world_client.get("/tokens").text)
    created = world_client.post(
        "/admin/users", data={"csrf": csrf, "login": f"new-by-{role}", "role_viewer": "1", "orgs": "parent"}
    )
    assert created.status_code == (200 if role == "admin" else 403)
    # User 1 is the viewer: the same roles and organisations again (an admin's write changes nothing).
    same = {"csrf": csrf, "role_viewer": "1", "orgs": SCOPE}
    updated = world_client.post("/admin/users/1", data=same)
    assert updated.status_code == (303 if role == "admin" else 403)


def test_signed_out_is_sent_to_sign_in(world_client: TestClient, demo_world: DemoWorld) -> None:
    world_client.cookies.clear()
    for _name, path, _ in _pages(demo_world):
        response = world_client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")
        assert demo_world.in_alerts[0] not in response.text


def _token(client: TestClient, role: str) -> str:
    sign_in(client, role)
    page = client.get("/tokens")
    made = client.post("/tokens", data={"csrf": csrf_of(page.text), "name": "siem"})
    found = re.search(r'id="new-token">([^<]+)<', made.text)
    assert found
    return found.group(1)


@pytest.mark.parametrize("role", ROLES)
def test_api_by_role(world_client: TestClient, demo_world: DemoWorld, role: str) -> None:
    token = _token(world_client, role)
    world_client.cookies.clear()  # the API takes the token, not the session
    api = {"Authorization": f"Bearer {token}"}
    sees_all = role in SEES_ALL
    listed = world_client.get("/api/v1/alerts?source=boundary", headers=api)
    assert listed.status_code == 200
    ids = {a["alert_id"] for a in listed.json()["alerts"]}
    assert set(demo_world.in_alerts) <= ids
    assert bool(set(demo_world.out_alerts) & ids) == sees_all
    inside = world_client.get(f"/api/v1/alerts/{demo_world.in_alerts[0]}", headers=api)
    assert inside.status_code == 200 and inside.json()["events"]
    outside = world_client.get(f"/api/v1/alerts/{demo_world.out_alerts[0]}", headers=api)
    assert outside.status_code == (200 if sees_all else 404)
    cases = world_client.get("/api/v1/cases", headers=api).json()["cases"]
    assert ({c["id"] for c in cases} >= {demo_world.in_case, demo_world.out_case}) == sees_all
    assert demo_world.in_case in {c["id"] for c in cases}
    case = world_client.get(f"/api/v1/cases/{demo_world.out_case}", headers=api)
    assert case.status_code == (200 if sees_all else 404)
    if not sees_all:
        for hidden in _out_of_scope_ids(demo_world):
            assert hidden not in listed.text and hidden not in outside.text and hidden not in case.text


def test_api_refuses_without_a_valid_token(world_client: TestClient, demo_world: DemoWorld) -> None:
    world_client.cookies.clear()
    for path in ("/api/v1/alerts", f"/api/v1/alerts/{demo_world.in_alerts[0]}", "/api/v1/cases"):
        assert world_client.get(path).status_code == 401
        assert world_client.get(path, headers={"Authorization": "Bearer skm_forged"}).status_code == 401
    sign_in(world_client, "admin")  # a session cookie is not an API credential
    assert world_client.get("/api/v1/alerts").status_code == 401


def test_a_revoked_token_is_refused(world_client: TestClient) -> None:
    token = _token(world_client, "viewer")
    api = {"Authorization": f"Bearer {token}"}
    assert world_client.get("/api/v1/cases", headers=api).status_code == 200
    page = world_client.get("/tokens")
    last = re.findall(r'name="revoke" value="(\d+)"', page.text)[-1]
    world_client.post("/tokens", data={"csrf": csrf_of(page.text), "revoke": last})
    assert world_client.get("/api/v1/cases", headers=api).status_code == 401
