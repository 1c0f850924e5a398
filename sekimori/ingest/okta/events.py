"""What an Okta System Log event means in the event schema (one record to one row of columns).

Okta's ``LogEvent`` (https://developer.okta.com/docs/reference/api/system-log/) is read with its keys in
any case: Okta's own camelCase (``eventType``, ``authenticationContext``) and the all-lowercase copies
data lakes write (``eventtype``, ``authenticationcontext``) alike, at every level.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sekimori.ingest.cloud.values import clean_ip, parse_time, split_account, text
from sekimori.ingest.fit import BadValue
from sekimori.ingest.schema import AUTHENTICATION, FAILURE, GENERIC, SUCCESS

OCSF_AUTHENTICATION = 3002
OCSF_ACCOUNT_CHANGE = 3001
OCSF_API_ACTIVITY = 6003

# outcome.result → outcome; CHALLENGE, SKIPPED and UNKNOWN decide nothing yet (kept in ``status``).
OUTCOMES = {"SUCCESS": SUCCESS, "ALLOW": SUCCESS, "FAILURE": FAILURE, "DENY": FAILURE}
# Sign-on policy decisions, as the ``conditional_access`` column names them.
SIGN_ON_POLICY = "policy.evaluate_sign_on"
POLICY_RESULTS = {"ALLOW": "success", "DENY": "failure", "CHALLENGE": "challenge"}

# eventType → activity, for the sign-in flow; every other event keeps its eventType as activity.
ACTIVITIES = {
    "user.session.start": "logon",
    "user.session.end": "logoff",
    "user.session.expire": "logoff",
    "user.session.access_admin_app": "logon",
    "user.authentication.sso": "logon",
    "user.authentication.auth_via_idp": "logon",
    "user.authentication.auth_via_social": "logon",
    "user.authentication.auth_via_radius": "logon",
    "user.authentication.auth_via_richclient": "logon",
    "user.authentication.auth_via_inbound_saml": "logon",
    "user.authentication.auth_via_ad_agent": "credential_validation",
    "user.authentication.auth_via_ldap_agent": "credential_validation",
    "user.authentication.authenticate": "credential_validation",
    "user.authentication.verify": "mfa_verify",
    "user.authentication.auth_via_mfa": "mfa_verify",
    "user.mfa.okta_verify.deny_push": "mfa_verify",
    "system.push.send_factor_verify_push": "mfa_challenge",
    "policy.evaluate_sign_on": "policy_evaluation",
}
# Events that say a second factor was presented.
MFA_EVENTS = frozenset(
    {
        "user.authentication.auth_via_mfa",
        "user.mfa.okta_verify.deny_push",
        "system.push.send_factor_verify_push",
    }
)
# eventType prefixes of Account Change (OCSF 3001): the account, its credentials, factors and roles.
ACCOUNT_CHANGE_PREFIXES = (
    "user.account.",
    "user.lifecycle.",
    "user.credential.",
    "user.mfa.factor.",
    "user.authentication.factor.",
    "group.user_membership.",
    "group.privilege.",
    "user.session.impersonation.",
)
# Okta factor names (debugData.factor, factor API types, authenticator names) → mfa_method.
FACTOR_METHODS = {
    "okta_verify_push": "push",
    "push": "push",
    "okta verify": "push",
    "okta_verify": "push",
    "signed_nonce": "fastpass",
    "okta fastpass": "fastpass",
    "okta_verify_totp": "totp",
    "google_authenticator": "totp",
    "google authenticator": "totp",
    "token:software:totp": "totp",
    "token:software": "totp",
    "otp": "totp",
    "token:hotp": "hotp",
    "token:hardware": "hardware_token",
    "yubikey_token": "hardware_token",
    "rsa_token": "hardware_token",
    "symantec_vip": "totp",
    "symantec": "totp",
    "rsa": "hardware_token",
    "yubikey": "hardware_token",
    "duo": "duo",
    "duo_security": "duo",
    "sms": "sms",
    "sms_factor": "sms",
    "call": "voice",
    "voice_call": "voice",
    "phone": "voice",
    "email": "email",
    "email_factor": "email",
    "question": "security_question",
    "security question": "security_question",
    "fido_webauthn": "fido2",
    "webauthn": "fido2",
    "u2f": "fido2",
    "security key or biometric": "fido2",
    "fido2": "fido2",
    "smart_card": "smart_card",
    "piv": "smart_card",
}
# authenticationContext.credentialType values that are a second factor by themselves.
SECOND_FACTOR_CREDENTIALS = frozenset({"OTP", "SMS", "EMAIL"})
# Okta-hosted org domains; an org on a custom domain is not recognised from a URL.
_OKTA_DOMAINS = (
    ".okta.com",
    ".oktapreview.com",
    ".okta-emea.com",
    ".okta-gov.com",
    ".okta.mil",
    ".trexcloud.com",
)


def pick(doc: Any, key: str) -> Any:
    """``doc[key]``, the key in Okta's camelCase or in the data lakes' lower case."""
    if not isinstance(doc, dict):
        return None
    value = doc.get(key)
    return doc.get(key.lower()) if value is None else value


def event_type(doc: dict[str, Any]) -> str | None:
    return text(pick(doc, "eventType"))


# The columns ``okta_values`` gives, in its order.
COLUMNS = (
    "time",
    "channel",
    "provider",
    "event_code",
    "category",
    "activity",
    "ocsf_class_uid",
    "principal",
    "domain",
    "outcome",
    "status",
    "auth_package",
    "logon_id",
    "src_ip",
    "tenant",
    "application",
    "user_agent",
    "mfa_used",
    "mfa_method",
    "conditional_access",
    "object",
    "object_type",
    "action",
    "role",
)


def okta_row(doc: dict[str, Any]) -> dict[str, Any]:
    """The event columns of one System Log event; ``BadValue`` names the field that makes it unusable."""
    return dict(zip(COLUMNS, okta_values(doc), strict=True))


def _get(doc: dict[str, Any], key: str, lower: str) -> Any:
    # ``pick`` for a key whose lower-case spelling is given: one call less per field on the hot path
    value = doc.get(key)
    return doc.get(lower) if value is None else value


def okta_values(doc: dict[str, Any]) -> tuple[Any, ...]:
    """``okta_row`` as a tuple in the order of ``COLUMNS`` (what the reader batches)."""
    etype = text(_get(doc, "eventType", "eventtype"))
    if etype is None:
        raise BadValue("eventType", "not an Okta event: no eventType")
    published = doc.get("published")
    if text(published) is None:
        # Panther's data-lake copy carries the event time as p_event_time when published is gone.
        published = doc.get("p_event_time") or published
    time = parse_time(published, "published")
    actor = doc.get("actor") or {}
    client = doc.get("client") or {}
    agent = pick(client, "userAgent")
    outcome_doc = doc.get("outcome") or {}
    result_value = pick(outcome_doc, "result")  # not text(): UNKNOWN is one of Okta's results
    result = result_value.strip().upper() or None if isinstance(result_value, str) else None
    reason = text(pick(outcome_doc, "reason"))
    debug = pick(_get(doc, "debugContext", "debugcontext"), "debugData")
    debug = debug if isinstance(debug, dict) else {}
    listed = doc.get("target")
    if listed is not None and not isinstance(listed, list):
        raise BadValue("target", f"not a list of targets but {type(listed).__name__}")
    targets = [t for t in listed or [] if isinstance(t, dict)]
    auth = _get(doc, "authenticationContext", "authenticationcontext") or {}
    principal, domain = split_account(pick(actor, "alternateId"))
    types = [text(pick(t, "type")) for t in targets]  # read once, used by the helpers below
    provider = text(pick(auth, "authenticationProvider"))
    credential = text(pick(auth, "credentialType"))
    mfa_used, mfa_method = _mfa(etype, auth, debug, targets, types, reason, provider, credential)
    lower = etype.lower()
    activity = ACTIVITIES.get(lower)
    if activity is not None:
        ocsf = OCSF_AUTHENTICATION
    elif lower.startswith(ACCOUNT_CHANGE_PREFIXES):
        ocsf = OCSF_ACCOUNT_CHANGE
    else:
        ocsf = OCSF_API_ACTIVITY
    return (
        time,
        "okta",
        "okta",
        etype,
        GENERIC if activity is None else AUTHENTICATION,
        etype if activity is None else activity,
        ocsf,
        principal,
        domain,
        OUTCOMES.get(result or ""),
        reason or (result if result not in (None, "SUCCESS", "FAILURE") else None),
        provider or credential,
        text(pick(auth, "externalSessionId")),
        clean_ip(pick(client, "ipAddress")),
        _org(debug, targets, types),
        _application(targets, types),
        text(pick(agent, "rawUserAgent")) if isinstance(agent, dict) else text(agent),
        mfa_used,
        mfa_method,
        POLICY_RESULTS.get(result or "") if lower == SIGN_ON_POLICY else None,
        _target_name(targets),
        types[0] if targets else None,
        text(_get(doc, "displayMessage", "displaymessage")),
        text(debug.get("privilegeGranted")),
    )


def _name(entity: dict[str, Any]) -> str | None:
    return text(pick(entity, "displayName")) or text(pick(entity, "alternateId")) or text(pick(entity, "id"))


def _application(targets: list[dict[str, Any]], types: list[str | None]) -> str | None:
    for target, kind in zip(targets, types, strict=True):
        if kind == "AppInstance":
            return _name(target)
    return None


def _target_name(targets: list[dict[str, Any]]) -> str | None:
    if not targets:
        return None
    return text(pick(targets[0], "alternateId")) or _name(targets[0])


def org_of(debug: dict[str, Any], targets: list[dict[str, Any]]) -> str | None:
    """The Okta org (``acme.okta.com``) the event names: an ``Org`` target, or an Okta-hosted URL of
    ``debugData`` (``origin``, ``redirectUri``, ``url``); None when the event does not say."""
    return _org(debug, targets, [text(pick(t, "type")) for t in targets])


def _org(debug: dict[str, Any], targets: list[dict[str, Any]], types: list[str | None]) -> str | None:
    for target, kind in zip(targets, types, strict=True):
        if (kind or "").lower() == "org":
            return text(pick(target, "alternateId")) or text(pick(target, "id"))
    for key in ("origin", "redirectUri", "url"):
        url = text(debug.get(key))
        if url is None or "://" not in url:
            continue
        host = (urlsplit(url).hostname or "").lower()
        if host.endswith(_OKTA_DOMAINS):
            return host
    return None


def factor_method(name: Any) -> str | None:
    """``mfa_method`` for an Okta factor / authenticator name; unknown names are kept lower-cased."""
    value = text(name)
    if value is None:
        return None
    key = value.lower()
    return FACTOR_METHODS.get(key, key.replace(" ", "_"))


def _mfa(
    etype: str,
    auth: dict[str, Any],
    debug: dict[str, Any],
    targets: list[dict[str, Any]],
    types: list[str | None],
    reason: str | None,
    provider_name: str | None,
    credential_type: str | None,
) -> tuple[bool | None, str | None]:
    """(mfa_used, mfa_method): True when the event shows a second factor presented; None when silent."""
    method = factor_method(debug.get("factor"))
    for target, kind in zip(targets, types, strict=True):
        if kind == "AuthenticatorEnrollment" and method is None:
            name = _name(target)
            method = None if (name or "").lower() == "password" else factor_method(name)
    credential = (credential_type or "").upper()
    provider = (provider_name or "").upper()
    lower = etype.lower()
    if method is None and lower.startswith("user.mfa.factor.") and reason:
        # e.g. "User reset FIDO_WEBAUTHN factor", "User suspended SIGNED_NONCE factor"
        words = [w for w in reason.split() if w.isupper() and len(w) > 2]
        method = factor_method(words[0]) if words else None
    if method is None and credential in SECOND_FACTOR_CREDENTIALS:
        method = factor_method(credential)
    if method is None and provider == "FACTOR_PROVIDER":
        method = factor_method(pick(auth, "credentialProvider"))  # DUO, RSA, SYMANTEC, YUBIKEY, …
    if lower in MFA_EVENTS or provider == "FACTOR_PROVIDER" or credential in SECOND_FACTOR_CREDENTIALS:
        return True, method
    if lower == "user.authentication.verify" and method is not None:
        return True, method  # Identity Engine: an authenticator other than the password was verified
    return None, method
