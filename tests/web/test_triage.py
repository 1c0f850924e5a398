"""Triage and the case workflow in the web face, on the real demo store: every new endpoint by role and
in/out of the users' organisation (contractor-kr), CSRF on every POST, bulk triage read back from the
case store, dismissals kept and in the audit chain, the two-person rule (by principal) through approve,
execute and rollback with the webhook connector against a loopback receiver, and hostile titles escaped.

Oracles: the case store read back (:class:`sekimori.respond.CaseStore`), the audit chain and
:meth:`CaseStore.verify`, the alerts detection wrote (their organisations), the scope and plan worked out
by the respond stage itself, and the receiver's own log of what it was asked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from sekimori.detect import Alert, alerts_from_table
from sekimori.respond import AlertDismissals, CaseStore, Principal, stored_scope
from sekimori.store import Store
from sekimori.web import ROLES, WebSettings, create_app
from tests.web.conftest import SCOPE, SETUP, DemoWorld, make_users, sign_in
from tests.web.triage_fixtures import (
    Receiver,
    World,
    boundary_alerts,
    expected_status,
    in_scope_step,
    loopback_receiver,
    out_step,
    post,
    ready_actions,
    scoped,
    store_of,
)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with loopback_receiver(monkeypatch) as rec:
        yield rec


@pytest.fixture
def world(demo_world: DemoWorld, tmp_path: Path, receiver: Receiver) -> Iterator[World]:
    """A fresh case database per test: the contractor case (scoped, as conftest's) and the parent's."""
    alerts = {a.alert_id: a for a in boundary_alerts(demo_world)}
    inside = [alerts[i] for i in demo_world.in_alerts]
    outside = [alerts[i] for i in demo_world.out_alerts]
    database = f"sqlite:///{tmp_path / 'triage.db'}"
    with CaseStore(database) as cases:
        in_case = cases.open_case("contractor chain", inside[:2], SETUP).id
        out_case = cases.open_case("parent only", outside[:2], SETUP).id
    settings = WebSettings(store=demo_world.store, database=database, model=demo_world.settings.model)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        yield World(client, database, in_case, out_case, inside, demo_world.out_alerts[0], receiver)


# -- the authorization matrix ----------------------------------------------------------------------------

TRIAGE = {"analyst", "admin"}
APPROVE = {"approver", "admin"}
EXECUTE = {"analyst", "approver", "admin"}


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(world: World, demo_world: DemoWorld, role: str) -> None:
    scoped(world, demo_world)
    in_index, _ = in_scope_step(world, demo_world, world.in_case)
    out_index = out_step(world, demo_world, world.out_case)
    actions = {
        True: ready_actions(world, demo_world, world.in_case, in_index),
        False: ready_actions(world, demo_world, world.out_case, out_index),
    }
    inside_alert = world.inside[0].alert_id
    client = world.client
    sign_in(client, role)
    hidden = [
        world.out_case,
        world.out_alert,
        *(a.alert_id for a in store_of(world).get(world.out_case).alerts),
    ]
    hidden = [h for h in hidden if h not in {a.alert_id for a in world.inside}]
    seen: list[str] = []
    for inside in (True, False):
        case = world.in_case if inside else world.out_case
        alert = inside_alert if inside else world.out_alert
        cases = f"/cases/{case}"
        checks = [
            ("new case", "/alerts/triage", {f"alert:{alert}": "1", "title": "t"}, TRIAGE, 303),
            (
                "to case",
                "/alerts/triage",
                {f"alert:{alert}": "1", "to": "existing", "case": case},
                TRIAGE,
                303,
            ),
            ("dismiss", f"/alerts/{alert}/dismiss", {"reason": "known"}, TRIAGE, 303),
            ("restore", f"/alerts/{alert}/restore", {}, TRIAGE, 303),
            ("entry", f"{cases}/entries", {"kind": "note", "text": "looked"}, TRIAGE, 303),
            ("scope", f"{cases}/scope", {}, TRIAGE, 303),
            (
                "propose",
                f"{cases}/propose",
                {"step": str(in_index if inside else out_index), "connector": "webhook"},
                TRIAGE,
                303,
            ),
            ("approve", f"{cases}/actions/{actions[inside]['approve']}/approve", {}, APPROVE, 303),
            ("execute", f"{cases}/actions/{actions[inside]['execute']}/execute", {}, EXECUTE, 303),
            ("rollback", f"{cases}/actions/{actions[inside]['rollback']}/rollback", {}, EXECUTE, 303),
        ]
        for name, path, data, allowed, ok in checks:
            response = post(client, path, data)
            want = expected_status(role, allowed, inside, ok)
            assert response.status_code == want, (
                role,
                name,
                inside,
                response.status_code,
                response.text[:300],
            )
            seen.append(response.text)
        evidence = _an_evidence_link(client, world, inside)
        if evidence is not None:
            response = client.get(evidence)
            assert response.status_code == (200 if inside or role in {"admin", "auditor"} else 404)
            seen.append(response.text)
        for page in (
            f"/alerts/{inside_alert}",
            "/alerts",
            "/alerts?dismissed=only",
            f"/cases/{world.in_case}",
        ):
            response = client.get(page)
            assert response.status_code == 200
            seen.append(response.text)
    if role not in {"admin", "auditor"}:
        for text in seen:
            for h in hidden:
                assert h not in text, (role, h)
            assert "parent only" not in text


def _an_evidence_link(client: TestClient, world: World, inside: bool) -> str | None:
    """A raw-event link of the case's scope (read as the admin would see it: from the stored scope)."""
    case = store_of(world).get(world.in_case if inside else world.out_case)
    scope = stored_scope(case)
    assert scope is not None
    for s in (*scope.hosts, *scope.accounts):
        if (s.org == SCOPE) == inside:
            for e in s.evidence:
                if e.get("path") and e.get("record_id") is not None:
                    query = urlencode({"path": e["path"], "record": e["record_id"]})
                    return f"/cases/{case.id}/evidence?{query}"
    return None


def test_every_post_needs_the_csrf_token(world: World) -> None:
    sign_in(world.client, "admin")
    alert = world.inside[0].alert_id
    cases = f"/cases/{world.in_case}"
    paths = [
        "/alerts/triage",
        f"/alerts/{alert}/dismiss",
        f"/alerts/{alert}/restore",
        f"{cases}/entries",
        f"{cases}/scope",
        f"{cases}/propose",
        f"{cases}/actions/1/approve",
        f"{cases}/actions/1/execute",
        f"{cases}/actions/1/rollback",
    ]
    before = len(store_of(world).audit.entries())
    for path in paths:
        for data in ({}, {"csrf": "forged"}):
            response = world.client.post(
                path, data={**data, f"alert:{alert}": "1", "reason": "x", "text": "x"}
            )
            assert response.status_code == 403, path
            assert "CSRF" in response.text
    assert len(store_of(world).audit.entries()) == before  # nothing was written


# -- bulk triage -----------------------------------------------------------------------------------------


def test_bulk_triage_opens_a_case_with_exactly_the_selected_alerts(world: World) -> None:
    sign_in(world.client, "analyst")
    chosen = [a.alert_id for a in world.inside[:3]]
    assert len(chosen) >= 2
    queue = world.client.get("/alerts?source=boundary").text
    for alert_id in chosen:
        assert f'name="alert:{alert_id}"' in queue
    data = {f"alert:{a}": "1" for a in chosen} | {"title": "bulk <script>alert(1)</script>"}
    response = post(world.client, "/alerts/triage", data)
    assert response.status_code == 303
    case_id = response.headers["location"].rsplit("/", 1)[-1]
    case = store_of(world).get(case_id)
    assert sorted(a.alert_id for a in case.alerts) == sorted(chosen)
    assert case.opened_by == "analyst" and case.title == "bulk <script>alert(1)</script>"
    page = world.client.get(f"/cases/{case_id}").text
    assert "<script>alert(1)</script>" not in page
    assert "bulk &lt;script&gt;alert(1)&lt;/script&gt;" in page
    opened = [e for e in store_of(world).audit.entries(case_id) if e.kind == "case.open"]
    assert len(opened) == 1 and opened[0].actor == "analyst"


def test_all_alerts_on_the_page_without_a_script(world: World, demo_world: DemoWorld) -> None:
    sign_in(world.client, "analyst")
    queue = world.client.get("/alerts?source=boundary").text
    assert "<script" not in queue.lower()
    shown = re.findall(r'name="page:([^"]+)"', queue)
    assert sorted(shown) == sorted(demo_world.in_alerts)  # the page's alerts, all in scope
    data = {f"page:{a}": "1" for a in shown} | {"all_on_page": "1", "title": "whole page"}
    response = post(world.client, "/alerts/triage", data)
    assert response.status_code == 303
    case = store_of(world).get(response.headers["location"].rsplit("/", 1)[-1])
    assert sorted(a.alert_id for a in case.alerts) == sorted(shown)
    # without the box ticked the page's list selects nothing; a forged page entry is refused
    assert post(world.client, "/alerts/triage", {f"page:{shown[0]}": "1"}).status_code == 400
    forged = data | {f"page:{world.out_alert}": "1"}
    assert post(world.client, "/alerts/triage", forged).status_code == 404


def test_adding_to_an_existing_case_and_forged_ids(world: World) -> None:
    sign_in(world.client, "analyst")
    extra = world.inside[2].alert_id
    before = {a.alert_id for a in store_of(world).get(world.in_case).alerts}
    assert extra not in before
    response = post(
        world.client, "/alerts/triage", {f"alert:{extra}": "1", "to": "existing", "case": world.in_case}
    )
    assert response.status_code == 303
    assert {a.alert_id for a in store_of(world).get(world.in_case).alerts} == before | {extra}

    # forged: an alert of another organisation into the analyst's case, an in-scope alert into the
    # other organisation's case, an alert that does not exist, and a case that does not exist.
    out_before = {a.alert_id for a in store_of(world).get(world.out_case).alerts}
    count = len(store_of(world).list_cases())
    for data in (
        {f"alert:{world.out_alert}": "1", "to": "existing", "case": world.in_case},
        {f"alert:{world.out_alert}": "1", f"alert:{extra}": "1", "title": "mixed"},
        {f"alert:{world.inside[3].alert_id}": "1", "to": "existing", "case": world.out_case},
        {"alert:no-such-alert": "1", "title": "x"},
        {f"alert:{extra}": "1", "to": "existing", "case": "CASE-1999-0001"},
    ):
        response = post(world.client, "/alerts/triage", data)
        assert response.status_code == 404, data
        assert world.out_case not in response.text and world.out_alert not in response.text
    assert {a.alert_id for a in store_of(world).get(world.in_case).alerts} == before | {extra}
    assert {a.alert_id for a in store_of(world).get(world.out_case).alerts} == out_before
    assert len(store_of(world).list_cases()) == count
    assert post(world.client, "/alerts/triage", {"title": "nothing"}).status_code == 400


# -- dismissals ------------------------------------------------------------------------------------------


def test_dismissal_is_kept_audited_and_filtered(world: World) -> None:
    sign_in(world.client, "analyst")
    alert = world.inside[1].alert_id
    assert post(world.client, f"/alerts/{alert}/dismiss", {"reason": "  "}).status_code == 400
    response = post(world.client, f"/alerts/{alert}/dismiss", {"reason": "admin01's <b>scheduled</b> job"})
    assert response.status_code == 303
    page = world.client.get(f"/alerts/{alert}").text
    assert "admin01&#39;s &lt;b&gt;scheduled&lt;/b&gt; job" in page and "<b>scheduled</b>" not in page

    dismissals = AlertDismissals(store_of(world))
    (kept,) = dismissals.history(alert)
    assert kept.reason == "admin01's <b>scheduled</b> job" and kept.dismissed_by == "analyst" and kept.active
    entries = [e for e in store_of(world).audit.entries() if e.kind == "alert.dismiss"]
    assert len(entries) == 1 and entries[0].actor == "analyst"
    assert entries[0].payload["alert_id"] == alert and entries[0].payload["reason"] == kept.reason
    assert store_of(world).verify().ok and dismissals.tables.verify().ok

    boundary = world.client.get("/alerts?source=boundary").text
    assert alert in boundary and "dismissed" in boundary
    assert alert not in world.client.get("/alerts?source=boundary&dismissed=hide").text
    only = world.client.get("/alerts?source=boundary&dismissed=only").text
    assert alert in only and world.inside[0].alert_id not in only

    assert post(world.client, f"/alerts/{alert}/dismiss", {"reason": "again"}).status_code == 400
    assert post(world.client, f"/alerts/{alert}/restore").status_code == 303
    (restored,) = dismissals.history(alert)
    assert restored.restored_by == "analyst" and not restored.active  # the row is kept
    assert alert in world.client.get("/alerts?source=boundary&dismissed=hide").text
    assert [e.kind for e in store_of(world).audit.entries() if e.kind.startswith("alert.")] == [
        "alert.dismiss",
        "alert.restore",
    ]
    # a forged out-of-scope id is refused and nothing is recorded
    assert post(world.client, f"/alerts/{world.out_alert}/dismiss", {"reason": "x"}).status_code == 404
    assert dismissals.history(world.out_alert) == []


# -- similar alerts --------------------------------------------------------------------------------------


def test_similar_alerts_share_the_account_or_host_and_stay_in_scope(
    world: World, demo_world: DemoWorld
) -> None:
    sign_in(world.client, "admin")
    everything = alerts_from_table(Store(demo_world.store).sql("SELECT * FROM alerts"))
    target = world.inside[0]

    def same(a: Alert) -> bool:
        hosts = target.host and a.host and a.host.lower() == target.host.lower()
        accounts = target.account and a.account and a.account.lower() == target.account.lower()
        return a.alert_id != target.alert_id and bool(hosts or accounts)

    expected = {a.alert_id for a in everything if same(a)}
    assert expected
    page = world.client.get(f"/alerts/{target.alert_id}").text
    section = page.split('id="similar"', 1)[1].split("</div>", 1)[0]
    shown = {a.alert_id for a in everything if f"/alerts/{a.alert_id}" in section}
    assert shown == set(sorted(expected)[:50]) or (len(expected) > 50 and len(shown) == 50)

    sign_in(world.client, "analyst")
    section = (
        world.client.get(f"/alerts/{target.alert_id}").text.split('id="similar"', 1)[1].split("</div>", 1)[0]
    )
    for a in everything:
        if f"/alerts/{a.alert_id}" in section:
            assert a.alert_id in expected
            visible = world.client.get(f"/alerts/{a.alert_id}")
            assert visible.status_code == 200  # only alerts the analyst may open


# -- the two-person rule, execute and rollback ----------------------------------------------------------


def test_two_person_rule_then_execute_and_rollback(world: World, demo_world: DemoWorld) -> None:
    client = world.client
    sign_in(client, "analyst")
    assert "No scope yet" in client.get(f"/cases/{world.in_case}").text
    assert post(client, f"/cases/{world.in_case}/scope").status_code == 303
    index, step = in_scope_step(world, demo_world, world.in_case)
    page = client.get(f"/cases/{world.in_case}").text
    # the dry-run diff of the webhook is shown before anything is proposed, and nothing is sent
    response = post(client, f"/cases/{world.in_case}/propose", {"step": str(index), "connector": "webhook"})
    assert response.status_code == 303
    assert world.receiver.posts == []
    (action,) = store_of(world).actions(world.in_case)
    assert (action.kind, action.target, action.status) == (
        str(step.action.kind),
        step.action.target,
        "proposed",
    )
    assert action.requested_by == "analyst" and action.connector == "webhook"
    page = client.get(f"/cases/{world.in_case}").text
    (change,) = action.changes  # the dry-run diff stored with the proposal, as approved
    assert f"ask the receiver to {step.action.kind} {step.action.target}" in change
    assert str(escape(f"+ {change}")) in page
    scope = stored_scope(store_of(world).get(world.in_case))
    assert scope is not None
    others = [s for s in (*scope.hosts, *scope.accounts, *scope.data_stores) if s.org != SCOPE]
    assert others and "(another organisation)" in page
    for other in others:
        assert str(escape(other.via)) not in page

    # the analyst may not approve (no permission); an admin session of the same person neither
    assert post(client, f"/cases/{world.in_case}/actions/{action.id}/approve").status_code == 403
    admin_as_proposer = store_of(world).propose(world.in_case, step.action, "webhook", _admin_principal())
    sign_in(client, "admin")
    refused = post(client, f"/cases/{world.in_case}/actions/{admin_as_proposer.id}/approve")
    assert refused.status_code == 409
    assert "approval by the same person who asked" in refused.text and 'id="message"' in refused.text
    assert store_of(world).action(admin_as_proposer.id).status == "proposed"

    sign_in(client, "approver")
    assert post(client, f"/cases/{world.in_case}/actions/{action.id}/approve").status_code == 303
    approved = store_of(world).action(action.id)
    assert approved.status == "approved" and approved.approved_by == "approver"
    again = post(client, f"/cases/{world.in_case}/actions/{action.id}/approve")
    assert again.status_code == 409 and "only a proposed action can be approved" in again.text

    sign_in(client, "analyst")
    assert post(client, f"/cases/{world.in_case}/actions/{action.id}/execute").status_code == 303
    assert store_of(world).action(action.id).status == "verified"
    assert [p["op"] for p in world.receiver.posts] == ["execute"]
    assert world.receiver.posts[0]["action"]["target"] == step.action.target
    assert post(client, f"/cases/{world.in_case}/actions/{action.id}/rollback").status_code == 303
    rolled = store_of(world).action(action.id)
    assert rolled.status == "rolled_back" and rolled.rolled_back_by == "analyst"
    assert [p["op"] for p in world.receiver.posts] == ["execute", "rollback"]
    kinds = [e.kind for e in store_of(world).audit.entries(world.in_case) if e.kind.startswith("action.")]
    assert kinds.count("action.approve") == 1 and "action.rollback" in kinds
    assert store_of(world).verify().ok


def _admin_principal() -> Principal:
    return Principal("web", "admin", "admin")


# -- the case page ---------------------------------------------------------------------------------------


def test_case_page_timeline_scope_entries_and_reports(world: World, demo_world: DemoWorld) -> None:
    client = world.client
    sign_in(client, "analyst")
    assert post(client, f"/cases/{world.in_case}/scope").status_code == 303
    assert (
        post(
            client, f"/cases/{world.in_case}/entries", {"kind": "judgment", "text": "<i>real</i> breach"}
        ).status_code
        == 303
    )
    case = store_of(world).get(world.in_case)
    (entry,) = case.entries
    assert (entry.kind, entry.actor, entry.text) == ("judgment", "analyst", "<i>real</i> breach")
    assert case.judged == entry.time
    page = client.get(f"/cases/{world.in_case}").text
    assert "&lt;i&gt;real&lt;/i&gt; breach" in page and "<i>real</i>" not in page
    scope = stored_scope(case)
    assert scope is not None
    for s in (*scope.hosts, *scope.accounts, *scope.data_stores):
        if s.org == SCOPE:  # the user's own organisation's hops, each with how it was reached
            assert str(escape(s.via)) in page
        else:  # another organisation's hop (or one no organisation claims): only that it is there
            assert str(escape(s.via)) not in page
    for alert in case.alerts:
        assert f'href="/alerts/{alert.alert_id}"' in page
    link = _an_evidence_link(client, world, True)
    assert link is not None and link.replace("&", "&amp;") in page
    raw = client.get(link)
    assert raw.status_code == 200
    query = parse_qs(urlsplit(link).query)
    path, record = query["path"][0], int(query["record"][0])
    quoted = path.replace("'", "''")
    stored = Store(demo_world.store).sql(
        f"SELECT raw FROM events WHERE source_file = '{quoted}' AND record_id = {record}"
    )
    (original,) = stored.column("raw").to_pylist()
    assert original and str(escape(original)) in raw.text
    # a file and record the scope does not name is refused, even inside the case
    assert client.get(f"/cases/{world.in_case}/evidence?path=/etc/passwd&record=1").status_code == 404
    assert "Reports due" in page
    japanese = client.get(f"/cases/{world.in_case}?lang=ja").text
    assert "影響範囲(ホップごと)" in japanese and "Scope, hop by hop" not in japanese
