"""The shapes a Google Workspace activity record comes in, reduced to one ``Activity`` with its events.

Recognised per record (a file may mix them):

* ``api`` — one Reports API ``activities`` resource (``kind: admin#reports#activity``): ``id{time,
  uniqueQualifier, applicationName, customerId}``, ``actor{email, profileId, callerType, key}``,
  ``ipAddress``, ``ownerDomain``, ``events[{type, name, parameters[{name, value | intValue | boolValue |
  multiValue | multiIntValue | messageValue | multiMessageValue}]}]``;
* ``list`` — a whole ``activities.list`` response (``kind: admin#reports#activities``, ``items[]``);
* ``flat`` — one event per record with ``type``/``name``/``parameters{name: value}`` at the top (Panther's
  ``GSuite.ActivityEvent`` data-lake rows, which split activities into their events);
* ``cloud_logging`` — a Cloud Logging / BigQuery ``LogEntry`` whose ``protoPayload`` is a
  ``google.cloud.audit.AuditLog`` of a Workspace service (``admin.googleapis.com``, ``login.googleapis.com``,
  …) carrying the activity in ``metadata`` (``ccc_hosted_reporting.ActivityProto``: ``activityId``,
  ``event[{eventType, eventName, parameter[{name, value | intValue | boolValue | multiStrValue | …}]}]``),
  or the same ``ActivityProto`` as ``jsonPayload`` (Access Transparency).

Keys are read as the vendor spells them (camelCase), or all-lowercase (data-lake casing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTIVITY_KIND = "admin#reports#activity"
LIST_KIND = "admin#reports#activities"
ACTIVITY_PROTO = "ccc_hosted_reporting.ActivityProto"
AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"

# Workspace services that write Cloud Audit Logs, and the Reports API application each one is.
SERVICE_APPLICATIONS = {
    "admin.googleapis.com": "admin",
    "login.googleapis.com": "login",
    "cloudidentity.googleapis.com": "groups_enterprise",
    "oauth2.googleapis.com": "token",
    "accesstransparency.googleapis.com": "access_transparency",
}

# A parameter's value, in the order a parameter carries one (Reports API and ActivityProto names).
_VALUE_KEYS = (
    "value",
    "intValue",
    "boolValue",
    "multiValue",
    "multiStrValue",
    "multiIntValue",
    "messageValue",
    "multiMessageValue",
)


# Reports API ``events[].status.eventStatus`` (UNKNOWN_EVENT_STATUS and SKIPPED say nothing of the outcome).
_EVENT_STATUS = {"SUCCEEDED": True, "SUCCEEDED_WITH_WARNINGS": True, "FAILED": False}


class ShapeError(ValueError):
    """A record that is not a Workspace activity, or one whose part ``field`` is malformed."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class ActivityEvent:
    type: str | None
    name: str
    parameters: dict[str, Any]
    success: bool | None = None  # ActivityProto / event status, when the record says
    error: str | None = None


@dataclass(slots=True)
class Activity:
    time: str | None  # as the record gives it (the reader parses a batch of them at a time)
    application: str | None
    customer: str | None
    owner_domain: str | None
    email: str | None
    profile_id: str | None
    caller_type: str | None
    key: str | None  # actor.key: the OAuth consumer key or robot id when callerType is KEY
    actor_application: str | None  # actor.applicationInfo.applicationName: an app acting
    ip: str | None
    user_agent: str | None
    events: list[ActivityEvent] = field(default_factory=list)
    time_field: str = "id.time"  # where the time came from, to name it when it is bad


# The vendor's camelCase keys, by their all-lowercase spelling (data lakes that lowercase every key).
_CAMEL_KEYS = {
    key.lower(): key
    for key in (
        "applicationName", "customerId", "uniqueQualifier", "profileId", "callerType", "applicationInfo",
        "ipAddress", "ownerDomain", "nextPageToken", "protoPayload", "jsonPayload", "serviceName",
        "methodName", "resourceName", "authenticationInfo", "principalEmail", "requestMetadata", "callerIp",
        "callerSuppliedUserAgent", "logName", "activityId", "timeUsec", "uniqQualifier", "eventType",
        "eventName", "intValue", "boolValue", "multiValue", "multiStrValue", "multiIntValue", "messageValue",
        "multiMessageValue", "eventStatus", "errorCode", "httpStatusCode",
    )
}  # fmt: skip


