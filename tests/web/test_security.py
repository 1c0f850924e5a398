"""The web face's security properties, each against the real app over a real store."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Route
from starlette.testclient import TestClient

from sekimori.demo import demo_model_path
from sekimori.detect import run_detectors
from sekimori.model import load_model
from sekimori.store import Store
from sekimori.web import CSP, WebSettings, create_app, safe_next
from sekimori.web.tables import WebSession
from tests.web.conftest import PASSWORD, DemoWorld, csrf_of, make_users, sign_in

DATA = Path(__file__).resolve().parents[1] / "data"
SCRIPT = "<script>alert(1)</script>"


def test_security_headers_on_every_kind_of_response(app_client: TestClient) -> None:
    assert "unsafe-inline" not in CSP and "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    sign_in(app_client, "viewer")
    for path in ("/", "/signin", "/static/sekimori.css", "/no/such/page", "/api/v1/alerts"):
        headers = app_client.get(path).headers
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        assert "server" not in headers


def test_pages_hold_no_inline_script_or_style(app_client: TestClient) -> None:
    """Every page without a path parameter: scripts only as files of this site, no inline style or
    handler attributes (the CSP would block them; the page must not rely on them)."""
    sign_in(app_client, "admin")
    paths = sorted(
        {
            r.path
            for r in app_client.app.routes  # type: ignore[attr-defined]
            if isinstance(r, Route) and "GET" in (r.methods or ()) and "{" not in r.path
        }
    )
    assert {"/", "/alerts", "/cases", "/admin/users", "/audit", "/tokens", "/graph"} <= set(paths)
    for path in paths:
        response = app_client.get(path)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        html = response.text.lower()
        scripts = re.findall(r"<script[^>]*>", html)
        assert all(re.fullmatch(r'<script src="/static/[^"]+">', tag) for tag in scripts), (path, scripts)
        assert "style=" not in html and " on" + "click=" not in html and "<style" not in html, path


def test_csrf_missing_wrong_or_of_another_session_is_refused(app_client: TestClient) -> None:
    sign_in(app_client, "analyst")
    other = TestClient(app_client.app)
    foreign = csrf_of(other.get("/signin").text)
    for data in ({"name": "t"}, {"name": "t", "csrf": "wrong"}, {"name": "t", "csrf": foreign}):
        response = app_client.post("/tokens", data=data)
        assert response.status_code == 403
        assert "new-token" not in response.text
    good = csrf_of(app_client.get("/tokens").text)
    assert 'id="new-token"' in app_client.post("/tokens", data={"name": "t", "csrf": good}).text
    # Sign-in and sign-out are forms too (login CSRF).
    app_client.cookies.clear()
    response = app_client.post("/signin", data={"login": "viewer", "password": PASSWORD + "!"})
    assert response.status_code == 403


def test_session_id_changes_at_sign_in_and_the_old_one_is_dead(app_client: TestClient) -> None:
    app_client.cookies.clear()
    form = app_client.get("/signin")
    before = app_client.cookies["sekimori_session"]
    cookie = form.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    app_client.post(
        "/signin", data={"login": "viewer", "password": PASSWORD + "!", "csrf": csrf_of(form.text)}
    )
    after = app_client.cookies["sekimori_session"]
    assert after != before
    assert app_client.get("/").status_code == 200
    app_client.cookies.set("sekimori_session", before)  # the pre-sign-in id a fixer planted
    assert app_client.get("/").status_code == 303


def test_sign_out_ends_the_session(app_client: TestClient) -> None:
    sign_in(app_client, "viewer")
    sid = app_client.cookies["sekimori_session"]
    app_client.post("/signout", data={"csrf": csrf_of(app_client.get("/").text)})
    app_client.cookies.set("sekimori_session", sid)
    assert app_client.get("/").status_code == 303


def test_secure_cookie_behind_tls(demo_world: DemoWorld, tmp_path: Path) -> None:
    settings = WebSettings(
        store=demo_world.store, database=f"sqlite:///{tmp_path / 'u.db'}", secure_cookies=True
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        cookie = client.get("/signin").headers["set-cookie"]
        assert cookie.startswith("__Host-sekimori_session=") and "Secure" in cookie and "Path=/" in cookie
        assert "strict-transport-security" in client.get("/signin").headers


def test_idle_and_absolute_expiry(app_client: TestClient) -> None:
    engine = app_client.app.state.web.cases.engine  # type: ignore[attr-defined]
    for column, age in (("seen", timedelta(minutes=31)), ("created", timedelta(hours=13))):
        sign_in(app_client, "viewer")
        assert app_client.get("/").status_code == 200
        with Session(engine) as session, session.begin():
            for row in session.scalars(select(WebSession)):
                setattr(row, column, getattr(row, column) - age)
        assert app_client.get("/").status_code == 303, column


def test_open_redirects_are_refused(app_client: TestClient) -> None:
    for evil in ("https://evil.example", "//evil.example", "/\\evil.example", "http:/evil", "javascript:x"):
        assert safe_next(evil) == "/"
        app_client.cookies.clear()
        form = app_client.get("/signin", params={"next": evil})
        assert "evil" not in form.text
        response = app_client.post(
            "/signin",
            data={"login": "viewer", "password": PASSWORD + "!", "csrf": csrf_of(form.text), "next": evil},
        )
        assert response.headers["location"] == "/"
    assert safe_next("/alerts?source=sigma") == "/alerts?source=sigma"


def test_brute_force_is_limited_per_account(app_client: TestClient) -> None:
    app_client.cookies.clear()
    csrf = csrf_of(app_client.get("/signin").text)
    for _ in range(5):
        wrong = app_client.post("/signin", data={"login": "approver", "password": "guess", "csrf": csrf})
        assert wrong.status_code == 401
    right = app_client.post("/signin", data={"login": "approver", "password": PASSWORD + "!", "csrf": csrf})
    assert right.status_code == 429  # even the right password, once limited
    assert "sekimori_session" in app_client.cookies and app_client.get("/").status_code == 303
    sign_in(app_client, "viewer")  # another account is not locked by it


def test_brute_force_is_limited_per_address(app_client: TestClient) -> None:
    app_client.cookies.clear()
    csrf = csrf_of(app_client.get("/signin").text)
    for n in range(20):  # a spray: one guess each at many logins
        app_client.post("/signin", data={"login": f"user{n}", "password": "guess", "csrf": csrf})
    right = app_client.post("/signin", data={"login": "viewer", "password": PASSWORD + "!", "csrf": csrf})
    assert right.status_code == 429


def test_no_user_enumeration(app_client: TestClient) -> None:
    app_client.cookies.clear()
    csrf = csrf_of(app_client.get("/signin").text)
    unknown = app_client.post("/signin", data={"login": "nobody", "password": "x", "csrf": csrf})
    wrong = app_client.post("/signin", data={"login": "viewer", "password": "x", "csrf": csrf})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.text == wrong.text


def test_path_traversal_is_refused(app_client: TestClient) -> None:
    sign_in(app_client, "admin")
    for path in (
        "/static/../accounts.py",
        "/static/%2e%2e/accounts.py",
        "/static/..%2faccounts.py",
        "/static/%2e%2e%2f%2e%2e%2fsettings.py",
        "/static//etc/passwd",
        "/alerts/..%2f..%2fetc%2fpasswd",
        "/cases/..%2f..%2fcases.db",
    ):
        response = app_client.get(path)
        assert response.status_code == 404, path
        assert "import" not in response.text and "root:" not in response.text


def test_one_time_password_must_be_changed(app_client: TestClient) -> None:
    accounts = app_client.app.state.web.accounts  # type: ignore[attr-defined]
    sign_in(app_client, "admin")
    csrf = csrf_of(app_client.get("/admin/users").text)
    page = app_client.post("/admin/users", data={"csrf": csrf, "login": "newbie", "role_viewer": "1"})
    one_time = page.text.split('id="one-time">')[1].split("<")[0]
    sign_in(app_client, "newbie", one_time)
    assert app_client.get("/alerts").headers["location"] == "/password"
    csrf = csrf_of(app_client.get("/password").text)
    changed = app_client.post(
        "/password", data={"csrf": csrf, "current": one_time, "new": "a much longer secret"}
    )
    assert changed.status_code == 303
    assert app_client.get("/alerts").status_code == 200
    assert accounts.authenticate("newbie", one_time) is None


def test_state_changes_are_in_the_audit_chain_with_the_principal(app_client: TestClient) -> None:
    web = app_client.app.state.web  # type: ignore[attr-defined]
    sign_in(app_client, "admin")
    csrf = csrf_of(app_client.get("/admin/users").text)
    app_client.post("/admin/users", data={"csrf": csrf, "login": "audited", "role_auditor": "1"})
    entries = [(e.actor, e.kind) for e in web.cases.audit.entries()]
    assert ("admin", "web.signin") in entries and ("admin", "web.user.create") in entries
    # Password hashes stay out of the chain (an auditor reading it could crack them offline).
    assert all("argon2" not in str(e.payload) for e in web.cases.audit.entries())
    assert 'id="verify"' in app_client.get("/audit").text and "verifies" in app_client.get("/audit").text


def test_language_switch(app_client: TestClient) -> None:
    sign_in(app_client, "viewer")
    ja = app_client.get("/alerts?lang=ja")
    assert "アラート" in ja.text and 'lang="ja"' in ja.text and "Alerts" not in ja.text
    assert "アラート" in app_client.get("/alerts").text  # kept in a cookie
    assert "Alerts" in app_client.get("/alerts?lang=en").text


@pytest.fixture(scope="module")
def xss_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Winlogbeat export whose account name holds a script, ingested and detected."""
    root = tmp_path_factory.mktemp("xss")
    with gzip.open(DATA / "windows_json" / "winlogbeat6_empire_enable_rdp_sample.json.gz", "rt") as raw:
        text = raw.read()
    (root / "logs").mkdir()
    (root / "logs" / "hostile.json").write_text(
        text.replace("nmartha", "nmartha" + SCRIPT.replace("/", "\\/"))
    )
    store = Store(root / "store")
    store.ingest([str(root / "logs" / "hostile.json")])
    run_detectors(store, load_model(demo_model_path()))
    return root


