"""The contractors pages on the demo's register (imported into the web test database, see
contractors_fixtures): who may see and do what, per role and organisation; that the pages show what the
govern stage's own functions return (computed here, not through the web code); decisions through the
inbox recorded, attributed and in the audit chain; refusals; CSRF; escaping."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from sekimori.demo import DEMO_GOVERN_AS_OF
from sekimori.govern import (
    UNUSED_DAYS,
    Finding,
    Posture,
    Register,
    findings,
    grant_usage,
    group_posture,
    merge_register,
    review_status,
    start_review,
)
from sekimori.model import load_model
from sekimori.respond import person_key
from sekimori.store import Store
from sekimori.web import ROLES
from tests.web.conftest import SCOPE, SETUP, DemoWorld, csrf_of, sign_in
from tests.web.contractors_fixtures import (
    DEADLINE,
    HOSTILE_NAME,
    HOSTILE_NOTES,
    LEAD,
    OUT_OF_SCOPE,
    REVIEW,
    REVIEWER,
    SELF,
    add_user,
    contractors_client,
    database_url,
)

SEES_ALL = {"admin", "auditor"}
DAY = DEMO_GOVERN_AS_OF.isoformat()
IN_GRANT, OUT_GRANT = "g-contractor-support", "g-affiliate-ops"  # of SCOPE, of OUT_OF_SCOPE


@pytest.fixture(scope="module")
def ctr(demo_world: DemoWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One world for the read-only tests (nothing below decides in it but refusals)."""
    path = tmp_path_factory.mktemp("contractors") / "web.db"
    with contractors_client(demo_world, path) as client:
        yield client


@pytest.fixture
def fresh(demo_world: DemoWorld, tmp_path: Path) -> Iterator[TestClient]:
    """A world of its own for a test that records decisions."""
    with contractors_client(demo_world, tmp_path / "web.db") as client:
        yield client


def url_of(client: TestClient) -> str:
    """The case database the client's app reads (where the fixture imported the register)."""
    return str(client.app.state.web.settings.database_url)  # type: ignore[attr-defined]


def _hidden(url: str) -> list[str]:
    """What a reader scoped to SCOPE must never receive: the out-of-scope party's id, and the ids of its
    contracts and grants (read from the register, not from the pages)."""
    with Register(url) as register:
        contracts = [c.id for c in register.contracts() if c.party == OUT_OF_SCOPE]
        grants = [g.id for g in register.grants() if g.party == OUT_OF_SCOPE]
    assert contracts and grants
    return [OUT_OF_SCOPE, *contracts, *grants]


def _oracle(world: DemoWorld, url: str, day: date = DEMO_GOVERN_AS_OF) -> tuple[list[Finding], Posture]:
    """The govern stage's findings and posture on the demo day, as the command line computes them."""
    assert world.settings.model is not None
    model = load_model(world.settings.model)
    with Register(url) as register:
        merged = merge_register(model, register).model
        found = findings(register, merged, Store(world.store), as_of=day)
    orgs = [o.id for o in merged.organisations if o.kind != "parent"]
    return found, group_posture(found, day, orgs)


# -- authorization ----------------------------------------------------------------------------------