def _lowercased(doc: dict[str, Any]) -> bool:
    if "ipaddress" in doc or "protopayload" in doc or "jsonpayload" in doc or "nextpagetoken" in doc:
        return True
    ident = doc.get("id")
    return isinstance(ident, dict) and ("applicationname" in ident or "customerid" in ident)


def vendor_keys(value: Any) -> Any:
    """A record with all-lowercase keys spelt as the vendor does (camelCase); others as they are."""
    if isinstance(value, dict) and _lowercased(value):
        return _recased(value)
    return value


def _recased(value: Any) -> Any:
    if isinstance(value, dict):
        return {_CAMEL_KEYS.get(k, k): _recased(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_recased(v) for v in value]
    return value


def _dict(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value.__class__ is str:
        return value or None
    return None if value is None else str(value)


def record_shape(doc: Any) -> str | None:
    """``api``, ``list``, ``flat``, ``cloud_logging`` or None (not a Workspace activity)."""
    if not isinstance(doc, dict):
        return None
    return _shape(vendor_keys(doc))


def _shape(doc: dict[str, Any]) -> str | None:
    kind = doc.get("kind")
    if kind == LIST_KIND or (isinstance(doc.get("items"), list) and "nextPageToken" in doc):
        return "list"
    proto = doc.get("protoPayload")
    if isinstance(proto, dict):
        return "cloud_logging" if _workspace_proto(proto) else None
    payload = doc.get("jsonPayload")
    if isinstance(payload, dict) and str(payload.get("@type", "")).endswith(ACTIVITY_PROTO):
        return "cloud_logging"
    ident = doc.get("id")
    if kind == ACTIVITY_KIND or (isinstance(ident, dict) and ident.get("applicationName") is not None):
        return "api" if doc.get("events") is not None else "flat"
    return None


def _workspace_proto(proto: dict[str, Any]) -> bool:
    meta = proto.get("metadata")
    if isinstance(meta, dict) and str(meta.get("@type", "")).endswith(ACTIVITY_PROTO):
        return True
    return proto.get("serviceName") in SERVICE_APPLICATIONS and isinstance(meta, dict)


def activities_of(doc: Any) -> list[Activity]:
    """The activities in one record (a list response holds many); raises ``ShapeError``."""
    if not isinstance(doc, dict):
        raise ShapeError("id", "not a JSON object")
    doc = vendor_keys(doc)
    shape = _shape(doc)
    if shape is None:
        raise ShapeError(
            "id", "not a Google Workspace activity (no id.applicationName, kind or protoPayload)"
        )
    if shape == "list":
        raise ShapeError("items", "a list response is split into its items by the reader")
    if shape == "cloud_logging":
        return [_cloud_activity(doc)]
    return [_api_activity(doc, flat=shape == "flat")]


def _api_activity(doc: dict[str, Any], *, flat: bool) -> Activity:
    ident = _dict(doc, "id")
    actor = _dict(doc, "actor")
    ident_time = ident.get("time")
    # Panther's data-lake rows keep Panther's own event time when the vendor's is missing.
    time = _text(ident_time) or _text(doc.get("p_event_time"))
    app_info = actor.get("applicationInfo")
    events: list[ActivityEvent] = []
    activity = Activity(  # positional, in field order: this runs once per record
        time,
        _text(ident.get("applicationName")),
        _text(ident.get("customerId")),
        _text(doc.get("ownerDomain")),
        _text(actor.get("email")),
        _text(actor.get("profileId")),
        _text(actor.get("callerType")),
        _text(actor.get("key")),
        _text(app_info.get("applicationName")) if isinstance(app_info, dict) else None,
        _text(doc.get("ipAddress")),
        None,
        events,
        "p_event_time" if ident_time is None and time is not None else "id.time",
    )
    if flat:
        name = _text(doc.get("name"))
        if name is None:
            raise ShapeError("name", "activity event without a name")
        events.append(
            ActivityEvent(_text(doc.get("type")), name, parameters(doc.get("parameters"), "parameters"))
        )
        return activity
    record_events = doc.get("events")
    if not isinstance(record_events, list) or not record_events:
        raise ShapeError("events", "activity without events (events is not a non-empty list)")
    for i, event in enumerate(record_events):
        where = f"events[{i}]"
        if not isinstance(event, dict):
            raise ShapeError(where, "activity event is not an object")
        name = _text(event.get("name"))
        if name is None:
            raise ShapeError(f"{where}.name", "activity event without a name")
        success, error = _status(event.get("status"))
        params = parameters(event.get("parameters"), f"{where}.parameters")
        events.append(ActivityEvent(_text(event.get("type")), name, params, success, error))
    return activity


def _cloud_activity(doc: dict[str, Any]) -> Activity:
    proto = _dict(doc, "protoPayload")
    meta = _dict(proto, "metadata") if proto else _dict(doc, "jsonPayload")
    auth = _dict(proto, "authenticationInfo")
    request = _dict(proto, "requestMetadata")
    service = _text(proto.get("serviceName"))
    time = _text(doc.get("timestamp"))
    time_field = "timestamp"
    if time is None:
        time_field = "metadata.activityId.timeUsec"
        usec = _dict(meta, "activityId").get("timeUsec")
        time = _usec_time(usec)
    organisation = _organisation(_text(doc.get("logName")) or _text(proto.get("resourceName")))
    application = SERVICE_APPLICATIONS.get(service or "")
    if application is None:
        application = service.split(".", 1)[0] if service else "access_transparency"
    activity = Activity(
        time=time,
        application=application,
        customer=organisation,
        owner_domain=None,
        email=_text(auth.get("principalEmail")),
        profile_id=None,
        caller_type=None,
        key=None,
        actor_application=None,
        ip=_text(request.get("callerIp")) or _text(request.get("callerIP")),
        user_agent=_text(request.get("callerSuppliedUserAgent")),
        time_field=time_field,
    )
    events = meta.get("event")
    if not isinstance(events, list) or not events:
        raise ShapeError("protoPayload.metadata.event", "Workspace audit entry without events")
    for i, event in enumerate(events):
        where = f"protoPayload.metadata.event[{i}]"
        if not isinstance(event, dict):
            raise ShapeError(where, "activity event is not an object")
        name = _text(event.get("eventName"))
        if name is None:
            raise ShapeError(f"{where}.eventName", "activity event without a name")
        success, error = _status(event.get("status"))
        params = parameters(event.get("parameter"), f"{where}.parameter")
        activity.events.append(ActivityEvent(_text(event.get("eventType")), name, params, success, error))
    return activity


def parameters(value: Any, where: str) -> dict[str, Any]:
    """Event parameters as ``{name: value}``: a list of typed parameters, or already a map."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if not isinstance(value, list):
        raise ShapeError(where, "parameters are neither a list nor an object")
    out: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ShapeError(where, "a parameter without a name")
        found = None
        for key in _VALUE_KEYS:
            if key in item:
                found = item[key]
                break
        out[item["name"]] = found
    return out


def _status(value: Any) -> tuple[bool | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    success = value.get("success")
    if not isinstance(success, bool):
        state = str(value.get("eventStatus") or "").upper()
        success = _EVENT_STATUS.get(state)
    error = _text(value.get("errorCode"))
    if error is None and success is False:
        error = _text(value.get("httpStatusCode"))
    return success, error


def zoned_time(time: str | None) -> str | None:
    """ISO text Arrow can cast to a UTC timestamp: the Reports API gives RFC 3339 (``…Z``), Panther
    ``2022-12-11 02:57:48.693000000`` in UTC without a zone."""
    if time is None:
        return None
    text = time.strip()
    tail = text[-6:]
    if text.endswith(("Z", "z")) or "+" in tail or (len(text) > 19 and "-" in tail):
        return text
    return text + "Z"


def _usec_time(usec: Any) -> str | None:
    try:
        number = int(usec)
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(number / 1_000_000, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return str(usec)  # left for the time parser to refuse, naming the value


def _organisation(name: str | None) -> str | None:
    """``organizations/123`` of a log name or resource name (the Cloud organisation of the account)."""
    if not name or not name.startswith("organizations/"):
        return None
    return "organizations/" + name.split("/", 2)[1]
