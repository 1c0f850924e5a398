"""The JSON API's writes on the real demo store: every write route × every role × an id in and out of the
users' organisation (contractor-kr), with no other organisation's ids in any answer; what each write
records, read back through the stages' own stores; the two-person rule by principal; the token user as
the principal of the audit trail, and the chain still verifying; no session cookie and no revoked token
taken; bodies refused with 415, 400 (naming the field) and 413, with nothing written.

Oracles: :class:`sekimori.respond.CaseStore` and :class:`sekimori.respond.AlertDismissals` read back and
verified, the govern stage's :class:`sekimori.govern.Register` and :func:`review_status`, the alerts
detection wrote (their organisations), the scope and plan worked out by the respond stage itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from sekimori.govern import Register, review_status
from sekimori.respond import AlertDismissals, CaseStore, Principal, stored_scope
from sekimori.web import ROLES, WebSettings, create_app
from tests.web.conftest import PASSWORD, SCOPE, SETUP, DemoWorld, csrf_of, sign_in
from tests.web.contractors_fixtures import LEAD, OUT_OF_SCOPE, REVIEW, REVIEWER, add_users, prepare
from tests.web.triage_fixtures import (
    Receiver,
    World,
    boundary_alerts,
    expected_status,
    in_scope_step,
    loopback_receiver,
    out_step,
    propose_as_setup,
    scoped,
    store_of,
)

TRIAGE = {"analyst", "admin"}
APPROVE = {"approver", "admin"}
DECIDE = {"viewer", "analyst", "approver", "admin"}
IN_GRANT, OUT_GRANT = "g-contractor-support", "g-affiliate-ops"  # of SCOPE, of OUT_OF_SCOPE
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with loopback_receiver(monkeypatch) as rec:
        yield rec


@pytest.fixture
def world(demo_world: DemoWorld, tmp_path: Path, receiver: Receiver) -> Iterator[World]:
    """A fresh case database per test: the contractor case and the parent's (as conftest's), the demo's
    register with its access review started, users of every role and the grants' owners."""
    alerts = {a.alert_id: a for a in boundary_alerts(demo_world)}
    inside = [alerts[i] for i in demo_world.in_alerts]
    outside = [alerts[i] for i in demo_world.out_alerts]
    database = f"sqlite:///{tmp_path / 'api-write.db'}"
    with CaseStore(database) as cases:
        in_case = cases.open_case("contractor chain", inside[:2], SETUP).id
        out_case = cases.open_case("parent only", outside[:2], SETUP).id
    prepare(database)
    settings = WebSettings(store=demo_world.store, database=database, model=demo_world.settings.model)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        add_users(client)
        yield World(client, database, in_case, out_case, inside, demo_world.out_alerts[0], receiver)


def token(client: TestClient, login: str) -> str:
    accounts = client.app.state.web.accounts  # type: ignore[attr-defined]
    account = accounts.authenticate(login, PASSWORD + "!")
    assert account is not None
    return str(accounts.create_token(account, "soar"))


def call(client: TestClient, login_or_token: str, path: str, body: Any) -> httpx.Response:
    """POST ``body`` as JSON with the bearer token of ``login_or_token`` (a login: a new token of theirs)."""
    secret = login_or_token if login_or_token.startswith("skm_") else token(client, login_or_token)
    response: httpx.Response = client.post(path, json=body, headers={"Authorization": f"Bearer {secret}"})
    return response


def hidden_ids(world: World) -> list[str]:
    """What a user of SCOPE must never receive: the other organisation's case and alerts (those not
    also SCOPE's) and the ids of its grants (read from the register). Its organisation id is not among
    them: an alert of SCOPE may involve it too, and says so (as the pages do)."""
    inside = {a.alert_id for a in world.inside}
    out_alerts = [world.out_alert, *(a.alert_id for a in store_of(world).get(world.out_case).alerts)]
    with Register(world.database) as register:
        grants = [g.id for g in register.grants() if g.party == OUT_OF_SCOPE]
    assert OUT_GRANT in grants
    return [world.out_case, *(a for a in out_alerts if a not in inside), *grants, "parent only"]


