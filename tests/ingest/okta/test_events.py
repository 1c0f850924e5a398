"""Okta LogEvent → columns on records shaped as Okta's System Log reference describes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sekimori.ingest.fit import BadValue
from sekimori.ingest.okta.events import factor_method, okta_row, org_of


def _event(**extra: object) -> dict:
    doc: dict = {
        "uuid": "e1",
        "published": "2024-05-01T08:00:00.123Z",
        "eventType": "user.authentication.auth_via_mfa",
        "displayMessage": "Authentication of user via MFA",
        "actor": {
            "id": "00u1",
            "type": "User",
            "alternateId": "Ann.Lee@Example.COM",
            "displayName": "Ann Lee",
        },
        "client": {"ipAddress": "2001:db8::7", "userAgent": {"rawUserAgent": "okta-verify/9"}},
        "outcome": {"result": "SUCCESS"},
    }
    doc.update(extra)
    return doc


def test_classic_mfa_push_with_factor_in_debug_data():
    row = okta_row(_event(debugContext={"debugData": {"factor": "OKTA_VERIFY_PUSH"}}))
    assert row["time"] == datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)
    assert (row["principal"], row["domain"], row["src_ip"]) == ("Ann.Lee", "example.com", "2001:db8::7")
    assert (row["mfa_used"], row["mfa_method"], row["activity"]) == (True, "push", "mfa_verify")
    assert (row["user_agent"], row["ocsf_class_uid"], row["category"]) == (
        "okta-verify/9",
        3002,
        "authentication",
    )


def test_identity_engine_verify_names_the_authenticator():
    google = {"id": "a1", "type": "AuthenticatorEnrollment", "displayName": "Google Authenticator"}
    password = {"id": "a2", "type": "AuthenticatorEnrollment", "displayName": "Password"}
    row = okta_row(_event(eventType="user.authentication.verify", target=[google]))
    assert (row["mfa_used"], row["mfa_method"]) == (True, "totp")
    row = okta_row(_event(eventType="user.authentication.verify", target=[password]))
    assert (row["mfa_used"], row["mfa_method"]) == (None, None)


def test_factor_provider_in_authentication_context():
    auth = {"authenticationProvider": "FACTOR_PROVIDER", "credentialProvider": "DUO", "credentialType": "OTP"}
    row = okta_row(_event(eventType="user.session.start", authenticationContext=auth))
    assert (row["mfa_used"], row["mfa_method"], row["auth_package"]) == (True, "totp", "FACTOR_PROVIDER")
    auth = {"authenticationProvider": "FACTOR_PROVIDER", "credentialProvider": "DUO"}
    row = okta_row(_event(eventType="user.session.start", authenticationContext=auth))
    assert (row["mfa_used"], row["mfa_method"]) == (True, "duo")
    # a password sign-in says nothing about a second factor
    auth = {"authenticationProvider": "OKTA_AUTHENTICATION_PROVIDER", "credentialType": "PASSWORD"}
    row = okta_row(_event(eventType="user.session.start", authenticationContext=auth))
    assert (row["mfa_used"], row["mfa_method"], row["activity"]) == (None, None, "logon")


@pytest.mark.parametrize(
    ("result", "outcome", "status"),
    [
        ("SUCCESS", "success", None),
        ("ALLOW", "success", "ALLOW"),
        ("FAILURE", "failure", None),
        ("DENY", "failure", "DENY"),
        ("CHALLENGE", None, "CHALLENGE"),
        ("SKIPPED", None, "SKIPPED"),
        ("UNKNOWN", None, "UNKNOWN"),
    ],
)
def test_outcome_results(result, outcome, status):
    row = okta_row(_event(eventType="policy.evaluate_sign_on", outcome={"result": result}))
    assert (row["outcome"], row["status"]) == (outcome, status)
    want_policy = {"ALLOW": "success", "DENY": "failure", "CHALLENGE": "challenge"}.get(result)
    assert row["conditional_access"] == want_policy


def test_lower_case_keys_at_every_level():
    doc = {
        "published": "2024-05-01 08:00:00.123000000",
        "eventtype": "user.session.start",
        "displaymessage": "User login to Okta",
        "actor": {"alternateid": "bob@example.org", "type": "User"},
        "client": {"ipaddress": "192.0.2.9", "useragent": {"rawuseragent": "curl/8"}},
        "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
        "authenticationcontext": {"externalsessionid": "s-1"},
        "target": [{"type": "AppInstance", "displayname": "Salesforce"}],
    }
    row = okta_row(doc)
    assert (row["principal"], row["src_ip"], row["user_agent"]) == ("bob", "192.0.2.9", "curl/8")
    assert (row["outcome"], row["status"], row["logon_id"]) == ("failure", "INVALID_CREDENTIALS", "s-1")
    assert (row["application"], row["action"]) == ("Salesforce", "User login to Okta")


def test_ocsf_classes_by_event_type():
    assert okta_row(_event(eventType="user.lifecycle.deactivate"))["ocsf_class_uid"] == 3001
    assert okta_row(_event(eventType="group.user_membership.add"))["ocsf_class_uid"] == 3001
    assert okta_row(_event(eventType="application.lifecycle.create"))["ocsf_class_uid"] == 6003
    assert okta_row(_event(eventType="user.session.end"))["activity"] == "logoff"


def test_org_from_org_target_or_okta_hosted_url():
    assert org_of({}, [{"type": "Org", "alternateId": "acme", "id": "00o1"}]) == "acme"
    assert org_of({"origin": "https://acme.okta.com"}, []) == "acme.okta.com"
    assert org_of({"redirectUri": "https://acme-admin.oktapreview.com/x"}, []) == "acme-admin.oktapreview.com"
    assert org_of({"url": "/api/v1/authn?"}, []) is None  # a path names no org
    assert org_of({"origin": "https://app.example.com"}, []) is None  # not an Okta-hosted domain


def test_factor_names():
    assert [factor_method(n) for n in ("SIGNED_NONCE", "FIDO_WEBAUTHN", "sms", "call", "Okta Verify")] == [
        "fastpass",
        "fido2",
        "sms",
        "voice",
        "push",
    ]
    assert factor_method("CUSTOM_HOTP_THING") == "custom_hotp_thing"


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"published": "2024-05-01T08:00:00Z"}, "eventType"),
        ({"eventType": "user.session.start"}, "published"),
        ({"eventType": "user.session.start", "published": "yesterday"}, "published"),
    ],
)
def test_unusable_records_name_the_field(doc, field):
    with pytest.raises(BadValue) as err:
        okta_row(doc)
    assert err.value.field == field
