"""What an Entra sign-in or directory-audit record means, as event columns.

One function per kind, each taking a ``Shape`` (fields with lower-case keys) and returning the columns
it knows. A value that cannot be read (a time, an error code, a nested JSON string) raises ``BadValue``
naming the field; the reader quarantines the record.
"""

from __future__ import annotations

from typing import Any

from sekimori.ingest.entra.shapes import Shape
from sekimori.ingest.entra.values import (
    enum_value,
    error_code,
    first,
    inner_object,
    keyed,
    nested,
    parse_time,
    split_upn,
    squash,
    text,
)
from sekimori.ingest.schema import AUTHENTICATION, FAILURE, GENERIC, SUCCESS

PROVIDER = "Microsoft Entra ID"
OCSF_AUTHENTICATION = 3002
OCSF_API_ACTIVITY = 6003

# authenticationDetails methods that are a first factor only (Graph authenticationMethod values).
_FIRST_FACTOR = frozenset(
    {"password", "previouslysatisfied", "passwordhashsync", "passthroughauthentication"}
)
_MFA_CLAIM = ("mfa requirement satisfied", "mfa completed")
_AUDIT_OUTCOMES = {"success": SUCCESS, "failure": FAILURE, "failed": FAILURE, "timeout": FAILURE}


# Every column ``signin_event`` or ``audit_event`` gives, in the order the reader batches them.
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
    "auth_package",
    "protocol",
    "outcome",
    "status",
    "src_ip",
    "object",
    "object_type",
    "action",
    "tenant",
    "resource_tenant",
    "cross_tenant",
    "application",
    "user_agent",
    "mfa_used",
    "mfa_method",
    "conditional_access",
    "role",
)


# Columns only one of the two kinds has (the other leaves them null).
_AUDIT_ONLY = frozenset({"action", "role"})
_SIGNIN_ONLY = frozenset(
    {"auth_package", "protocol", "cross_tenant", "mfa_used", "mfa_method", "conditional_access"}
)


def directory_tenant(shape: Shape) -> str | None:
    """The tenant whose log holds the record (Log Analytics' ``TenantId`` is the workspace: not used)."""
    props, env = shape.props, shape.envelope
    if shape.dialect == "log_analytics":
        return first(props, "aadtenantid")
    return first(props, "aadtenantid", "tenantid") or first(env, "tenantid")


def signin_event(shape: Shape) -> dict[str, Any]:
    """The event columns of a sign-in (``signin_values`` by name)."""
    return {c: v for c, v in zip(COLUMNS, signin_values(shape), strict=True) if c not in _AUDIT_ONLY}


def audit_event(shape: Shape) -> dict[str, Any]:
    """The event columns of a directory audit (``audit_values`` by name)."""
    return {c: v for c, v in zip(COLUMNS, audit_values(shape), strict=True) if c not in _SIGNIN_ONLY}


def signin_values(shape: Shape) -> tuple[Any, ...]:
    """A sign-in's columns as a tuple in ``COLUMNS`` order (what the reader batches)."""
    p, env = shape.props, shape.envelope
    when = p.get("createddatetime") or env.get("time") or p.get("timegenerated")
    time = parse_time(when, "createdDateTime")
    status = keyed(nested(p, "status"))
    code = error_code(status.get("errorcode"), "status.errorCode")
    result_type = p.get("resulttype", env.get("resulttype"))
    if code is None and isinstance(result_type, str) and squash(result_type) in ("success", "failure"):
        outcome: str | None = SUCCESS if squash(result_type) == "success" else FAILURE
    else:
        if code is None:
            code = error_code(result_type, "resultType")
        outcome = None if code is None else (SUCCESS if code == 0 else FAILURE)
    if code is None and squash(text(status.get("result"))) in ("success", "failure", "interrupted"):
        outcome = SUCCESS if squash(text(status.get("result"))) == "success" else FAILURE  # portal CSV
    upn = first(p, "userprincipalname")
    service = shape.channel in ("ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs")
    if upn is None and service:
        principal, domain = first(p, "serviceprincipalname", "appdisplayname", "serviceprincipalid"), None
    else:
        principal, domain = split_upn(upn or first(p, "username", "userdisplayname"))
    cross = enum_value(first(p, "crosstenantaccesstype"))
    home = first(p, "hometenantid")
    resource_tenant = first(p, "resourcetenantid") or directory_tenant(shape)
    if home is None and cross == "none" and squash(first(p, "usertype")) != "guest":
        home = resource_tenant  # no cross-tenant access: the user is the directory's own
    mfa_used, mfa_method = _mfa(p, status, outcome, service)
    resource = first(p, "resourcedisplayname", "resourceid", "resourceidentity")
    return (
        time,
        shape.channel,
        PROVIDER,
        first(p, "operationname") or first(env, "operationname") or "Sign-in activity",
        AUTHENTICATION,
        "logon",
        OCSF_AUTHENTICATION,
        principal,
        domain,
        first(p, "clientappused"),
        _protocol(first(p, "authenticationprotocol")),
        outcome,
        None if code is None else str(code),
        first(p, "ipaddress") or first(env, "calleripaddress"),
        resource,
        "resource" if resource else None,
        None,  # action
        home,
        resource_tenant,
        cross,
        first(p, "appdisplayname", "resourcedisplayname", "appid"),
        first(p, "useragent"),
        mfa_used,
        mfa_method,
        enum_value(first(p, "conditionalaccessstatus")),
        None,  # role
    )