def audit_count(world: World) -> int:
    return len(store_of(world).audit.entries())


# -- the authorization matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_write_route_by_role_and_scope(world: World, demo_world: DemoWorld, role: str) -> None:
    scoped(world, demo_world)
    steps = {True: in_scope_step(world, demo_world, world.in_case)[0]}
    steps[False] = out_step(world, demo_world, world.out_case)
    proposed = {
        True: propose_as_setup(world, demo_world, world.in_case, steps[True]),
        False: propose_as_setup(world, demo_world, world.out_case, steps[False]),
    }
    cases_before = len(store_of(world).list_cases())
    secret = token(world.client, role)
    world.client.cookies.clear()
    seen: list[str] = []
    for inside in (True, False):
        case = world.in_case if inside else world.out_case
        alert = world.inside[0].alert_id if inside else world.out_alert
        extra = world.inside[2].alert_id if inside else world.out_alert
        checks = [
            ("open case", "/api/v1/cases", {"title": "t", "alerts": [alert]}, TRIAGE, 201),
            ("add alerts", f"/api/v1/cases/{case}/alerts", {"alerts": [extra]}, TRIAGE, 200),
            ("dismiss", f"/api/v1/alerts/{alert}/dismiss", {"reason": "known job"}, TRIAGE, 200),
            ("restore", f"/api/v1/alerts/{alert}/restore", {}, TRIAGE, 200),
            (
                "propose",
                f"/api/v1/cases/{case}/actions",
                {"step": steps[inside], "connector": "webhook"},
                TRIAGE,
                201,
            ),
            ("approve", f"/api/v1/cases/{case}/actions/{proposed[inside]}/approve", {}, APPROVE, 200),
            # nobody of these roles owns a grant: the govern stage refuses them (403) where they may see it
            (
                "decide",
                f"/api/v1/reviews/{REVIEW}/decisions",
                {"grant": IN_GRANT if inside else OUT_GRANT, "decision": "certify", "reason": "fine"},
                DECIDE,
                403,
            ),
        ]
        for name, path, body, allowed, ok in checks:
            response = call(world.client, secret, path, body)
            want = expected_status(role, allowed, inside, ok)
            assert response.status_code == want, (role, name, inside, response.text[:300])
            assert response.headers["content-type"].startswith("application/json")
            if want == 404:  # out of scope answers as an unknown id does
                assert response.json() == {"error": "not found"}
            seen.append(response.text)
            if name == "decide" and role != "admin":  # the review's ids of another party are withheld
                assert OUT_OF_SCOPE not in response.text, (role, inside)
    # an action of the other case is not reached through a case the user may see
    other = call(world.client, secret, f"/api/v1/cases/{world.in_case}/actions/{proposed[False]}/approve", {})
    assert other.status_code == (404 if role in APPROVE else 403)
    seen.append(other.text)
    if role not in {"admin", "auditor"}:
        for text in seen:
            for hidden in hidden_ids(world):
                assert hidden not in text, (role, hidden)
    # what was changed, read back: only what the role may do, and only in scope
    cases = store_of(world)
    opened = {"analyst": 1, "admin": 2}.get(role, 0)
    assert len(cases.list_cases()) == cases_before + opened
    # the other organisation's case holds what it held (the admin's alert was in it already)
    assert {a.alert_id for a in cases.get(world.out_case).alerts} == set(demo_world.out_alerts[:2])
    history = AlertDismissals(cases).history(world.out_alert)
    assert [d.dismissed_by for d in history] == (["admin"] if role == "admin" else [])
    in_status, out_status = (cases.action(proposed[i]).status for i in (True, False))
    assert in_status == ("approved" if role in APPROVE else "proposed")
    assert out_status == ("approved" if role == "admin" else "proposed")
    mine = {a.requested_by for a in cases.actions(world.in_case)} - {SETUP.label}
    assert mine == ({role} if role in TRIAGE else set())
    with Register(world.database) as register:
        assert review_status(register, REVIEW).decided == 0
    assert cases.verify().ok


