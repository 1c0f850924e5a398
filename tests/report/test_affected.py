"""Affected people, from a real pgAudit log of a real PostgreSQL server: an attacker role reads synthetic
people, sekimori ingests the log, counts them from the model, and replays the reads to list them."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sekimori.model import GroupModel
from sekimori.report.affected import ReadStatement, affected_from_store, count_affected, statements_from_store
from sekimori.report.read_only import RefusedStatement, check_read_only
from sekimori.report.replay import replay_reads
from sekimori.respond.scope import Scope, Scoped
from sekimori.store import Store

SURNAMES = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi"]
GIVEN = ["Haruto", "Yui", "Sota", "Hina", "Minato", "Mei", "Riku", "Aoi", "Yuto", "Sakura", "Kaito"]
KEYS = {"users": "user_id", "newsletter": "user_id", "messages": "user_id", "partner_contacts": "contact_id"}

SETUP = [
    "CREATE TABLE users (user_id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)",
    "CREATE TABLE newsletter (user_id int PRIMARY KEY REFERENCES users, subscribed_at date NOT NULL)",
    "CREATE TABLE messages (message_id int PRIMARY KEY, user_id int REFERENCES users, body text)",
    "CREATE TABLE partner_contacts (contact_id int PRIMARY KEY, name text, phone text, region text,"
    " visits int NOT NULL DEFAULT 0)",
    "CREATE ROLE app LOGIN",
    "CREATE ROLE attacker LOGIN",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app, attacker",
    "GRANT UPDATE ON partner_contacts TO attacker",
]
# (role, statement, how): run in this order; the first before the compromise, the rest after it
BEFORE = [("attacker", "SELECT name FROM partner_contacts WHERE contact_id = 1", "query")]
AFTER = [
    ("app", "SELECT * FROM users", "query"),  # the application, not compromised
    ("attacker", "SELECT user_id, name, email FROM users WHERE user_id % 7 = 0", "query"),
    (
        "attacker",
        "SELECT u.name, n.subscribed_at FROM newsletter n JOIN users u ON u.user_id = n.user_id "
        "WHERE n.user_id BETWEEN 100 AND 150 ORDER BY 1",
        "query",
    ),
    ("attacker", "COPY (SELECT name, phone FROM partner_contacts WHERE region = 'kansai') TO STDOUT", "copy"),
    ("attacker", "SELECT count(*) FROM users", "query"),
    ("attacker", "SELECT body FROM messages WHERE message_id <= 10", "query"),
    (
        "attacker",
        "WITH recent AS (SELECT * FROM users WHERE user_id > 490) SELECT user_id, email FROM recent",
        "query",
    ),
    (
        "attacker",
        "UPDATE partner_contacts SET visits = visits + 1 WHERE contact_id IN "
        "(SELECT user_id FROM users WHERE user_id < 3)",
        "query",
    ),
]


def person(i: int) -> tuple[str, str]:
    """A synthetic person, deterministic: (name, email)."""
    name = f"{SURNAMES[i % len(SURNAMES)]} {GIVEN[(i * 7) % len(GIVEN)]}{i:03d}"
    return name, f"{name.replace(' ', '.').lower()}@example.jp"


def _model() -> GroupModel:
    def store(id_: str, kind: str, host: str, data: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": id_,
            "name": id_,
            "system": "sys",
            "owner": "parent",
            "kind": kind,
            "hosts": [host],
            "personal_data": data,
        }

    return GroupModel.model_validate(
        {
            "version": 1,
            "group": "Test Group",
            "organisations": [{"id": "parent", "name": "Parent", "kind": "parent", "country": "JP"}],
            "zones": [{"id": "z", "name": "z", "org": "parent", "cidrs": ["10.0.0.0/16"]}],
            "systems": [{"id": "sys", "name": "sys", "owner": "parent", "zone": "z", "hosts": ["*"]}],
            "data_stores": [
                store(
                    "ds-crm",
                    "database",
                    "db01",
                    [
                        {"category": "user", "items": ["name", "email"], "records": 500, "tables": ["users"],
                         "population": "customers"},
                        {"category": "user", "items": ["name", "body"], "records": 80, "tables": ["messages"],
                         "population": "customers", "secrecy_of_communications": True},
                        {"category": "business_partner", "items": ["name", "phone"], "records": 40,
                         "tables": ["partner_contacts"]},
                    ],
                ),
                store(
                    "ds-marketing",
                    "database",
                    "mk01",
                    [{"category": "user", "items": ["name", "subscribed_at"], "records": 300,
                      "tables": ["public.newsletter"], "population": "customers"}],
                ),
                store(
                    "ds-hr",
                    "file_share",
                    "fs01",
                    [{"category": "employee", "items": ["name", "salary"], "records": 120,
                      "paths": ["\\\\fs01\\HR"], "sensitive": True}],
                ),
                store(
                    "ds-backup",
                    "database",
                    "bk01",
                    [{"category": "user", "items": ["name", "email"], "records": 500, "tables": ["users_bak"],
                      "population": "customers"}],
                ),
            ],
        }
    )  # fmt: skip


def _scope(since: datetime, accounts: list[str], hosts: Sequence[tuple[str, str | None]] = ()) -> Scope:
    start = since - timedelta(days=1)
    return Scope(
        window=(start, since + timedelta(days=1)),
        accounts=[Scoped(a, a, since, 0, f"{a}: named by alert") for a in accounts],
        hosts=[Scoped(h, h, since, 0, f"{h}: named by alert", address=ip) for h, ip in hosts],
        data_stores=[Scoped("ds-hr", "ds-hr", since, 1, "ds-hr: reachable from a compromised host")],
        rounds=1,
    )


@dataclass
class Crm:
    url: str  # the crm database
    store: Store
    model: GroupModel
    since: datetime


def _run(url: str, role: str, statement: str, how: str) -> None:
    import psycopg

    with psycopg.connect(url, user=role, autocommit=True) as conn, conn.cursor() as cur:
        if how == "copy":
            with cur.copy(statement) as copy:
                for _ in copy:
                    pass
        else:
            cur.execute(statement)


@pytest.fixture(scope="module")
def crm(pgaudit_server, tmp_path_factory) -> Crm:
    import psycopg

    with psycopg.connect(pgaudit_server.url + "/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE crm")
    url = pgaudit_server.url + "/crm"
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO users VALUES (%s, %s, %s)", [(i, *person(i)) for i in range(1, 501)])
            cur.executemany(
                "INSERT INTO newsletter VALUES (%s, DATE '2024-01-01' + %s)",
                [(i, i % 365) for i in range(1, 301)],
            )
            cur.executemany(
                "INSERT INTO messages VALUES (%s, %s, %s)",
                [(i, (i * 13) % 500 + 1, f"message {i}") for i in range(1, 81)],
            )
            cur.executemany(
                "INSERT INTO partner_contacts (contact_id, name, phone, region) VALUES (%s, %s, %s, %s)",
                [
                    (i, person(1000 + i)[0], f"06-{i:04d}-0000", "kansai" if i % 3 == 0 else "kanto")
                    for i in range(1, 41)
                ],
            )
    for role, sql, how in BEFORE:
        _run(url, role, sql, how)
    time.sleep(0.05)
    since = datetime.now(UTC)
    time.sleep(0.05)
    for role, sql, how in AFTER:
        _run(url, role, sql, how)
    log = pgaudit_server.log_dir / "postgresql.csv"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the logging collector writes asynchronously
        if log.exists() and "UPDATE partner_contacts" in log.read_text(errors="replace"):
            break
        time.sleep(0.1)
    copied = tmp_path_factory.mktemp("pglog") / "crm-csvlog.csv"
    shutil.copyfile(log, copied)
    store = Store(tmp_path_factory.mktemp("store") / "store")
    store.ingest([str(copied)])
    return Crm(url, store, _model(), since)


def test_the_real_log_becomes_data_access_events(crm):
    events = crm.store.sql(
        "SELECT principal, object, action, command_line, raw FROM events WHERE category = 'data_access'"
    ).to_pylist()
    by_attacker = [e for e in events if e["principal"] == "attacker"]
    assert {e["object"] for e in by_attacker} >= {
        "public.users", "public.newsletter", "public.messages", "public.partner_contacts",
    }  # fmt: skip
    # the statement text is in command_line (and in raw, as pgaudit logged it)
    select = next(e for e in by_attacker if e["command_line"] and "user_id % 7" in e["command_line"])
    assert json.loads(select["raw"])["audit"]["statement"] == select["command_line"]


def test_affected_counts_from_the_real_log(crm):
    scope = _scope(crm.since, ["attacker"], [("bk01", None)])
    count = affected_from_store(crm.store, crm.model, scope)
    # users, messages and newsletter are one population: the largest (500) counts, not 880
    assert count.confirmed == {"user": 500, "business_partner": 40}
    # reachable, not read: the HR share (touched) and the backup on a compromised host (same customers:
    # nothing beyond the 500 confirmed)
    assert count.possible == {"employee": 120}
    assert count.stores == ["ds-crm", "ds-marketing"]
    assert count.secrecy_of_communications == {"user": 80} and count.sensitive == {}
    assert count.items == {
        "user": ["name", "email", "body", "subscribed_at"],
        "business_partner": ["name", "phone"],
    }
    assert count.by_item == {"name": 540, "email": 500, "body": 80, "phone": 40, "subscribed_at": 300}
    assert count.total_confirmed == 540 and count.total_possible == 120

    # the application's own reads are not the attacker's; nothing read by a compromised entity: all possible
    nobody = affected_from_store(crm.store, crm.model, _scope(crm.since, ["app-not-compromised"]))
    assert nobody.confirmed == {} and nobody.stores == []
    assert nobody.possible == {"employee": 120}
    # before its compromise the attacker's read does not count: partner_contacts only from the COPY on
    later = affected_from_store(crm.store, crm.model, _scope(datetime.now(UTC), ["attacker"]))
    assert later.confirmed == {}


def test_counting_people_per_population():
    model = _model()
    # messages (80) and backup (500) read: one population, the largest
    count = count_affected(model, {("ds-crm", 1), ("ds-backup", 0)}, {"ds-crm", "ds-backup"})
    assert count.confirmed == {"user": 500}
    assert count.secrecy_of_communications == {"user": 80}
    # messages only read, the crm reachable: the rest of the customers (500 - 80) and the partners possible
    count = count_affected(model, {("ds-crm", 1)}, {"ds-crm"})
    assert count.confirmed == {"user": 80} and count.possible == {"user": 420, "business_partner": 40}


def test_statements_of_the_confirmed_reads(crm):
    scope = _scope(crm.since, ["attacker"])
    statements = statements_from_store(crm.store, crm.model, scope)
    texts = {s.statement for s in statements}
    assert all(s.account == "attacker" and s.time >= crm.since for s in statements)
    assert not any("contact_id = 1" in t for t in texts)  # before the compromise
    assert "SELECT * FROM users" not in texts  # the application's
    join = [s for s in statements if "JOIN users" in s.statement]
    assert {s.table for s in join} == {"users", "public.newsletter"}  # one statement, two tables
    assert all(s.database == "crm" and s.evidence["path"] and s.evidence["record_id"] for s in statements)
    # the subquery of the UPDATE is a logged read of users, with the UPDATE's text
    assert any(s.statement.startswith("UPDATE") and s.table == "users" for s in statements)


def _expected(url: str) -> dict[str, set[str]]:
    """What the attacker's reads returned, by our own queries (not sekimori's rewriting)."""
    import psycopg

    queries = {
        "users": "SELECT user_id FROM users WHERE user_id % 7 = 0 UNION "
        "SELECT user_id FROM newsletter WHERE user_id BETWEEN 100 AND 150 UNION "
        "SELECT user_id FROM users WHERE user_id > 490",
        "public.newsletter": "SELECT user_id FROM newsletter WHERE user_id BETWEEN 100 AND 150",
        "partner_contacts": "SELECT contact_id FROM partner_contacts WHERE region = 'kansai'",
        "messages": "SELECT user_id FROM messages WHERE message_id <= 10",
    }
    with psycopg.connect(url) as conn:
        return {t: {str(r[0]) for r in conn.execute(q)} for t, q in queries.items()}


def _snapshot(url: str) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT sum(visits) FROM partner_contacts), (SELECT count(*) FROM users), "
            "(SELECT md5(string_agg(u::text, ',' ORDER BY user_id)) FROM users u)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_replay_lists_exactly_what_the_attacker_read(crm, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    statements = statements_from_store(crm.store, crm.model, _scope(crm.since, ["attacker"]))
    before = _snapshot(crm.url)
    private = tmp_path / "private"
    out = private / "people.csv"
    result = replay_reads(crm.url.rsplit("/", 1)[0] + "/postgres", statements, KEYS, out)
    assert _snapshot(crm.url) == before  # the logged UPDATE was not run again

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not stat.S_IMODE(private.stat().st_mode) & 0o077
    rows = out.read_text().splitlines()
    assert rows[0] == "category,population,table,key"
    listed: dict[str, set[str]] = {}
    for line in rows[1:]:
        _category, _population, table, key = line.split(",")
        listed.setdefault(table, set()).add(key)
    expected = _expected(crm.url)
    assert listed == expected
    assert result.per_table == {t: len(v) for t, v in sorted(expected.items())}
    customers = expected["users"] | expected["public.newsletter"] | expected["messages"]
    assert result.people == {"user": len(customers), "business_partner": len(expected["partner_contacts"])}
    assert result.replayed_at >= crm.since

    by_status = {o.status for o in result.outcomes}
    assert by_status == {"replayed", "refused", "unlisted"}
    refused = result.refused
    assert len(refused) == 1 and refused[0].table == "users" and "UPDATE" in (refused[0].reason or "")
    unlisted = [o for o in result.outcomes if o.status == "unlisted"]
    assert len(unlisted) == 1 and "aggregate" in (unlisted[0].reason or "")

    # nothing of the people in the logs, on stdout/stderr or in the result
    captured = capsys.readouterr()
    seen = caplog.text + captured.out + captured.err + repr(result)
    for key in expected["users"]:
        name, email = person(int(key))
        assert name not in seen and email not in seen
    assert "replay of" in caplog.text  # the log says what happened, in counts

    with pytest.raises(FileExistsError):  # never overwrites a listing
        replay_reads(crm.url, statements[:1], KEYS, out)


def test_replay_refuses_what_is_not_a_plain_read(crm, tmp_path):
    before = _snapshot(crm.url)
    bad = [
        "DELETE FROM users",
        "SELECT 1; DELETE FROM users",
        "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d",
        "SELECT * INTO users_copy FROM users",
        "SELECT * FROM users FOR UPDATE",
        "SELECT pg_sleep(5), name FROM users",
        "SELECT set_config('default_transaction_read_only', 'off', false) FROM users",
        "COPY users TO '/tmp/sekimori-users.csv'",
        "COPY users FROM STDIN",
        "COPY (SELECT * FROM users) TO PROGRAM 'cat'",
        "TRUNCATE users",
        "SELECT name FROM users WHERE user_id = $1",
        "SELECT name FROM users WHERE",
    ]
    statements = [ReadStatement(statement=s, table="users", database="crm") for s in bad]
    private = tmp_path / "p"
    result = replay_reads(crm.url, statements, "user_id", private / "people.csv")
    assert [o.status for o in result.outcomes] == ["refused"] * len(bad)
    assert result.per_table == {} and _snapshot(crm.url) == before
    assert not os.path.exists("/tmp/sekimori-users.csv")
    for sql in bad:
        with pytest.raises(RefusedStatement):
            check_read_only(sql)
    # COPY … TO STDOUT of a table reads like SELECT
    assert check_read_only("COPY public.users (user_id, name) TO stdout").sql() == (
        "SELECT user_id, name FROM public.users"
    )


def test_replay_needs_a_private_directory(crm, tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    with pytest.raises(PermissionError):
        replay_reads(crm.url, [], "user_id", open_dir / "people.csv")
    assert not (open_dir / "people.csv").exists()


def test_file_share_reads_from_a_compromised_host(tmp_path):
    """Windows 5145 share reads (OTRF JSON): ReadData under the model's path, from the compromised host's
    address, after its compromise, confirms the HR share."""
    since = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    def event(record: int, at: datetime, user: str, ip: str, share: str, target: str, access: str) -> str:
        return json.dumps(
            {
                "EventID": 5145, "Channel": "Security", "Hostname": "FS01.corp.example.jp",
                "@timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "RecordNumber": record,
                "SubjectUserName": user, "SubjectDomainName": "CORP", "IpAddress": ip, "IpPort": "50000",
                "ShareName": share, "RelativeTargetName": target, "AccessList": access,
                "EventType": "AUDIT_SUCCESS",
            }
        )  # fmt: skip

    read = "%%1538\r\n\t\t\t\t%%4416\r\n\t\t\t\t"
    attrs = "%%1541\r\n\t\t\t\t%%4423\r\n\t\t\t\t"
    lines = [
        event(1, since - timedelta(hours=1), "alice", "10.0.0.7", "\\\\*\\HR", "payroll\\2024.xlsx", read),
        event(2, since + timedelta(minutes=5), "alice", "10.0.0.7", "\\\\*\\HR", "payroll", attrs),
        event(3, since + timedelta(minutes=6), "bob", "10.0.0.9", "\\\\*\\HR", "payroll\\2024.xlsx", read),
    ]
    path = tmp_path / "security.json"
    path.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "store")
    store.ingest([str(path)])
    model = _model()
    scope = _scope(since, [], [("ws07", "10.0.0.7")])
    # before the compromise, attributes only, another host: nothing read
    assert affected_from_store(store, model, scope).confirmed == {}
    path2 = tmp_path / "security2.json"
    path2.write_text(
        event(4, since + timedelta(minutes=7), "alice", "10.0.0.7", "\\\\*\\hr", "payroll\\2024.xlsx", read)
        + "\n"
    )
    store.ingest([str(path2)])
    count = affected_from_store(store, model, scope)
    assert count.confirmed == {"employee": 120} and count.sensitive == {"employee": 120}
    assert count.stores == ["ds-hr"] and count.possible == {}
