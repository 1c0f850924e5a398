"""Last use and MFA of each grant, from a tiny real store: seven Entra sign-in records (data/README.md)
ingested by the entra reader. Every expectation is read by hand from those lines:

1. aragorn@lotr.com, tenant tenant-123, app Microsoft Authentication Broker, time 09:30:45.123, no MFA info
2. boromir@lotr.com, tenant-123, errorCode 50053 (a failed sign-in: not a use)
3. gandalf@lotr.com, tenant-123, app Custom Graph App, createdDateTime 09:35:20.4567890Z, no MFA info
4. eve@lexcorp.com, home tenant 4328f0a8…, resource tenant fc66a38e…, Office 365 Exchange Online,
   createdDateTime 2023-07-21 05:03:52.1605624, "MFA requirement satisfied by claim in the token"
5. homer.simpson@springfield.org, same tenants, app, time and MFA as line 4
6. aragorn@lotr.com, tenant-123, no app, createdDateTime 09:35:45.7890123Z, no MFA info
7. gandalf@lotr.com, tenant-123, Legacy Application, 09:30:25.1234567Z, singleFactorAuthentication with a
   password only (no second factor)
(all 2025-01-15 UTC but 4 and 5; times to the microsecond, as the store keeps them)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sekimori.govern import GrantRecord, GrantUsage, grant_usage
from sekimori.store import Store
from tests.govern.conftest import DATA

TENANT = "tenant-123"
EVE_RESOURCE = "fc66a38e-bcba-4fe9-b2de-c67918514cc5"
EVE_HOME = "4328f0a8-06da-4457-b0d0-2c8e115e52cc"


def grant(grant_id: str, subject_kind: str, subject: str, object_kind: str, obj: str) -> GrantRecord:
    return GrantRecord.model_validate(
        {
            "id": grant_id,
            "party": "ctr",
            "subject_kind": subject_kind,
            "subject": subject,
            "object_kind": object_kind,
            "object": obj,
            "access": "application",
            "justification": "test",
            "owner": "hanako",
            "created": date(2023, 1, 1),
        }
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(tmp_path_factory.mktemp("usage") / "store")
    report = st.ingest([str(DATA / "entra-signins.jsonl")])
    assert [(f.events, f.quarantined) for f in report.files] == [(7, 0)]
    return st


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_last_use_and_mfa_per_grant(store: Store):
    grants = [
        grant("G-AR", "account", "aragorn@lotr.com", "system", TENANT),
        grant("G-GA-APP", "account", "gandalf@lotr.com", "application", "custom graph app"),
        grant("G-GA", "account", "LOTR.COM\\gandalf", "system", TENANT),
        grant("G-EVE", "idp_guest", "eve@lexcorp.com", "system", EVE_RESOURCE),
        grant("G-ORG", "organisation", EVE_HOME, "application", "Office 365 Exchange Online"),
        grant("G-BOR", "account", "boromir", "system", TENANT),
        grant("G-OTHER", "account", "aragorn@other.example", "system", TENANT),
        grant("G-GRP", "group", "ctr-admins", "system", TENANT),
    ]
    usage = grant_usage(grants, store)
    eve_time = at(2023, 7, 21, 5, 3, 52, 160562)
    assert usage == {
        # lines 1 and 6; neither says whether MFA was used
        "G-AR": GrantUsage("G-AR", True, 2, at(2025, 1, 15, 9, 35, 45, 789012), 0, 0, None),
        # line 3 only (line 7 is another application)
        "G-GA-APP": GrantUsage("G-GA-APP", True, 1, at(2025, 1, 15, 9, 35, 20, 456789), 0, 0, None),
        # lines 3 and 7; line 7 without a second factor
        "G-GA": GrantUsage("G-GA", True, 2, at(2025, 1, 15, 9, 35, 20, 456789), 0, 1, None),
        # line 4
        "G-EVE": GrantUsage("G-EVE", True, 1, eve_time, 1, 0, eve_time),
        # lines 4 and 5: both accounts of the home tenant
        "G-ORG": GrantUsage("G-ORG", True, 2, eve_time, 2, 0, eve_time),
        # line 2 failed: no use
        "G-BOR": GrantUsage("G-BOR", True),
        # the domain must match
        "G-OTHER": GrantUsage("G-OTHER", True),
        # a group's members are not in the events
        "G-GRP": GrantUsage("G-GRP", False),
    }
    assert [usage[g].mfa_used for g in ("G-AR", "G-GA", "G-EVE", "G-ORG", "G-BOR")] == [
        None,
        False,
        True,
        True,
        None,
    ]
    assert usage["G-AR"].mfa_unknown == 2 and usage["G-GA"].mfa_unknown == 1


def test_an_empty_store_gives_no_use(tmp_path: Path):
    usage = grant_usage([grant("G-AR", "account", "aragorn@lotr.com", "system", TENANT)], Store(tmp_path))
    assert usage == {"G-AR": GrantUsage("G-AR", True)}


def test_the_usage_is_one_query_not_a_loop_per_grant(store: Store, monkeypatch: pytest.MonkeyPatch):
    import duckdb

    calls: list[str] = []
    original = duckdb.DuckDBPyConnection.sql

    def counting(self: duckdb.DuckDBPyConnection, query: str, *args: object, **kwargs: object) -> object:
        calls.append(query)
        return original(self, query, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb.DuckDBPyConnection, "sql", counting)
    grants = [grant(f"G-{i}", "account", f"user{i}@lotr.com", "system", TENANT) for i in range(200)]
    usage = grant_usage(grants, store)
    assert len(usage) == 200 and all(u.uses == 0 for u in usage.values())
    assert sum("grant_keys" in q for q in calls) == 1