# -- what each write records -----------------------------------------------------------------------------


def _by(entry: Any) -> dict[str, str]:
    by: dict[str, str] = entry.payload["by"]
    return by


def test_a_case_opened_and_added_to_through_the_api(world: World) -> None:
    chosen = [a.alert_id for a in world.inside[:2]]
    response = call(world.client, "analyst", "/api/v1/cases", {"title": "soar <b>case</b>", "alerts": chosen})
    assert response.status_code == 201
    answer = response.json()["case"]
    assert response.headers["location"] == f"/api/v1/cases/{answer['id']}"
    case = store_of(world).get(answer["id"])
    assert sorted(a.alert_id for a in case.alerts) == sorted(chosen)
    assert (case.title, case.opened_by) == ("soar <b>case</b>", "analyst")
    assert sorted(a["alert_id"] for a in answer["alerts"]) == sorted(chosen)
    (opened,) = [e for e in store_of(world).audit.entries(case.id) if e.kind == "case.open"]
    assert opened.actor == "analyst" and _by(opened) == Principal("web", "analyst", "analyst").to_dict()

    extra = world.inside[2].alert_id
    added = call(world.client, "analyst", f"/api/v1/cases/{case.id}/alerts", {"alerts": [chosen[0], extra]})
    assert added.status_code == 200 and added.json()["added"] == [extra]  # one was in it already
    assert {a.alert_id for a in store_of(world).get(case.id).alerts} == {*chosen, extra}
    (more,) = [e for e in store_of(world).audit.entries(case.id) if e.kind == "case.alerts"]
    assert more.actor == "analyst" and more.payload["added"] == [extra]
    assert store_of(world).verify().ok


def test_forged_ids_are_not_found_and_change_nothing(world: World) -> None:
    secret = token(world.client, "analyst")
    inside, extra = world.inside[0].alert_id, world.inside[3].alert_id
    before = audit_count(world)
    count = len(store_of(world).list_cases())
    attempts = [
        ("/api/v1/cases", {"title": "mixed", "alerts": [inside, world.out_alert]}),
        ("/api/v1/cases", {"title": "none", "alerts": ["no-such-alert"]}),
        (f"/api/v1/cases/{world.in_case}/alerts", {"alerts": [world.out_alert]}),
        (f"/api/v1/cases/{world.out_case}/alerts", {"alerts": [extra]}),
        ("/api/v1/cases/CASE-1999-0001/alerts", {"alerts": [extra]}),
        (f"/api/v1/alerts/{world.out_alert}/dismiss", {"reason": "x"}),
        ("/api/v1/alerts/no-such-alert/dismiss", {"reason": "x"}),
        (f"/api/v1/cases/{world.out_case}/actions", {"step": 0}),
        (
            "/api/v1/reviews/no-such-review/decisions",
            {"grant": IN_GRANT, "decision": "certify", "reason": "r"},
        ),
    ]
    for path, body in attempts:
        response = call(world.client, secret, path, body)
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {"error": "not found"}
    assert audit_count(world) == before
    assert len(store_of(world).list_cases()) == count
    assert {a.alert_id for a in store_of(world).get(world.in_case).alerts} == {
        a.alert_id for a in world.inside[:2]
    }