def _reads() -> list[tuple[str, str, dict[str, int]]]:
    """(name, path, expected status by role; '*' for the others)."""
    return [
        ("parties", "/contractors", {"*": 200}),
        ("party in scope", f"/contractors/party/{SCOPE}", {"*": 200}),
        (
            "party out of scope",
            f"/contractors/party/{OUT_OF_SCOPE}",
            {"admin": 200, "auditor": 200, "*": 404},
        ),
        ("unknown party", "/contractors/party/no-such-party", {"*": 404}),
        ("grants", "/contractors/grants", {"*": 200}),
        ("grants in scope", f"/contractors/grants?party={SCOPE}", {"*": 200}),
        ("grants out of scope", f"/contractors/grants?party={OUT_OF_SCOPE}&expired=1&unused=1", {"*": 200}),
        ("findings", f"/contractors/findings?as_of={DAY}", {"*": 200}),
        ("findings out of scope", f"/contractors/findings?org={OUT_OF_SCOPE}", {"*": 200}),
        ("posture", f"/contractors/posture?as_of={DAY}", {"*": 200}),
        ("reviews", "/contractors/reviews", {"*": 200}),
        ("review", f"/contractors/reviews/{REVIEW}", {"*": 200}),
        ("unknown review", "/contractors/reviews/no-such-review", {"*": 404}),
        ("inbox", "/contractors/inbox", {"*": 200}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(ctr: TestClient, role: str) -> None:
    hidden = _hidden(url_of(ctr))
    sign_in(ctr, role)
    for name, path, expected in _reads():
        response = ctr.get(path)
        assert response.status_code == expected.get(role, expected["*"]), (role, name, response.status_code)
        if role not in SEES_ALL:
            for secret in hidden:
                assert secret not in response.text, (role, name, secret)
    parties = ctr.get("/contractors").text
    assert f'data-party="{SCOPE}"' in parties  # in scope: there for everyone
    assert (f'data-party="{OUT_OF_SCOPE}"' in parties) == (role in SEES_ALL)
    grants = ctr.get("/contractors/grants").text
    assert f'data-grant="{IN_GRANT}"' in grants
    assert (f'data-grant="{OUT_GRANT}"' in grants) == (role in SEES_ALL)


@pytest.mark.parametrize("role", ROLES)
def test_decisions_by_role(ctr: TestClient, role: str) -> None:
    """No role's user owns a grant: decide() refuses each of them on an item in scope (403, its own
    words); an item out of scope is not found for a scoped reader; nothing is decided."""
    hidden = _hidden(url_of(ctr))
    sign_in(ctr, role)
    csrf = csrf_of(ctr.get("/contractors/inbox").text)
    form = {"csrf": csrf, "review": REVIEW, "decision": "certify", "reason": "looks fine"}
    inside = ctr.post("/contractors/inbox", data={**form, "grant": IN_GRANT})
    assert inside.status_code == 403
    # an auditor only reads: refused by the gate before the stage is asked
    refusal = "may not see this page" if role == "auditor" else "neither the owner"
    assert refusal in html.unescape(inside.text)
    outside = ctr.post("/contractors/inbox", data={**form, "grant": OUT_GRANT})
    assert outside.status_code == (403 if role in SEES_ALL else 404)
    if role not in SEES_ALL:
        for secret in hidden:
            assert secret not in inside.text and secret not in outside.text, (role, secret)
    with Register(url_of(ctr)) as register:
        assert review_status(register, REVIEW).decided == 0


def test_signed_out_is_sent_to_sign_in(ctr: TestClient) -> None:
    ctr.cookies.clear()
    for _name, path, _ in _reads():
        response = ctr.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin?next=")
    response = ctr.post("/contractors/inbox", data={"review": REVIEW, "grant": IN_GRANT})
    assert response.status_code == 303


# -- what the pages show ----------------------------------------------------------------------------

FINDING_ROW = re.compile(
    r'<tr class="severity-(\w+)" data-kind="(\w+)" data-org="([\w.-]+)">(.*?)</tr>', re.S
)


def _finding_rows(text: str) -> list[tuple[str, str, str, str]]:
    return [(s, k, o, html.unescape(body)) for s, k, o, body in FINDING_ROW.findall(text)]


def test_findings_page_shows_the_govern_findings(ctr: TestClient, demo_world: DemoWorld) -> None:
    found, _ = _oracle(demo_world, url_of(ctr))
    sign_in(ctr, "admin")
    rows = _finding_rows(ctr.get(f"/contractors/findings?as_of={DAY}").text)
    assert sorted((s, k, o) for s, k, o, _ in rows) == sorted(
        (str(f.severity), str(f.kind), f.organisation) for f in found
    )
    # The seed case, by hand: affiliate-kr without an entrustment contract, sharing authentication and
    # with a flow into the parent, each exposing 519,506 people; blocking the flow protects them all.
    affiliate = [r for r in rows if r[2] == "affiliate-kr"]
    kinds = {k for _, k, _, _ in affiliate}
    assert {"no_entrustment_contract", "shared_authentication", "flow_into_parent"} <= kinds
    assert kinds == {str(f.kind) for f in found if f.organisation == "affiliate-kr"}
    assert all("519,506" in body for *_, body in affiliate)
    assert {f.people for f in found if f.organisation == "affiliate-kr"} == {519_506}
    flow = next(f for f in found if str(f.kind) == "flow_into_parent")
    flow_row = next(body for _, k, _, body in affiliate if k == "flow_into_parent")
    protected = re.search(r'class="num protected">([\d,]+)<', flow_row)
    assert protected and protected.group(1) == f"{flow.evidence['people_protected']:,}" == "519,506"
    japanese = html.unescape(ctr.get(f"/contractors/findings?as_of={DAY}&lang=ja").text)
    assert all(f.text["ja"] in japanese for f in found) and "影響を受ける本人数" in japanese
    ctr.cookies.delete("sekimori_lang")
    filtered = _finding_rows(ctr.get(f"/contractors/findings?as_of={DAY}&org=contractor-kr").text)
    assert {o for _, _, o, _ in filtered} == {"contractor-kr"}
    assert len(filtered) == sum(1 for f in found if f.organisation == "contractor-kr")


def test_scoped_findings_are_theirs_only(ctr: TestClient, demo_world: DemoWorld) -> None:
    found, _ = _oracle(demo_world, url_of(ctr))
    sign_in(ctr, "analyst")
    rows = _finding_rows(ctr.get(f"/contractors/findings?as_of={DAY}").text)
    assert sorted(k for _, k, _, _ in rows) == sorted(str(f.kind) for f in found if f.organisation == SCOPE)
    # The re-entrustment finding names the party out of scope: withheld, the finding still shown.
    reentrusted = next(body for _, k, _, body in rows if k == "reentrustment_not_approved")
    assert "(another organisation)" in reentrusted and OUT_OF_SCOPE not in reentrusted


def test_posture_page_shows_score_and_parts(ctr: TestClient, demo_world: DemoWorld) -> None:
    _, posture = _oracle(demo_world, url_of(ctr))
    sign_in(ctr, "auditor")
    text = ctr.get(f"/contractors/posture?as_of={DAY}").text
    sections = re.findall(r'<section class="posture" data-org="([\w.-]+)">(.*?)</section>', text, re.S)
    shown = {org: body for org, body in sections}
    for org in [posture.group, *posture.organisations]:
        body = shown[org.organisation]
        assert f'<span class="score">{org.score}</span>' in body
        parts = dict(re.findall(r'data-kind="(\w+)">.*?class="num points">−(\d+)', body, re.S))
        assert parts == {p.kind: str(p.points) for p in org.parts}
    assert posture.group.score == 100 - sum(p.points for p in posture.group.parts)
    sign_in(ctr, "viewer")  # scoped: its organisation only, no group score
    scoped = re.findall(
        r'<section class="posture" data-org="([\w.-]+)">', ctr.get("/contractors/posture").text
    )
    assert scoped == [SCOPE]


def test_parties_page_counts(ctr: TestClient, demo_world: DemoWorld) -> None:
    found, _ = _oracle(demo_world, url_of(ctr))
    with Register(url_of(ctr)) as register:
        parties, contracts, grants = register.parties(), register.contracts(), register.grants()
    sign_in(ctr, "admin")
    text = ctr.get(f"/contractors?as_of={DAY}").text
    rows = dict(re.findall(r'<tr data-party="([\w.-]+)">(.*?)</tr>', text, re.S))
    assert set(rows) == {p.id for p in parties}
    day = DEMO_GOVERN_AS_OF
    for party in parties:
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[party.id])
        ]
        in_force = sum(
            1
            for c in contracts
            if c.party == party.id and str(c.status) == "active" and c.start <= day and (c.end or day) >= day
        )
        mine = [g for g in grants if g.party == party.id]
        live = sum(1 for g in mine if g.created <= day and (g.expires is None or g.expires >= day))
        expected = [
            party.id,
            party.name,
            str(party.kind),
            party.country,
            str(party.risk_tier),
            str(in_force),
            str(len(mine)),
            str(live),
            str(sum(1 for f in found if f.organisation == party.id)),
        ]
        assert cells == expected, party.id
    assert rows["affiliate-kr"].count("<td") == 9