def test_stored_xss_through_a_log_field_and_a_model_name(xss_store: Path, tmp_path: Path) -> None:
    store = Store(xss_store / "store")
    hostile = store.sql("SELECT alert_id FROM alerts WHERE contains(account, '<script>')").to_pylist()
    assert hostile, "the hostile account name reached an alert"
    model = tmp_path / "group.yaml"
    model.write_text(demo_model_path().read_text(encoding="utf-8").replace("Contractor Korea", SCRIPT))
    settings = WebSettings(store=xss_store / "store", database=f"sqlite:///{tmp_path / 'u.db'}", model=model)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, set())
        sign_in(client, "admin")
        pages = [client.get("/alerts"), client.get(f"/alerts/{hostile[0]['alert_id']}"), client.get("/")]
        for page in pages:
            assert page.status_code == 200
            assert "<script" not in page.text.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text  # the model's name, escaped
        assert "nmartha&lt;script&gt;" in pages[1].text  # the log field, escaped


def test_titles_of_cases_are_escaped(world_client: TestClient, demo_world: DemoWorld) -> None:
    sign_in(world_client, "admin")
    page = world_client.get(f"/cases/{demo_world.out_case}")
    assert "parent &lt;b&gt;only&lt;/b&gt;" in page.text and "<b>only" not in page.text