def test_dismiss_and_restore_are_kept_and_attributed(world: World) -> None:
    alert = world.inside[1].alert_id
    secret = token(world.client, "analyst")
    done = call(world.client, secret, f"/api/v1/alerts/{alert}/dismiss", {"reason": "admin01's backup job"})
    assert done.status_code == 200
    assert done.json()["dismissal"]["dismissed_by"] == "analyst"
    dismissals = AlertDismissals(store_of(world))
    (kept,) = dismissals.history(alert)
    assert (kept.reason, kept.dismissed_by, kept.active) == ("admin01's backup job", "analyst", True)
    again = call(world.client, secret, f"/api/v1/alerts/{alert}/dismiss", {"reason": "twice"})
    assert again.status_code == 409 and "dismissed already" in again.json()["error"]
    assert call(world.client, secret, f"/api/v1/alerts/{alert}/restore", {}).status_code == 200
    (restored,) = dismissals.history(alert)
    assert restored.restored_by == "analyst" and not restored.active
    assert call(world.client, secret, f"/api/v1/alerts/{alert}/restore", {}).status_code == 409
    entries = [e for e in store_of(world).audit.entries() if e.kind.startswith("alert.")]
    assert [(e.kind, e.actor, _by(e)["login"]) for e in entries] == [
        ("alert.dismiss", "analyst", "analyst"),
        ("alert.restore", "analyst", "analyst"),
    ]
    assert store_of(world).verify().ok and dismissals.tables.verify().ok


# -- containment and the two-person rule -----------------------------------------------------------------


def _mine(world: World) -> set[str]:
    """The names of SCOPE's entities in the contractor case's scope (from the stored scope)."""
    scope = stored_scope(store_of(world).get(world.in_case))
    assert scope is not None
    return {
        v
        for s in (*scope.hosts, *scope.accounts, *scope.data_stores)
        if s.org == SCOPE
        for v in (s.label, s.key, s.address)
        if v
    }


def test_propose_then_the_two_person_rule_by_principal(world: World, demo_world: DemoWorld) -> None:
    scoped(world, demo_world)
    index, step = in_scope_step(world, demo_world, world.in_case)
    analyst = token(world.client, "analyst")
    # the case as the API reads it: the plan and actions of the analyst's organisation only
    headers = {"Authorization": f"Bearer {analyst}"}
    read = world.client.get(f"/api/v1/cases/{world.in_case}", headers=headers).json()["case"]
    assert index in {p["step"] for p in read["plan"]}
    assert {p["target"] for p in read["plan"]} <= _mine(world)

    body = {"step": index, "connector": "webhook"}
    response = call(world.client, analyst, f"/api/v1/cases/{world.in_case}/actions", body)
    assert response.status_code == 201, response.text
    action_id = response.json()["action"]["id"]
    action = store_of(world).action(action_id)
    assert (action.kind, action.target, action.status) == (
        str(step.action.kind),
        step.action.target,
        "proposed",
    )
    assert action.requested_by == "analyst" and world.receiver.posts == []  # a dry-run sends nothing

    # the analyst may not approve at all; an admin may not approve what they proposed (through the API
    # or as the same principal signed in on the pages)
    assert (
        call(
            world.client, analyst, f"/api/v1/cases/{world.in_case}/actions/{action_id}/approve", {}
        ).status_code
        == 403
    )
    admin = token(world.client, "admin")
    by_admin = call(world.client, admin, f"/api/v1/cases/{world.in_case}/actions", body).json()["action"][
        "id"
    ]
    on_page = (
        store_of(world).propose(world.in_case, step.action, "webhook", Principal("web", "admin", "admin")).id
    )
    before = audit_count(world)
    for own in (by_admin, on_page):
        refused = call(world.client, admin, f"/api/v1/cases/{world.in_case}/actions/{own}/approve", {})
        assert refused.status_code == 403
        assert "approval by the same person who asked" in refused.json()["error"]
        assert store_of(world).action(own).status == "proposed"
    assert audit_count(world) == before  # nothing recorded

    approver = token(world.client, "approver")
    path = f"/api/v1/cases/{world.in_case}/actions/{action_id}/approve"
    approved = call(world.client, approver, path, {})
    assert approved.status_code == 200 and approved.json()["action"]["approved_by"] == "approver"
    stored = store_of(world).action(action_id)
    assert stored.status == "approved" and stored.approved_by == "approver"
    again = call(world.client, approver, path, {})
    assert again.status_code == 409 and "only a proposed action can be approved" in again.json()["error"]
    entries = [e for e in store_of(world).audit.entries(world.in_case) if e.kind.startswith("action.")]
    said = [(e.kind, e.actor, _by(e)["source"]) for e in entries if e.payload.get("action_id") == action_id]
    assert said == [("action.propose", "analyst", "web"), ("action.approve", "approver", "web")]
    assert store_of(world).verify().ok