def test_party_page_shows_grants_use_and_mfa(ctr: TestClient, demo_world: DemoWorld) -> None:
    with Register(url_of(ctr)) as register:
        grants = [g for g in register.grants() if g.party == "affiliate-kr"]
    usage = grant_usage(grants, Store(demo_world.store))
    mail = usage["g-affiliate-mail"]
    assert mail.uses == 1 and mail.mfa_used is True and mail.last_used is not None
    sign_in(ctr, "admin")
    text = ctr.get("/contractors/party/affiliate-kr").text
    rows = dict(re.findall(r'<tr data-grant="([\w.-]+)">(.*?)</tr>', text, re.S))
    assert set(rows) == {g.id for g in grants}
    assert f'<td class="last-used">{mail.last_used:%Y-%m-%d %H:%M}</td>' in rows["g-affiliate-mail"]
    assert '<td class="mfa">always</td>' in rows["g-affiliate-mail"]
    for grant in grants:  # a group's use is not known from the events
        if not usage[grant.id].known:
            assert '<td class="mfa">unknown</td>' in rows[grant.id]
    assert re.findall(r'<tr data-contract="([\w.-]+)">', text) == ["c-infra-ops", "c-desktop-support"]
    assert "Supervision records" in text


def test_grant_filters(ctr: TestClient, demo_world: DemoWorld) -> None:
    today = datetime.now(UTC).date()
    with Register(url_of(ctr)) as register:
        grants = register.grants()
    usage = grant_usage(grants, Store(demo_world.store))
    expired = {g.id for g in grants if g.expires is not None and g.expires < today}
    cutoff = today - timedelta(days=UNUSED_DAYS)
    last = {g: u.last_used.date() for g, u in usage.items() if u.last_used is not None}
    unused = {g.id for g in grants if usage[g.id].known and (usage[g.id].uses == 0 or last[g.id] < cutoff)}
    assert expired == {"g-contractor-support"} and unused == {"g-contractor-support", "g-affiliate-mail"}
    sign_in(ctr, "admin")

    def listed(query: str) -> set[str]:
        return set(re.findall(r'<tr data-grant="([\w.-]+)">', ctr.get(f"/contractors/grants?{query}").text))

    assert listed("") == {g.id for g in grants}
    assert listed("expired=1") == expired
    assert listed("unused=1") == unused
    assert listed("party=affiliate-kr") == {g.id for g in grants if g.party == "affiliate-kr"}
    assert listed("party=affiliate-kr&unused=1") == {"g-affiliate-mail"}
    sign_in(ctr, "viewer")
    assert listed("") == {g.id for g in grants if g.party == SCOPE}


