"""The export shapes of Entra sign-in and audit logs, and which one a record is.

* **Microsoft Graph** ``/auditLogs/signIns`` and ``/auditLogs/directoryAudits`` (v1.0 and beta): camelCase
  objects, a page ``{"@odata.context": …, "value": [...]}`` or one object per line; the portal's JSON
  download is the same shape (an array).
* **Azure Monitor diagnostic settings**: ``{time, category, tenantId, callerIpAddress, resultType,
  properties: {…Graph fields…}}``; Event Hub and storage wrap them in ``{"records": [...]}``.
* **Log Analytics / Sentinel** tables ``SigninLogs``, ``AADNonInteractiveUserSignInLogs``,
  ``AADServicePrincipalSignInLogs``, ``AADManagedIdentitySignInLogs``, ``AuditLogs``: PascalCase columns,
  ``Type`` naming the table, nested fields often as JSON strings.
* **Portal CSV download** (sign-ins and audit logs): display headers, mapped to the Graph names here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sekimori.ingest.entra.values import keyed, squash, text

SIGNIN = "signin"
AUDIT = "audit"

# Azure Monitor category / Log Analytics table → the channel we record (the diagnostic category name).
CHANNELS: dict[str, str] = {
    "signinlogs": "SignInLogs",
    "noninteractiveusersigninlogs": "NonInteractiveUserSignInLogs",
    "aadnoninteractiveusersigninlogs": "NonInteractiveUserSignInLogs",
    "serviceprincipalsigninlogs": "ServicePrincipalSignInLogs",
    "aadserviceprincipalsigninlogs": "ServicePrincipalSignInLogs",
    "managedidentitysigninlogs": "ManagedIdentitySignInLogs",
    "aadmanagedidentitysigninlogs": "ManagedIdentitySignInLogs",
    "adfssigninlogs": "ADFSSignInLogs",  # AD FS sign-ins Connect Health sends to Entra: the same fields
    "auditlogs": "AuditLogs",
}
# Graph beta signInEventTypes → channel.
_EVENT_TYPES = {
    "interactiveuser": "SignInLogs",
    "noninteractiveuser": "NonInteractiveUserSignInLogs",
    "serviceprincipal": "ServicePrincipalSignInLogs",
    "managedidentity": "ManagedIdentitySignInLogs",
}
_SIGNIN_KEYS = ("userprincipalname", "appid", "appdisplayname", "serviceprincipalid", "ipaddress")
_SIGNIN_DETAIL = ("status", "conditionalaccessstatus", "isinteractive", "resourcedisplayname", "resulttype")


@dataclass(frozen=True)
class Shape:
    """One record as the mapping sees it: which kind, its fields and its envelope (keys lower case)."""

    kind: str  # SIGNIN | AUDIT
    channel: str
    props: dict[str, Any]  # the Graph / Log Analytics fields
    envelope: dict[str, Any]  # the diagnostic-settings envelope ({} for other shapes)
    dialect: str  # graph | diagnostic | log_analytics | csv


def containers(doc: Any) -> list[Any] | None:
    """The records inside a container object (``records`` of Event Hub/storage, ``value`` of a Graph
    page), or None when ``doc`` is a record itself."""
    if not isinstance(doc, dict):
        return None
    for key in ("records", "value", "Records", "Value"):
        items = doc.get(key)
        if isinstance(items, list) and (key.lower() == "records" or _is_graph_page(doc)):
            return items
    return None


def _is_graph_page(doc: dict[str, Any]) -> bool:
    return all(k in ("value", "Value") or k.startswith("@") for k in doc)  # @odata.*, @microsoft.*


def classify(doc: Any, dialect: str | None = None) -> Shape | None:
    """The shape of one record, or None when it is not an Entra sign-in or audit record."""
    if not isinstance(doc, dict):
        return None
    top = keyed(doc)
    props = top.get("properties")
    if isinstance(props, dict) and ("category" in top or "operationname" in top):
        inner = keyed(props)
        channel = CHANNELS.get(squash(text(top.get("category"))))
        if channel is not None and channel != "AuditLogs":
            return Shape(SIGNIN, channel, inner, top, dialect or "diagnostic")
        if channel == "AuditLogs" or _is_audit(inner):
            return Shape(AUDIT, "AuditLogs", inner, top, dialect or "diagnostic")
        return None
    channel = CHANNELS.get(squash(text(top.get("type"))))
    if channel is not None:
        kind = AUDIT if channel == "AuditLogs" else SIGNIN
        return Shape(kind, channel, top, {}, dialect or "log_analytics")
    # Graph objects; also Log Analytics rows whose ``Type`` a query overwrote (``extend Type = …``):
    # their columns still say what they are. Other tables (OfficeActivity, SecurityEvent) match neither.
    exported = "timegenerated" in top or "sourcesystem" in top
    dialect = dialect or ("log_analytics" if exported else "graph")
    if _is_audit(top):
        return Shape(AUDIT, "AuditLogs", top, {}, dialect)
    if (
        any(k in top for k in _SIGNIN_KEYS)
        and any(k in top for k in _SIGNIN_DETAIL)
        and ("createddatetime" in top or "timegenerated" in top)
    ):
        return Shape(SIGNIN, _graph_channel(top), top, {}, dialect)
    return None


def _is_audit(fields: dict[str, Any]) -> bool:
    return "activitydisplayname" in fields and ("initiatedby" in fields or "targetresources" in fields)


def _graph_channel(top: dict[str, Any]) -> str:
    types = top.get("signineventtypes")
    if isinstance(types, list):
        for kind in types:
            channel = _EVENT_TYPES.get(squash(text(kind)))
            if channel:
                return channel
    category = CHANNELS.get(squash(text(top.get("category"))))
    if category and category != "AuditLogs":
        return category
    if squash(text(top.get("managedidentitytype"))) not in ("", "none"):
        return "ManagedIdentitySignInLogs"
    if text(top.get("serviceprincipalid")) and not text(top.get("userprincipalname")):
        return "ServicePrincipalSignInLogs"
    if top.get("isinteractive") is False:
        return "NonInteractiveUserSignInLogs"
    return "SignInLogs"


# The portal's CSV download: display header → Graph property (dotted for nested objects).
SIGNIN_CSV: dict[str, str] = {
    "date (utc)": "createdDateTime",
    "request id": "id",
    "user agent": "userAgent",
    "correlation id": "correlationId",
    "user id": "userId",
    "user": "userDisplayName",
    "username": "userPrincipalName",
    "user type": "userType",
    "cross tenant access type": "crossTenantAccessType",
    "incoming token type": "incomingTokenType",
    "authentication protocol": "authenticationProtocol",
    "unique token identifier": "uniqueTokenIdentifier",
    "client credential type": "clientCredentialType",
    "service principal id": "servicePrincipalId",
    "service principal name": "servicePrincipalName",
    "managed identity type": "managedIdentityType",
    "application": "appDisplayName",
    "application id": "appId",
    "resource": "resourceDisplayName",
    "resource id": "resourceId",
    "resource tenant id": "resourceTenantId",
    "home tenant id": "homeTenantId",
    "home tenant name": "homeTenantName",
    "ip address": "ipAddress",
    "location": "location.city",
    "status": "status.result",
    "sign-in error code": "status.errorCode",
    "failure reason": "status.failureReason",
    "client app": "clientAppUsed",
    "device id": "deviceDetail.deviceId",
    "browser": "deviceDetail.browser",
    "operating system": "deviceDetail.operatingSystem",
    "compliant": "deviceDetail.isCompliant",
    "managed": "deviceDetail.isManaged",
    "join type": "deviceDetail.trustType",
    "multifactor authentication result": "mfaDetail.result",
    "multifactor authentication auth method": "mfaDetail.authMethod",
    "multifactor authentication auth detail": "mfaDetail.authDetail",
    "authentication requirement": "authenticationRequirement",
    "sign-in identifier": "signInIdentifier",
    "session id": "sessionId",
    "ip address (seen by resource)": "ipAddressFromResourceProvider",
    "autonomous system number": "autonomousSystemNumber",
    "flagged for review": "flaggedForReview",
    "token issuer type": "tokenIssuerType",
    "token issuer name": "tokenIssuerName",
    "latency": "processingTimeInMilliseconds",
    "conditional access": "conditionalAccessStatus",
}
AUDIT_CSV: dict[str, str] = {
    "date (utc)": "activityDateTime",
    "correlationid": "correlationId",
    "service": "loggedByService",
    "category": "category",
    "activity": "activityDisplayName",
    "result": "result",
    "resultreason": "resultReason",
    "actortype": "initiatedBy.type",
    "actordisplayname": "initiatedBy.displayName",
    "actorobjectid": "initiatedBy.id",
    "actoruserprincipalname": "initiatedBy.userPrincipalName",
    "ipaddress": "initiatedBy.ipAddress",
    "actorserviceprincipalid": "initiatedBy.servicePrincipalId",
    "actorserviceprincipalname": "initiatedBy.servicePrincipalName",
    "target1type": "target.type",
    "target1displayname": "target.displayName",
    "target1objectid": "target.id",
    "target1userprincipalname": "target.userPrincipalName",
}


def csv_kind(header: list[str]) -> str | None:
    """SIGNIN or AUDIT for a portal CSV header row, else None."""
    names = {h.strip().lower() for h in header}
    if "date (utc)" not in names:
        return None
    if {"request id", "username"} <= names or {"correlation id", "sign-in error code"} <= names:
        return SIGNIN
    if {"activity", "result"} <= names and ("correlationid" in names or "service" in names):
        return AUDIT
    return None


def csv_record(kind: str, header: list[str], row: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(raw record: header → value, Graph-shaped record) for one CSV row."""
    raw = {name: value for name, value in zip(header, row, strict=False)}
    table = SIGNIN_CSV if kind == SIGNIN else AUDIT_CSV
    graph: dict[str, Any] = {}
    for name, value in raw.items():
        target = table.get(name.strip().lower())
        if target is None or value == "":
            continue
        head, _, leaf = target.partition(".")
        if leaf:
            graph.setdefault(head, {})[leaf] = value
        else:
            graph[head] = value
    if kind == AUDIT:
        actor = graph.pop("initiatedBy", {})
        is_app = "app" in squash(actor.get("type")) or "serviceprincipal" in squash(actor.get("type"))
        graph["initiatedBy"] = {"app" if is_app else "user": actor}
        target = graph.pop("target", None)
        graph["targetResources"] = [target] if target else []
    return raw, graph
