"""One Workspace activity event as event-schema columns (the tables here are the mapping).

Who: ``actor.email`` (Cloud Logging ``authenticationInfo.principalEmail``) split into ``principal``
(local part) and ``domain``; an account warning without an actor is about ``affected_email_address``.
Where from: ``ipAddress`` → ``src_ip``; home tenant: ``id.customerId`` → ``tenant``; ``ownerDomain`` (the
domain the event touched, e.g. a Drive file's owner) → ``resource_tenant``.
What: ``applicationName`` → ``channel`` and ``application`` (the SAML app / OAuth client when the event
names one), event ``type`` → ``provider``, event ``name`` → ``event_code``.
"""

from __future__ import annotations

from typing import Any

from sekimori.ingest.google_workspace.shapes import Activity, ActivityEvent
from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, GENERIC, SUCCESS

OCSF_ACCOUNT_CHANGE = 3001
OCSF_AUTHENTICATION = 3002
OCSF_API_ACTIVITY = 6003

# Sign-in events of the login and saml applications: name → (activity, outcome).
SIGN_INS: dict[str, tuple[str, str | None]] = {
    "login_success": ("logon", SUCCESS),
    "login_failure": ("logon", FAILURE),
    "login_challenge": ("logon", None),  # outcome from login_challenge_status
    "login_verification": ("logon", None),
    "logout": ("logoff", None),
    # Account warnings that report a sign-in Google blocked.
    "suspicious_login": ("logon", FAILURE),
    "suspicious_login_less_secure_app": ("logon", FAILURE),
    "suspicious_programmatic_login": ("logon", FAILURE),
}
SIGN_IN_APPLICATIONS = frozenset({"login", "saml"})

# login_challenge_method values (Login Audit reference): a first factor, or a second one.
FIRST_FACTORS = frozenset({"password", "none"})
SECOND_FACTORS = frozenset(
    {
        "backup_code",
        "google_authenticator",
        "google_prompt",
        "idv_any_phone",
        "idv_preregistered_phone",
        "internal_two_factor",
        "offline_otp",
        "passkey",
        "security_key",
        "security_key_otp",
        "sms_or_voice",
        "totp",
    }
)

# Parameters naming the application a SAML sign-in or an OAuth token event is about.
_APP_PARAMETERS = ("application_name", "app_name", "client_id")
# Applications whose events change accounts (users, their 2SV, recovery data, admin roles).
ACCOUNT_APPLICATIONS = frozenset({"user_accounts", "login"})
ACCOUNT_ADMIN_TYPES = frozenset({"USER_SETTINGS", "DELEGATED_ADMIN_SETTINGS"})
# Applications whose events read or change users' data.
DATA_APPLICATIONS = frozenset({"drive"})