def test_review_status_page(ctr: TestClient) -> None:
    with Register(url_of(ctr)) as register:
        status = review_status(register, REVIEW)
    assert status.deadline == DEADLINE and status.overdue
    sign_in(ctr, "admin")
    text = ctr.get(f"/contractors/reviews/{REVIEW}").text
    assert f'<dd id="completion">0% (0/{status.total})</dd>' in text
    assert f'<dd id="overdue">{sum(1 for i in status.items if i.overdue)}</dd>' in text
    sign_in(ctr, "viewer")  # scoped: the counts of its organisation's items
    mine = [i for i in status.items if i.frozen["party"] == SCOPE]
    assert f'<dd id="completion">0% (0/{len(mine)})</dd>' in ctr.get(f"/contractors/reviews/{REVIEW}").text


# -- decisions --------------------------------------------------------------------------------------


def _decide(client: TestClient, grant: str, decision: str, reason: str, **extra: str) -> httpx.Response:
    csrf = csrf_of(client.get("/contractors/inbox").text)
    data = {"csrf": csrf, "review": REVIEW, "grant": grant, "decision": decision, "reason": reason, **extra}
    response: httpx.Response = client.post("/contractors/inbox", data=data)
    return response


def test_certify_and_revoke_through_the_inbox(fresh: TestClient) -> None:
    url = url_of(fresh)
    with Register(url) as register:
        before = review_status(register, REVIEW)
        entries_before = register.verify().entries
    owned = {i.grant for i in before.items if person_key(i.owner) == person_key(REVIEWER)}
    assert owned == {"g-affiliate-ops", "g-affiliate-portal"}
    sign_in(fresh, REVIEWER)
    inbox = fresh.get("/contractors/inbox").text
    assert (
        set(
            re.findall(
                r'class="stack decide" data-grant="([\w.-]+)"',
                inbox,
            )
        )
        == owned
    )
    certified = _decide(fresh, "g-affiliate-ops", "certify", "still operates the messaging back office")
    assert certified.status_code == 200 and 'id="recorded"' in certified.text
    revoked = _decide(fresh, "g-affiliate-portal", "revoke", "the portal moved to the parent's own staff")
    assert revoked.status_code == 200
    assert "Nothing waits for your decision." in fresh.get("/contractors/inbox").text
    with Register(url) as register:
        after = review_status(register, REVIEW)
        report = register.verify()
        decided = [e for e in report.chain if e.kind == "review.decide"]
    items = {i.grant: i for i in after.items}
    assert items["g-affiliate-ops"].decision == "certify"
    assert items["g-affiliate-portal"].decision == "revoke"
    assert items["g-affiliate-portal"].revoke_status == "pending"
    assert {items[g].decided_by for g in owned} == {REVIEWER}  # the signed-in principal
    assert after.decided == 2
    assert report.ok, report.problems
    assert all(e.seq > entries_before for e in decided)  # sign-ins are entries too: count decisions
    assert [e.payload["grant"] for e in decided] == ["g-affiliate-ops", "g-affiliate-portal"]
    assert {e.actor for e in decided} == {REVIEWER}
    sign_in(fresh, "admin")  # the status page counts them
    page = fresh.get(f"/contractors/reviews/{REVIEW}").text
    assert f'<dd id="completion">{round(100 * after.completion)}% (2/{after.total})</dd>' in page


