"""The contractors pages' world: the web test database (a fresh case database over the demo store) with
the demo's register imported (sekimori/demo/data/register.yaml, as the demo's governance part does), an
access review started on the demo's day, the users of every role (scoped to contractor-kr, as in
conftest) and the grants' owners as users:

* REVIEWER owns g-affiliate-ops and g-affiliate-portal (party affiliate-kr) and is assigned to it;
* LEAD owns g-contractor-support (contractor-kr) and g-affiliate-pcs (affiliate-kr) but is assigned to
  contractor-kr only: their inbox holds the first and not the second.

``hostile``: a party with a hostile name and notes, and a grant whose subject is its own owner (SELF)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from sekimori.demo import DEMO_GOVERN_AS_OF, demo_register_path
from sekimori.govern import (
    AccessKind,
    GrantRecord,
    ObjectKind,
    PartyKind,
    PartyRecord,
    Register,
    RiskTier,
    SubjectKind,
    located,
    read_register,
    start_review,
)
from sekimori.web import WebSettings, create_app
from tests.web.conftest import PASSWORD, SCOPE, SETUP, DemoWorld, make_users

REVIEW = "web-review"
DEADLINE = DEMO_GOVERN_AS_OF + timedelta(days=14)
REVIEWER = "Parent Corp infrastructure manager"
REVIEWER_ORG = "affiliate-kr"
LEAD = "Affiliate Korea IT operations lead"
SELF = "selfie"
OUT_OF_SCOPE = "affiliate-kr"  # out of SCOPE (contractor-kr), the conftest users' organisation
HOSTILE_NAME = "<script>alert('party')</script>"
HOSTILE_NOTES = "<img src=x onerror=alert(1)> & <b>bold</b>"


def database_url(path: Path) -> str:
    return f"sqlite:///{path}"


def hostile_records() -> list[PartyRecord | GrantRecord]:
    party = PartyRecord(
        id="hostile-co",
        name=HOSTILE_NAME,
        kind=PartyKind.contractor,
        country="JP",
        risk_tier=RiskTier.high,
        notes=HOSTILE_NOTES,
    )
    grant = GrantRecord(
        id="g-self",
        party="hostile-co",
        subject_kind=SubjectKind.account,
        subject=f"{SELF}@example.jp",
        object_kind=ObjectKind.system,
        object="aff-ops",
        access=AccessKind.remote_interactive,
        justification="<i>support</i>",
        owner=SELF,
        created=date(2020, 1, 1),
    )
    return [party, grant]


def prepare(url: str, hostile: bool = False) -> None:
    """The demo's register imported into ``url`` and the review started on the demo's day."""
    with Register(url) as register:
        register.import_records(read_register(demo_register_path()), SETUP, source="register.yaml")
        if hostile:
            records = hostile_records()
            data = {
                "parties": located([r for r in records if isinstance(r, PartyRecord)]),
                "grants": located([r for r in records if isinstance(r, GrantRecord)]),
            }
            register.import_records(data, SETUP, source="hostile")
        start_review(register, REVIEW, "Contractors' grants <2023>", DEADLINE, SETUP, today=DEMO_GOVERN_AS_OF)


def add_user(client: TestClient, login: str, roles: set[str], orgs: set[str]) -> None:
    accounts = client.app.state.web.accounts  # type: ignore[attr-defined]
    accounts.create_user(SETUP, login, roles, orgs, password=PASSWORD)
    account = accounts.authenticate(login, PASSWORD)
    accounts.set_password(account.principal, account, PASSWORD, PASSWORD + "!")


def add_users(client: TestClient, hostile: bool = False) -> None:
    make_users(client, {SCOPE})
    add_user(client, REVIEWER, {"viewer"}, {REVIEWER_ORG})
    add_user(client, LEAD, {"analyst"}, {SCOPE})
    if hostile:
        add_user(client, SELF, {"viewer"}, {"hostile-co"})


def contractors_app(world: DemoWorld, path: Path, hostile: bool = False) -> Starlette:
    """The app over the demo store and a fresh database at ``path`` prepared as the module says."""
    url = database_url(path)
    prepare(url, hostile)
    return create_app(WebSettings(store=world.store, database=url, model=world.settings.model))


@contextmanager
def contractors_client(world: DemoWorld, path: Path, hostile: bool = False) -> Iterator[TestClient]:
    with TestClient(contractors_app(world, path, hostile), follow_redirects=False) as client:
        add_users(client, hostile)
        yield client