def _protocol(value: str | None) -> str | None:
    return None if value is None or squash(value) == "none" else value


def _mfa(
    p: dict[str, Any], status: dict[str, Any], outcome: str | None, service: bool
) -> tuple[bool | None, str | None]:
    """Whether a second factor was used and which, from what the record says, strongest evidence first:
    ``mfaDetail.authMethod``, a second-factor step in ``authenticationDetails``, the status text "MFA
    requirement satisfied by claim in the token", then ``authenticationRequirement``."""
    if service:
        return None, None  # applications and managed identities have no second factor
    detail = keyed(nested(p, "mfadetail"))
    method = first(detail, "authmethod")
    if method is not None:
        return True, method
    steps = nested(p, "authenticationdetails")
    for index, raw_step in enumerate(steps if isinstance(steps, list) else []):
        step = inner_object(raw_step, f"authenticationDetails[{index}]")
        if step.get("succeeded") not in (True, "true", "True"):
            continue
        name = first(step, "authenticationmethod")
        second_step = "multifactor" in squash(first(step, "authenticationsteprequirement"))
        claimed = any(c in (first(step, "authenticationstepresultdetail") or "").lower() for c in _MFA_CLAIM)
        if second_step or claimed:
            # "Previously satisfied": the second factor was done earlier and carried in the token.
            return True, "claim in token" if squash(name) == "previouslysatisfied" or not name else name
        if name and squash(name) not in _FIRST_FACTOR:
            return True, name
    details = (first(status, "additionaldetails") or "").lower()
    if any(claim in details for claim in _MFA_CLAIM):
        return True, "claim in token"
    requirement = squash(first(p, "authenticationrequirement"))
    if requirement == "singlefactorauthentication":
        return False, None
    if requirement == "multifactorauthentication" and outcome == SUCCESS:
        return True, None  # required and the sign-in succeeded: satisfied, the record does not say how
    return None, None


def audit_values(shape: Shape) -> tuple[Any, ...]:
    """A directory audit's columns as a tuple in ``COLUMNS`` order (what the reader batches)."""
    p, env = shape.props, shape.envelope
    when = p.get("activitydatetime") or env.get("time") or p.get("timegenerated")
    time = parse_time(when, "activityDateTime")
    initiated = keyed(nested(p, "initiatedby"))
    user = inner_object(initiated.get("user"), "initiatedBy.user")
    app = inner_object(initiated.get("app"), "initiatedBy.app")
    details = _details(nested(p, "additionaldetails"))
    targets = nested(p, "targetresources")
    targets = (
        [inner_object(t, f"targetResources[{i}]") for i, t in enumerate(targets)]
        if isinstance(targets, list)
        else []
    )
    target = targets[0] if targets else {}
    upn = first(user, "userprincipalname")
    if upn is not None:
        principal, domain = split_upn(upn)
    else:
        principal = first(user, "displayname") or first(app, "displayname", "serviceprincipalname")
        principal = principal or first(p, "identity") or first(env, "identity") or first(user, "id")
        domain = None
    result = squash(first(p, "result") or first(env, "result"))
    role = next((first(t, "displayname") for t in targets if squash(first(t, "type")) == "role"), None)
    return (
        time,
        shape.channel,
        first(p, "loggedbyservice") or PROVIDER,
        first(p, "activitydisplayname", "operationname") or first(env, "operationname"),
        GENERIC,
        "directory_change",
        OCSF_API_ACTIVITY,
        principal,
        domain,
        None,  # auth_package
        None,  # protocol
        _AUDIT_OUTCOMES.get(result),
        first(p, "result") or first(env, "result"),
        first(user, "ipaddress") or first(env, "calleripaddress", "ipaddress") or details.get("ipaddr"),
        first(target, "displayname", "userprincipalname", "id"),
        first(target, "type"),
        first(p, "operationtype", "aadoperationtype"),
        first(user, "hometenantid") or details.get("tid"),
        directory_tenant(shape),
        None,  # cross_tenant
        first(app, "displayname", "serviceprincipalname", "appid"),
        first(p, "useragent") or details.get("user-agent"),
        None,  # mfa_used
        None,  # mfa_method
        None,  # conditional_access
        role or details.get("rolename") or details.get("role.displayname"),
    )


def _details(value: Any) -> dict[str, str]:
    """``additionalDetails`` ([{key, value}]) as a dict with lower-case keys."""
    out: dict[str, str] = {}
    for index, raw_item in enumerate(value if isinstance(value, list) else []):
        item = inner_object(raw_item, f"additionalDetails[{index}]")
        key, val = text(item.get("key")), text(item.get("value"))
        if key and val:
            out.setdefault(key.lower(), val)
    return out