def test_a_decision_by_someone_not_the_owner_is_refused(fresh: TestClient) -> None:
    sign_in(fresh, LEAD)  # owns g-contractor-support, not g-affiliate-ops (which is also out of scope)
    own = _decide(fresh, "g-contractor-support", "revoke", "contract ended")
    assert own.status_code == 200  # their own: recorded
    sign_in(fresh, REVIEWER)  # in scope of affiliate-kr, but g-affiliate-pcs is LEAD's
    response = _decide(fresh, "g-affiliate-pcs", "certify", "I think it is fine")
    assert response.status_code == 403
    text = html.unescape(response.text)
    assert 'id="refused"' in text and "is neither the owner of grant 'g-affiliate-pcs'" in text
    with Register(url_of(fresh)) as register:
        items = {i.grant: i for i in review_status(register, REVIEW).items}
    assert items["g-affiliate-pcs"].decision is None
    assert items["g-contractor-support"].decided_by == LEAD


def test_the_inbox_is_cut_to_the_readers_organisations(fresh: TestClient) -> None:
    sign_in(fresh, LEAD)  # owns a grant of contractor-kr and one of affiliate-kr; assigned contractor-kr
    inbox = fresh.get("/contractors/inbox").text
    assert 'data-grant="g-contractor-support"' in inbox and "g-affiliate-pcs" not in inbox
    assert _decide(fresh, "g-affiliate-pcs", "certify", "mine").status_code == 404
    with Register(url_of(fresh)) as register:
        assert review_status(register, REVIEW).decided == 0


def test_a_bad_decision_is_refused_with_the_stages_words(fresh: TestClient) -> None:
    sign_in(fresh, REVIEWER)
    empty = _decide(fresh, "g-affiliate-ops", "certify", "   ")
    assert empty.status_code == 400 and "a decision needs a reason" in empty.text
    malformed = _decide(fresh, "g-affiliate-ops", "change", "shorter", change="expires")
    assert malformed.status_code == 400
    changed = _decide(fresh, "g-affiliate-ops", "change", "shorter", change="expires=2024-03-31")
    assert changed.status_code == 200
    again = _decide(fresh, "g-affiliate-ops", "certify", "twice")
    assert again.status_code == 400 and "was decided already" in again.text
    with Register(url_of(fresh)) as register:
        item = next(i for i in review_status(register, REVIEW).items if i.grant == "g-affiliate-ops")
    assert item.decision == "change" and item.change == {"expires": "2024-03-31"}


def test_decisions_need_the_sessions_csrf_token(fresh: TestClient) -> None:
    sign_in(fresh, REVIEWER)
    other = TestClient(fresh.app)
    foreign = csrf_of(other.get("/signin").text)
    form = {"review": REVIEW, "grant": "g-affiliate-ops", "decision": "certify", "reason": "ok"}
    for extra in ({}, {"csrf": "wrong"}, {"csrf": foreign}):
        assert fresh.post("/contractors/inbox", data={**form, **extra}).status_code == 403
    with Register(url_of(fresh)) as register:
        assert review_status(register, REVIEW).decided == 0


def test_the_subject_of_a_grant_cannot_certify_it(demo_world: DemoWorld, tmp_path: Path) -> None:
    with contractors_client(demo_world, tmp_path / "web.db", hostile=True) as client:
        sign_in(client, SELF)  # owner of g-self, and its subject
        assert 'data-grant="g-self"' in client.get("/contractors/inbox").text
        response = _decide(client, "g-self", "certify", "I need it")
        assert response.status_code == 400
        assert "nobody reviews their own access" in response.text
        with Register(database_url(tmp_path / "web.db")) as register:
            assert review_status(register, REVIEW).decided == 0


