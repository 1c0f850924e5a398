"""A real demo store (the bundled real logs ingested, detectors run), a case database with cases of
two organisations, and one signed-in-able user per role, scoped to one organisation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sekimori.demo import demo_model_path, run_demo
from sekimori.detect import alerts_from_table
from sekimori.respond import CaseStore, Principal
from sekimori.store import Store
from sekimori.web import ROLES, WebSettings, create_app, open_state

PASSWORD = "correct horse battery staple"
SCOPE = "contractor-kr"  # the organisation the scoped users are assigned to
SETUP = Principal("test", "setup", "setup")


@dataclass
class DemoWorld:
    store: Path
    settings: WebSettings
    in_alerts: list[str]  # boundary alerts that name SCOPE (as detection gave them)
    out_alerts: list[str]  # boundary alerts that do not
    in_case: str
    out_case: str


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    root = tmp_path_factory.mktemp("web-demo")
    store_dir = root / "store"
    run_demo(store_dir)
    store = Store(store_dir)
    boundary = alerts_from_table(store.sql("SELECT * FROM alerts WHERE source = 'boundary' ORDER BY time"))
    inside = [a for a in boundary if SCOPE in a.organisations]
    outside = [a for a in boundary if SCOPE not in a.organisations]
    assert inside and outside
    database = f"sqlite:///{root / 'web-cases.db'}"
    with CaseStore(database) as cases:
        in_case = cases.open_case("contractor chain", inside[:2], SETUP).id
        out_case = cases.open_case("parent <b>only</b>", outside[:2], SETUP).id
    settings = WebSettings(store=store_dir, database=database, model=demo_model_path())
    return DemoWorld(
        store_dir,
        settings,
        [a.alert_id for a in inside],
        [a.alert_id for a in outside],
        in_case,
        out_case,
    )


def make_users(client: TestClient, orgs: set[str]) -> None:
    accounts = client.app.state.web.accounts  # type: ignore[attr-defined]
    for role in ROLES:
        accounts.create_user(SETUP, role, {role}, orgs, password=PASSWORD)
        account = accounts.authenticate(role, PASSWORD)
        accounts.set_password(account.principal, account, PASSWORD, PASSWORD + "!")


@pytest.fixture
def app_client(demo_world: DemoWorld, tmp_path: Path) -> Iterator[TestClient]:
    """The app over the demo store with a fresh user database per test (fresh rate limits too)."""
    settings = WebSettings(
        store=demo_world.store, database=f"sqlite:///{tmp_path / 'users.db'}", model=demo_world.settings.model
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        yield client


@pytest.fixture(scope="module")
def world_client(demo_world: DemoWorld) -> Iterator[TestClient]:
    """The app over the demo store and the case database holding the two cases, users per role."""
    state = open_state(demo_world.settings)
    with TestClient(create_app(demo_world.settings, state), follow_redirects=False) as client:
        if not state.accounts.users():
            make_users(client, {SCOPE})
        yield client


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD + "!") -> None:
    client.cookies.clear()
    form = client.get("/signin")
    response = client.post(
        "/signin", data={"login": login, "password": password, "csrf": csrf_of(form.text), "next": "/"}
    )
    assert response.status_code == 303, response.text
