"""What a PostgreSQL log entry says (sekimori.ingest.pgaudit.events)."""

from __future__ import annotations

import pytest

from sekimori.ingest.pgaudit.entries import Entry, EntryError
from sekimori.ingest.pgaudit.events import Sessions, entry_event, parse_audit
from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, GENERIC, SUCCESS


def _entry(message: str, pid: str = "42", severity: str = "LOG", **fields: str) -> Entry:
    base = {"log_time": "2024-05-01 10:00:00 UTC", "process_id": pid, "error_severity": severity}
    return Entry(7, 100, {**base, "message": message, **fields})


def test_a_pgaudit_record_is_data_access():
    ev = entry_event(
        _entry('AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.customers,"SELECT * FROM customers",<none>'),
        Sessions(),
    )
    assert (ev["category"], ev["event_code"], ev["ocsf_class_uid"]) == (DATA_ACCESS, "pgaudit.read", 6005)
    assert ev["object"] == "public.customers" and ev["action"] == "SELECT"
    assert ev["command_line"] == "SELECT * FROM customers" and ev["record_id"] == 7


def test_a_statement_logged_once_has_no_command_line():
    audit = parse_audit("AUDIT: OBJECT,2,1,WRITE,INSERT,TABLE,t,<previously logged>,<none>")
    assert audit["class"] == "WRITE"
    ev = entry_event(_entry("AUDIT: OBJECT,2,1,WRITE,INSERT,TABLE,t,<previously logged>,<none>"), Sessions())
    assert ev["command_line"] is None


def test_not_a_pgaudit_record_is_quarantined_by_field():
    with pytest.raises(EntryError) as err:
        parse_audit("AUDIT: hello")
    assert err.value.field == "message"


def test_a_session_remembers_its_client_and_method_until_it_ends():
    sessions = Sessions()
    received = entry_event(_entry("connection received: host=10.0.0.5 port=51234"), sessions)
    assert received["category"] == GENERIC and received["src_port"] == 51234
    entry_event(_entry('connection authenticated: identity="bob" method=scram-sha-256'), sessions)
    logon = entry_event(_entry("connection authorized: user=bob database=crm"), sessions)
    assert (logon["category"], logon["outcome"], logon["principal"]) == (AUTHENTICATION, SUCCESS, "bob")
    assert logon["src_ip"] == "10.0.0.5" and logon["auth_package"] == "scram-sha-256"
    entry_event(
        _entry("disconnection: session time: 0:00:01.000 user=bob database=crm host=10.0.0.5 port=51234"),
        sessions,
    )
    assert sessions.address(42) == {} and sessions.auth_method(42) is None


@pytest.mark.parametrize(
    ("message", "severity", "code"),
    [
        ('password authentication failed for user "eve"', "FATAL", "postgresql.auth_failed"),
        (
            'no pg_hba.conf entry for host "10.0.0.6", user "eve", database "crm"',
            "FATAL",
            "postgresql.no_hba_entry",
        ),
        ('pg_hba.conf rejects connection for host "10.0.0.6", user "eve"', "FATAL", "postgresql.hba_reject"),
        ('role "eve" does not exist', "FATAL", "postgresql.role_missing"),
    ],
)
def test_log_in_failures_are_failed_logons(message: str, severity: str, code: str):
    ev = entry_event(_entry(message, severity=severity), Sessions())
    assert (ev["event_code"], ev["outcome"], ev["principal"]) == (code, FAILURE, "eve")


def test_an_unknown_severity_or_pid_is_quarantined():
    with pytest.raises(EntryError) as err:
        entry_event(_entry("hi", severity="LOUD"), Sessions())
    assert err.value.field == "error_severity"
    with pytest.raises(EntryError) as err:
        entry_event(_entry("hi", pid="x"), Sessions())
    assert err.value.field == "process_id"
