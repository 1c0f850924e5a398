"""What one Workspace event means: MFA from the Login Audit parameters, who, and the OCSF class."""

from __future__ import annotations

import pytest

from sekimori.ingest.google_workspace import Activity, ActivityEvent, event_columns
from sekimori.ingest.google_workspace.mapping import second_factor, split_email


def _activity(app: str, email: str | None = "a.user@example.org", **kw: object) -> Activity:
    values: dict = dict(
        time="2024-01-01T00:00:00Z",
        application=app,
        customer="C0",
        owner_domain=None,
        email=email,
        profile_id="1001",
        caller_type="USER",
        key=None,
        actor_application=None,
        ip="192.0.2.1",
        user_agent=None,
    )
    values.update(kw)
    return Activity(**values)


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        # Login Audit: login_challenge_method lists the challenges of the sign-in
        ("login_success", {"login_challenge_method": ["password"]}, (False, None)),
        (
            "login_success",
            {"login_challenge_method": ["password", "google_authenticator"]},
            (True, "google_authenticator"),
        ),
        ("login_success", {"login_challenge_method": ["security_key"]}, (True, "security_key")),
        (
            "login_success",
            {"login_challenge_method": ["password", "backup_code", "backup_code"]},
            (True, "backup_code"),
        ),
        ("login_failure", {"login_challenge_method": ["password", "password"]}, (False, None)),
        # "none" on a SAML sign-in: the outside IdP authenticated, Google cannot tell
        ("login_success", {"login_challenge_method": ["none"], "login_type": "saml"}, (None, None)),
        (
            "login_success",
            {"login_challenge_method": ["none"], "login_type": "google_password"},
            (False, None),
        ),
        # a challenge event: is_second_factor says which kind of challenge it was
        (
            "login_challenge",
            {"is_second_factor": True, "login_challenge_method": "google_prompt"},
            (True, "google_prompt"),
        ),
        ("login_challenge", {"is_second_factor": False, "login_challenge_method": "password"}, (None, None)),
        # an unknown method says nothing; no parameters say nothing
        ("login_success", {"login_challenge_method": ["some_future_method"]}, (None, None)),
        ("login_success", {}, (None, None)),
    ],
)
def test_second_factor(name, params, expected):
    event = ActivityEvent("login", name, params)
    assert second_factor(event, params.get("login_type")) == expected


@pytest.mark.parametrize(
    ("email", "split"),
    [
        ("hanako@example.co.jp", ("hanako", "example.co.jp")),
        ("no-at-sign", ("no-at-sign", None)),
        (None, (None, None)),
    ],
)
def test_split_email(email, split):
    assert split_email(email) == split


def test_an_account_warning_is_about_the_affected_user():
    activity = _activity("login", email=None, profile_id=None)
    event = ActivityEvent(
        "account_warning", "suspicious_login", {"affected_email_address": "victim@example.org"}
    )
    row = event_columns(activity, event)
    assert (row["principal"], row["domain"]) == ("victim", "example.org")
    # "Suspicious login blocked": a sign-in Google refused
    assert (row["category"], row["activity"], row["outcome"], row["ocsf_class_uid"]) == (
        "authentication",
        "logon",
        "failure",
        3002,
    )


def test_a_password_leak_warning_is_an_account_change():
    activity = _activity("login", email=None, profile_id=None)
    event = ActivityEvent(
        "account_warning", "account_disabled_password_leak", {"affected_email_address": "u@x.org"}
    )
    row = event_columns(activity, event)
    assert (row["category"], row["ocsf_class_uid"], row["outcome"], row["principal"]) == (
        "generic",
        3001,
        None,
        "u",
    )


def test_a_key_actor_without_email_is_named_by_its_key():
    activity = _activity("admin", email=None, key="SYSTEM", caller_type="KEY")
    row = event_columns(
        activity, ActivityEvent("USER_SETTINGS", "SUSPEND_USER", {"USER_EMAIL": "x@example.org"})
    )
    assert (row["principal"], row["domain"], row["object"], row["object_type"]) == (
        "SYSTEM",
        None,
        "x@example.org",
        "USER",
    )


def test_an_app_acting_is_the_application():
    activity = _activity("drive", actor_application="Backup Robot")
    row = event_columns(
        activity, ActivityEvent("access", "download", {"doc_title": "Q1", "doc_type": "spreadsheet"})
    )
    assert (row["application"], row["category"], row["object"], row["object_type"], row["action"]) == (
        "Backup Robot",
        "data_access",
        "Q1",
        "spreadsheet",
        "download",
    )


def test_login_challenge_status_gives_the_outcome():
    activity = _activity("login")
    failed = ActivityEvent("login", "login_challenge", {"login_challenge_status": "Challenge Failed"})
    assert event_columns(activity, failed)["outcome"] == "failure"


def test_login_events_only_count_as_sign_ins_in_the_sign_in_applications():
    # a "login_success" name in another application (Panther line 61 puts one under "logout") is not a sign-in
    row = event_columns(_activity("gmail"), ActivityEvent("login", "login_success", {}))
    assert (row["category"], row["outcome"], row["ocsf_class_uid"]) == ("generic", None, 6003)