def test_hostile_party_names_are_escaped(demo_world: DemoWorld, tmp_path: Path) -> None:
    with contractors_client(demo_world, tmp_path / "web.db", hostile=True) as client:
        sign_in(client, "admin")
        for path in (
            "/contractors",
            "/contractors/party/hostile-co",
            "/contractors/grants",
            f"/contractors/reviews/{REVIEW}",
        ):
            text = client.get(path).text
            assert HOSTILE_NAME not in text and "<img" not in text and "<i>support" not in text, path
            assert "<2023>" not in text
            assert "<script" not in text.lower() and "style=" not in text  # CSP: nothing inline
        party = client.get("/contractors/party/hostile-co").text
        assert str(escape(HOSTILE_NAME)) in party and str(escape(HOSTILE_NOTES)) in party
        sign_in(client, SELF)  # the review's title in the inbox
        assert "Contractors&#39; grants &lt;2023&gt;" in client.get("/contractors/inbox").text


def test_findings_are_worked_out_once_per_change_of_the_register(
    fresh: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group's findings are kept while the register (its audit chain) and the store stay as they are:
    two pages, one computation; a decision changes the register, and the next page judges again."""
    from sekimori.web import contractors_data

    calls: list[date] = []
    real = contractors_data.findings

    def counted(*args: object, **kwargs: object) -> list[Finding]:
        calls.append(kwargs["as_of"])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(contractors_data, "findings", counted)
    sign_in(fresh, REVIEWER)
    first = fresh.get(f"/contractors/findings?as_of={DEMO_GOVERN_AS_OF}").text
    second = fresh.get(f"/contractors/findings?as_of={DEMO_GOVERN_AS_OF}").text
    assert first == second and len(calls) == 1
    sign_in(fresh, REVIEWER)  # a sign-in is an audit entry, but not one the findings depend on
    fresh.get(f"/contractors/findings?as_of={DEMO_GOVERN_AS_OF}")
    assert len(calls) == 1
    assert _decide(fresh, "g-affiliate-ops", "certify", "still needed").status_code == 200
    fresh.get(f"/contractors/findings?as_of={DEMO_GOVERN_AS_OF}")
    assert len(calls) == 2
    fresh.get(f"/contractors/findings?as_of={DEMO_GOVERN_AS_OF + timedelta(days=1)}")  # another day
    assert calls == [DEMO_GOVERN_AS_OF, DEMO_GOVERN_AS_OF, DEMO_GOVERN_AS_OF + timedelta(days=1)]


def test_a_delegate_named_at_the_start_decides_from_their_inbox(fresh: TestClient) -> None:
    """The lead delegates their items in a second campaign to a deputy of the same organisation: the
    deputy's inbox lists the lead's in-scope item of that campaign only (not the first campaign's, where
    no delegate was named, nor the lead's item of another organisation), the decision is the deputy's,
    and someone neither owner nor delegate still does not see it."""
    url = url_of(fresh)
    with Register(url) as register:
        start_review(
            register,
            "delegated",
            "Delegated",
            DEADLINE,
            SETUP,
            delegates={LEAD: ["deputy"]},
            today=DEMO_GOVERN_AS_OF,
        )
        lead_items = {i.grant for i in review_status(register, "delegated").items if i.owner == LEAD}
    assert lead_items == {IN_GRANT, "g-affiliate-pcs"}  # one in SCOPE, one of OUT_OF_SCOPE
    add_user(fresh, "deputy", {"viewer"}, {SCOPE})
    sign_in(fresh, "deputy")
    inbox = fresh.get("/contractors/inbox").text
    listed = re.findall(r'data-review="([\w.-]+)" data-grant="([\w.-]+)"', inbox)
    assert listed == [("delegated", IN_GRANT)]
    csrf = csrf_of(inbox)
    data = {
        "csrf": csrf,
        "review": "delegated",
        "grant": IN_GRANT,
        "decision": "certify",
        "reason": "still needed",
    }
    assert fresh.post("/contractors/inbox", data=data).status_code == 200
    refused = {**data, "review": REVIEW, "reason": "not mine in this campaign"}
    assert fresh.post("/contractors/inbox", data=refused).status_code == 403
    with Register(url) as register:
        items = {i.grant: i for i in review_status(register, "delegated").items}
        first = {i.grant: i for i in review_status(register, REVIEW).items}
    assert items[IN_GRANT].decision == "certify" and items[IN_GRANT].decided_by == "deputy"
    assert first[IN_GRANT].decision is None
    sign_in(fresh, REVIEWER)  # neither the lead nor their delegate: their own items only
    theirs = re.findall(
        r'data-review="([\w.-]+)" data-grant="([\w.-]+)"', fresh.get("/contractors/inbox").text
    )
    assert ("delegated", "g-affiliate-ops") in theirs
    assert not {g for _, g in theirs} & lead_items
