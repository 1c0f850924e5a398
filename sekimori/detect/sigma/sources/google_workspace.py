"""Google Workspace audit (``gcp/google_workspace.admin``, ``gcp/google_workspace.login``).

SigmaHQ writes these rules for Workspace audit logs as Google Cloud Logging exports them
(``protoPayload.serviceName: admin.googleapis.com``, ``protoPayload.metadata.event.eventName``) or as
their flattened form (``eventService``, ``eventName``, the event's parameters by name, lower case). The
``google_workspace`` reader reads the Admin SDK Reports API's activities: one row per event of an
activity, its application in ``channel`` and its name in ``event_code``, the whole activity in ``raw``.
The readings here: the service is ``<application>.googleapis.com`` (the Cloud Logging service name of
each Workspace application), the event name is the row's event, and a parameter (``setting_name``,
``new_value``) is the activity's parameter of that name (``SETTING_NAME``): a flattened
``parameters`` object, else the first event parameter of that name in ``events[].parameters[]``. Other
fields are read by their JSON path. ``gcp/gcp.audit`` (Cloud audit logs) has no reader.
"""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import FieldRead, SigmaSource, json_paths, register

SERVICE_FIELDS = frozenset({"eventservice", "protopayload.servicename"})
EVENT_FIELDS = frozenset({"eventname", "protopayload.metadata.event.eventname"})
SERVICE_SQL = "channel || '.googleapis.com'"


def _parameter_sql(name: str) -> str:
    upper = name.upper().replace("'", "''")
    flat = ", ".join(
        f"json_extract_string(_doc, '$.parameters.\"{n}\"')" for n in dict.fromkeys((upper, name.lower()))
    )
    found = (
        f"list_filter(json_extract(_doc, '$.events[*].parameters[*]'), lambda p: p->>'name' = '{upper}')[1]"
    )
    listed = (
        f"coalesce({found}->>'value', {found}->>'boolValue', {found}->>'intValue', "
        f"CAST({found}->'multiValue' AS VARCHAR))"
    )
    return f"coalesce({flat}, {listed})"


def _parameter_spark(name: str) -> str:
    """``_parameter_sql`` in Spark SQL: the API shape's parameters of every event, flattened, the first
    of the name (the same reading as DuckDB's ``$.events[*].parameters[*]``)."""
    upper = name.upper().replace("\\", "\\\\").replace("'", "\\'")
    flat = ", ".join(
        f"get_json_object(_doc, '$[\\'parameters\\'][\\'{n}\\']')"
        for n in dict.fromkeys((upper, name.lower().replace("\\", "\\\\").replace("'", "\\'")))
    )
    params = (
        "flatten(transform(coalesce(from_json(get_json_object(_doc, '$.events'), 'array<string>'), array()), "
        "e -> coalesce(from_json(get_json_object(e, '$.parameters'), 'array<string>'), array())))"
    )
    found = f"filter({params}, p -> get_json_object(p, '$.name') = '{upper}')[0]"
    listed = (
        f"coalesce(get_json_object({found}, '$.value'), get_json_object({found}, '$.boolValue'), "
        f"get_json_object({found}, '$.intValue'), get_json_object({found}, '$.multiValue'))"
    )
    return f"coalesce({flat}, {listed})"


@register
class GoogleWorkspaceSource(SigmaSource):
    name: ClassVar[str] = "google_workspace"
    description: ClassVar[str] = "Google Workspace Reports API activities (admin, login)"
    formats: ClassVar[tuple[str, ...]] = ("google_workspace",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        if product == "gcp" and service in ("google_workspace.admin", "google_workspace.login"):
            return service.partition(".")[2]
        return None

    def where(self, kind: str) -> str:
        return f"source_format = 'google_workspace' AND channel = '{kind}'"

    def spark_read(self, kind: str, field: str) -> str | None:
        low = field.lower()
        if low in SERVICE_FIELDS or low in EVENT_FIELDS or not ("." not in field and field.islower()):
            return None
        return _parameter_spark(field)

    def read(self, kind: str, field: str) -> FieldRead:
        low = field.lower()
        if low in SERVICE_FIELDS:
            return FieldRead(sql=SERVICE_SQL)
        if low in EVENT_FIELDS:
            return FieldRead(sql="event_code")
        if "." not in field and field.islower():
            return FieldRead(sql=_parameter_sql(field))
        return FieldRead(paths=json_paths(field))
