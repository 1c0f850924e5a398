"""One CloudTrail record → the event columns (``record_event``).

Field names follow the CloudTrail record contents reference (camelCase: ``eventName``,
``userIdentity.sessionContext.attributes.mfaAuthenticated``). A record written in the all-lowercase
spelling of CloudTrail Lake's SQL schema and data-lake exports (``eventname``, ``useridentity.username``)
is read through ``camel_case``; its ``raw`` keeps it as written.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from sekimori.ingest.cloud.values import parse_time
from sekimori.ingest.fit import BadValue
from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, GENERIC, SUCCESS

OCSF_AUTHENTICATION = 3002
OCSF_API_ACTIVITY = 6003
# Calls that hand out credentials or a console session: OCSF Authentication, category authentication.
AUTH_EVENT_NAMES = frozenset({"ConsoleLogin", "GetSessionToken", "GetFederationToken"})
ROLE_EVENT_PREFIX = "AssumeRole"  # AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity, AssumeRoot
CROSS_ACCOUNT = "crossAccount"
ANONYMOUS = "ANONYMOUS_PRINCIPAL"
YES = {"yes": True, "true": True, "no": False, "false": False}


# The fields read here, by their all-lowercase spelling (CloudTrail Lake SQL, data-lake exports).
FIELD_NAMES = {
    name.lower(): name
    for name in [
        "eventVersion",
        "userIdentity",
        "type",
        "principalId",
        "arn",
        "accountId",
        "accessKeyId",
        "userName",
        "sessionContext",
        "attributes",
        "mfaAuthenticated",
        "creationDate",
        "sessionIssuer",
        "invokedBy",
        "onBehalfOf",
        "userId",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "MFAUsed",
        "MfaType",
        "LoginTo",
        "ConsoleLogin",
        "recipientAccountId",
        "eventType",
        "eventCategory",
        "sharedEventID",
        "vpcEndpointId",
        "tlsDetails",
        "readOnly",
        "resources",
        "roleArn",
        "eventID",
        "managementEvent",
    ]
}


def camel_case(doc: Any) -> Any:
    """``doc`` with the all-lowercase keys of known fields given their CloudTrail spelling (a copy)."""
    if isinstance(doc, dict):
        return {FIELD_NAMES.get(k, k) if isinstance(k, str) else k: camel_case(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [camel_case(v) for v in doc]
    return doc


def get(doc: Any, name: str) -> Any:
    """``doc[name]``; None when absent or ``doc`` is no object."""
    return doc.get(name) if isinstance(doc, dict) else None


def text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


@lru_cache(maxsize=4096)
def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def arn_parts(arn: Any) -> list[str] | None:
    """``arn:partition:service:region:account:resource`` split in six, or None."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 else None


def arn_account(arn: Any) -> str | None:
    parts = arn_parts(arn)
    return parts[4] or None if parts else None


def _after(value: Any, sep: str) -> str | None:
    if not isinstance(value, str) or sep not in value:
        return None
    return value.rsplit(sep, 1)[1] or None


def principal_of(identity: Any) -> str | None:
    """The user name the identity stands for (see docs/formats/cloudtrail.md, "principal")."""
    if not isinstance(identity, dict):
        return None
    kind = identity.get("type")
    name = text(identity.get("userName"))
    parts = arn_parts(identity.get("arn"))
    resource = parts[5] if parts else ""
    if kind == "AssumedRole":
        # arn:aws:sts::123456789012:assumed-role/RoleName/SessionName; principalId ROLEID:SessionName
        segments = resource.split("/")
        if len(segments) >= 3 and segments[0] == "assumed-role":
            return segments[-1] or None
        return _after(identity.get("principalId"), ":") or name
    if name:
        return name
    if kind == "Root":
        return "root"
    if kind == "IAMUser" and resource.startswith("user/"):
        return resource.rsplit("/", 1)[1] or None
    if kind == "FederatedUser":
        if resource.startswith("federated-user/"):
            return resource.split("/", 1)[1] or None
        return _after(identity.get("principalId"), ":")
    if kind == "IdentityCenterUser":
        return text(get(identity.get("onBehalfOf"), "userId"))
    return None


def _mfa(extra: Any, identity: Any) -> bool | None:
    used = extra.get("MFAUsed") if isinstance(extra, dict) else None
    if isinstance(used, str) and used.lower() in YES:
        return YES[used.lower()]
    attributes = get(get(identity, "sessionContext"), "attributes")
    flag = get(attributes, "mfaAuthenticated")
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, str) and flag.lower() in YES:
        return YES[flag.lower()]
    return None