def _texts(value: Any) -> list[str]:
    """A parameter holding one text or several (``multiValue``) as a list of texts."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _first(params: dict[str, Any], *names: str) -> str | None:
    """``_texts(params[name])[0]`` of the first name that has a text, without the lists."""
    for name in names:
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, list):
            for item in value:
                if item is not None:
                    return str(item)
            continue
        return str(value)
    return None


def split_email(email: str | None) -> tuple[str | None, str | None]:
    if not email:
        return None, None
    local, at, domain = email.rpartition("@")
    return (local, domain) if at and local else (email, None)


def second_factor(event: ActivityEvent, login_type: str | None) -> tuple[bool | None, str | None]:
    """(mfa_used, mfa_method) of a sign-in event; (None, None) when the log does not say."""
    params = event.parameters
    methods = [m.lower() for m in _texts(params.get("login_challenge_method"))]
    seconds = [m for m in methods if m in SECOND_FACTORS]
    flag = params.get("is_second_factor")
    if flag is True or seconds:
        return True, ",".join(dict.fromkeys(seconds or methods)) or None
    if flag is False and event.name == "login_challenge":
        return None, None  # a first-factor challenge says nothing of the sign-in as a whole
    if methods and all(m in FIRST_FACTORS for m in methods):
        # A SAML sign-in is authenticated by the outside IdP: Google's "none" says nothing of its MFA.
        if login_type == "saml" or (event.name != "login_success" and event.name != "login_failure"):
            return None, None
        return False, None
    return None, None


def _challenge_outcome(params: dict[str, Any]) -> str | None:
    status = (_first(params, "login_challenge_status") or "").lower()
    if "fail" in status:
        return FAILURE
    if "pass" in status or "success" in status:
        return SUCCESS
    return None


# The columns an event fills, in the order ``event_row`` gives them (the reader transposes rows to columns).
COLUMNS = (
    "channel",
    "provider",
    "event_code",
    "principal",
    "domain",
    "tenant",
    "resource_tenant",
    "src_ip",
    "user_agent",
    "application",
    "category",
    "activity",
    "ocsf_class_uid",
    "outcome",
    "status",
    "auth_package",
    "mfa_used",
    "mfa_method",
    "role",
    "object",
    "object_type",
    "action",
)


def event_columns(activity: Activity, event: ActivityEvent) -> dict[str, Any]:
    """The event-schema columns of one event (``time``, ``record_id`` and ``raw`` are the reader's)."""
    return dict(zip(COLUMNS, event_row(activity, event), strict=True))


def event_row(activity: Activity, event: ActivityEvent) -> tuple[Any, ...]:
    """``event_columns`` as a tuple in ``COLUMNS`` order (no dict per event on the reading path)."""
    params = event.parameters
    app = activity.application
    email = activity.email or (_first(params, "affected_email_address") if params else None)
    principal, domain = split_email(email)
    if principal is None:
        principal = activity.key or activity.profile_id
    # The SAML app signed in to / the OAuth client, an app acting, else the Workspace application.
    application = (
        (_first(params, *_APP_PARAMETERS) if app in ("saml", "token") else None)
        or activity.actor_application
        or app
    )
    outcome: str | None = None if event.success is None else (SUCCESS if event.success else FAILURE)
    status = event.error
    name = event.name.strip()
    auth_package = mfa_used = mfa_method = role = target = target_type = action = None
    sign_in = SIGN_INS.get(name) if app in SIGN_IN_APPLICATIONS else None
    if sign_in is not None:
        category, ocsf = AUTHENTICATION, OCSF_AUTHENTICATION
        activity_name, sign_in_outcome = sign_in
        outcome = sign_in_outcome or outcome
        if name in ("login_challenge", "login_verification"):
            outcome = _challenge_outcome(params) or outcome
        login_type = _first(params, "login_type")
        mfa_used, mfa_method = second_factor(event, login_type)
        auth_package = login_type or ("saml" if app == "saml" else None)
        status = status or _first(params, "login_failure_type", "failure_type", "saml_status_code")
    elif app == "admin":
        category, activity_name = GENERIC, name
        ocsf = OCSF_ACCOUNT_CHANGE if event.type in ACCOUNT_ADMIN_TYPES else OCSF_API_ACTIVITY
        role = _first(params, "ROLE_NAME")
        target = _first(params, "USER_EMAIL", "GROUP_EMAIL")
        if target is not None:
            target_type = "GROUP" if "GROUP_EMAIL" in params and "USER_EMAIL" not in params else "USER"
        else:
            target = _first(params, "SETTING_NAME", "APPLICATION_NAME")
    elif app in DATA_APPLICATIONS:
        category, activity_name, ocsf, action = DATA_ACCESS, name, OCSF_API_ACTIVITY, name
        target = _first(params, "doc_title", "doc_id")
        target_type = _first(params, "doc_type")
    else:
        category, activity_name = GENERIC, name
        ocsf = OCSF_ACCOUNT_CHANGE if app in ACCOUNT_APPLICATIONS else OCSF_API_ACTIVITY
    return (
        app,
        event.type,
        event.name,
        principal,
        domain,
        activity.customer,
        activity.owner_domain,
        activity.ip,
        activity.user_agent,
        application,
        category,
        activity_name,
        ocsf,
        outcome,
        status,
        auth_package,
        mfa_used,
        mfa_method,
        role,
        target,
        target_type,
        action,
    )