def test_a_step_out_of_the_plan_or_of_another_organisation(world: World, demo_world: DemoWorld) -> None:
    scoped(world, demo_world)
    analyst = token(world.client, "analyst")
    before = audit_count(world)
    path = f"/api/v1/cases/{world.in_case}/actions"
    for step in (10_000, -1, "0", True, None):
        response = call(world.client, analyst, path, {"step": step})
        assert response.status_code == 400 and response.json()["field"] == "step", step
    # a step of the contractor case on an entity of another organisation (the plan worked out by the
    # respond stage): as if it did not exist
    foreign = out_step(world, demo_world, world.in_case)
    refused = call(world.client, analyst, path, {"step": foreign})
    assert refused.status_code == 404 and refused.json() == {"error": "not found"}
    assert store_of(world).actions(world.in_case) == []
    assert audit_count(world) == before


# -- access reviews --------------------------------------------------------------------------------------


def test_decisions_through_the_api(world: World) -> None:
    path = f"/api/v1/reviews/{REVIEW}/decisions"
    lead = token(world.client, LEAD)
    revoked = call(
        world.client, lead, path, {"grant": IN_GRANT, "decision": "revoke", "reason": "contract ended"}
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["item"]["decided_by"] == LEAD
    # the lead's grant of the other party is out of the lead's organisations: not found
    out = call(world.client, lead, path, {"grant": "g-affiliate-pcs", "decision": "certify", "reason": "x"})
    assert out.status_code == 404 and "affiliate" not in out.text
    reviewer = token(world.client, REVIEWER)
    refused = call(
        world.client, reviewer, path, {"grant": "g-affiliate-pcs", "decision": "certify", "reason": "x"}
    )
    assert refused.status_code == 403 and "is neither the owner of grant" in refused.json()["error"]
    change = {"expires": "2024-03-31"}
    body = {"grant": "g-affiliate-ops", "decision": "change", "reason": "shorter", "change": change}
    assert call(world.client, reviewer, path, body).status_code == 200
    twice = call(world.client, reviewer, path, {**body, "decision": "certify", "change": None})
    assert twice.status_code == 400 and "decided already" in twice.json()["error"]
    with Register(world.database) as register:
        items = {i.grant: i for i in review_status(register, REVIEW).items}
        report = register.verify()
    assert (items[IN_GRANT].decision, items[IN_GRANT].decided_by) == ("revoke", LEAD)
    assert items["g-affiliate-ops"].decision == "change" and items["g-affiliate-ops"].change == change
    assert items["g-affiliate-pcs"].decision is None
    decided = [e for e in report.chain if e.kind == "review.decide"]
    assert [(e.actor, e.payload["grant"]) for e in decided] == [
        (LEAD, IN_GRANT),
        (REVIEWER, "g-affiliate-ops"),
    ]
    assert report.ok, report.problems


# -- what is refused before anything is done -------------------------------------------------------------


def test_bodies_are_json_objects_with_the_operations_fields(world: World) -> None:
    secret = token(world.client, "admin")
    auth = {"Authorization": f"Bearer {secret}"}
    alert = world.inside[0].alert_id
    before = audit_count(world)
    new_case = "/api/v1/cases"

    def post(path: str, **request: Any) -> httpx.Response:
        response: httpx.Response = world.client.post(path, **request)
        return response

    # not JSON: 415 (a form is what a page of another site could send)
    assert post(new_case, content=b"{}", headers=auth).status_code == 415
    assert post(new_case, content=b"{}", headers={**auth, "Content-Type": "text/plain"}).status_code == 415
    assert post(new_case, data={"title": "t", "alerts": alert}, headers=auth).status_code == 415
    # JSON that is not an object, or not JSON at all
    for raw in (b"[]", b'"text"', b"{", b"\xff\xfe{", b"[" * 60_000):
        response = post(new_case, content=raw, headers={**auth, **JSON})
        assert response.status_code in (400, 413), raw[:10]
    assert post(new_case, content=b"{", headers={**auth, **JSON}).json()["error"] == "the body is not JSON"
    too_big = b'{"title": "' + b"a" * 70_000 + b'", "alerts": []}'
    assert post(new_case, content=too_big, headers={**auth, **JSON}).status_code == 413
    # a field missing, of the wrong type, too long or not the operation's: 400 naming it
    reasons = f"/api/v1/alerts/{alert}/dismiss"
    decisions = f"/api/v1/reviews/{REVIEW}/decisions"
    decision = {"grant": IN_GRANT, "decision": "certify", "reason": "r"}
    fields = [
        (new_case, {"alerts": [alert]}, "title"),
        (new_case, {"title": "  ", "alerts": [alert]}, "title"),
        (new_case, {"title": "t" * 201, "alerts": [alert]}, "title"),
        (new_case, {"title": 5, "alerts": [alert]}, "title"),
        (new_case, {"title": "t"}, "alerts"),
        (new_case, {"title": "t", "alerts": alert}, "alerts"),
        (new_case, {"title": "t", "alerts": []}, "alerts"),
        (new_case, {"title": "t", "alerts": [1]}, "alerts"),
        (new_case, {"title": "t", "alerts": ["a" * 201]}, "alerts"),
        (new_case, {"title": "t", "alerts": [f"a{i}" for i in range(501)]}, "alerts"),
        (new_case, {"title": "t", "alerts": [alert], "by": "someone else"}, "by"),
        (reasons, {}, "reason"),
        (reasons, {"reason": "r" * 2001}, "reason"),
        (f"/api/v1/alerts/{alert}/restore", {"reason": "the stage keeps none"}, "reason"),
        (decisions, {**decision, "decision": "maybe"}, "decision"),
        (decisions, {**decision, "grant": None}, "grant"),
        (decisions, {**decision, "change": "expires=2024-01-01"}, "change"),
        (decisions, {**decision, "change": {"expires": 20240101}}, "change"),
    ]
    for path, body, field in fields:
        response = post(path, json=body, headers=auth)
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()["field"] == field, (path, body)
    assert audit_count(world) == before
    assert AlertDismissals(store_of(world)).history(alert) == []
    with Register(world.database) as register:
        assert review_status(register, REVIEW).decided == 0


def test_a_session_cookie_is_not_an_api_credential(world: World) -> None:
    sign_in(world.client, "admin")
    csrf = csrf_of(world.client.get("/tokens").text)
    before = audit_count(world)
    alert = world.inside[0].alert_id
    for path, body in (
        ("/api/v1/cases", {"title": "t", "alerts": [alert], "csrf": csrf}),
        (f"/api/v1/alerts/{alert}/dismiss", {"reason": "x"}),
    ):
        response = world.client.post(path, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert audit_count(world) == before
    assert AlertDismissals(store_of(world)).history(alert) == []


def test_a_revoked_token_is_refused(world: World) -> None:
    accounts = world.client.app.state.web.accounts  # type: ignore[attr-defined]
    account = accounts.authenticate("analyst", PASSWORD + "!")
    secret = accounts.create_token(account, "soar")
    alert = world.inside[0].alert_id
    assert call(world.client, secret, f"/api/v1/alerts/{alert}/dismiss", {"reason": "x"}).status_code == 200
    accounts.revoke_token(account, accounts.tokens(account)[-1].id)
    before = audit_count(world)
    refused = call(world.client, secret, f"/api/v1/alerts/{alert}/restore", {})
    assert refused.status_code == 401 and refused.json() == {"error": "unauthenticated"}
    assert audit_count(world) == before
    assert AlertDismissals(store_of(world)).history(alert)[0].active  # still dismissed