def _outcome(record: dict[str, Any], event_name: str) -> tuple[str, str | None]:
    error = text(record.get("errorCode"))
    if event_name == "ConsoleLogin":
        result = get(record.get("responseElements"), "ConsoleLogin")
        if result == "Failure" or (result is None and error):
            return FAILURE, error or text(record.get("errorMessage"))
        if result == "Success":
            return SUCCESS, None
    if error:
        return FAILURE, error
    return SUCCESS, None


# The columns ``record_values`` gives, in its order.
COLUMNS = (
    "time",
    "record_id",
    "channel",
    "provider",
    "event_code",
    "category",
    "activity",
    "ocsf_class_uid",
    "principal",
    "logon_id",
    "outcome",
    "status",
    "src_ip",
    "src_host",
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
    "role",
    "raw",
)


def record_event(record: dict[str, Any], record_id: int, raw: str) -> dict[str, Any]:
    """The event columns of one CloudTrail record; raises ``BadValue`` for a record that is none."""
    return dict(zip(COLUMNS, record_values(record, record_id, raw), strict=True))


def record_values(record: dict[str, Any], record_id: int, raw: str) -> tuple[Any, ...]:
    """``record_event`` as a tuple in the order of ``COLUMNS`` (what the reader batches)."""
    if "eventName" not in record and "eventname" in record:
        record = camel_case(record)
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name:
        keys = ", ".join(sorted(str(k) for k in record)[:8])
        raise BadValue("eventName", f"not a CloudTrail event: no eventName (the record holds only: {keys})")
    when = record.get("eventTime")
    if when is None:
        when = record.get("@timestamp")  # Logstash / Elastic output renames eventTime
    identity = record.get("userIdentity")
    ident = identity if isinstance(identity, dict) else {}
    tenant = text(ident.get("accountId")) or arn_account(ident.get("arn"))
    principal = principal_of(identity)
    if tenant == ANONYMOUS:  # an unauthenticated request (S3 data events): no account
        tenant, principal = None, "anonymous"
    recipient = text(record.get("recipientAccountId"))
    source_ip = text(record.get("sourceIPAddress"))
    invoked_by = text(ident.get("invokedBy"))
    outcome, status = _outcome(record, event_name)

    role = None
    assumes_role = event_name.startswith(ROLE_EVENT_PREFIX)
    if assumes_role:
        role = text(get(record.get("requestParameters"), "roleArn"))
    crossing = bool(tenant and recipient and tenant != recipient)
    role_account = arn_account(role)
    if role_account and tenant and role_account != tenant:
        crossing = True

    if event_name in AUTH_EVENT_NAMES or role is not None or assumes_role:
        category, ocsf = AUTHENTICATION, OCSF_AUTHENTICATION
    elif record.get("eventCategory") == "Data":
        category, ocsf = DATA_ACCESS, OCSF_API_ACTIVITY
    else:
        category, ocsf = GENERIC, OCSF_API_ACTIVITY

    object_name = object_type = None
    if role is not None:
        object_name, object_type = role, "AWS::IAM::Role"
    else:
        resources = record.get("resources")
        if isinstance(resources, list) and resources and isinstance(resources[0], dict):
            first = resources[0]
            object_name = text(first.get("ARN") or first.get("arn"))
            object_type = text(first.get("type"))
    read_only = record.get("readOnly")
    extra = record.get("additionalEventData")
    source = text(record.get("eventSource"))

    ip_ok = source_ip is not None and is_ip(source_ip)
    return (
        None if when is None else parse_time(when, "eventTime"),
        record_id,
        text(record.get("eventType")),
        source,
        event_name,
        category,
        event_name,
        ocsf,
        principal,
        text(ident.get("accessKeyId")),
        outcome,
        status,
        source_ip if ip_ok else None,
        # A service calling on the principal's behalf writes its name where the address goes.
        (source_ip if not ip_ok else None) or invoked_by,
        object_name,
        object_type,
        None if read_only is None else ("READ" if str(read_only).lower() == "true" else "WRITE"),
        tenant,
        recipient,
        CROSS_ACCOUNT if crossing else None,
        source,
        text(record.get("userAgent")),
        _mfa(extra, identity),
        text(get(extra, "MfaType")),
        role,
        raw,
    )
