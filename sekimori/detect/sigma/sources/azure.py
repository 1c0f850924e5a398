"""Microsoft Entra ID sign-in and audit logs (``azure/signinlogs``, ``azure/auditlogs``).

SigmaHQ's rules name fields as Microsoft Sentinel's ``SigninLogs``/``AuditLogs`` tables do
(``ResultType``, ``AuthenticationRequirement``, ``OperationName``); the same record reaches sekimori in
three shapes (the ``entra`` reader keeps each in ``raw`` as written): those Log Analytics columns, the
Azure Monitor diagnostic envelope (``resultType`` beside ``properties.{authenticationRequirement…}``)
and Microsoft Graph (``status.errorCode``, ``authenticationRequirement``). A field is therefore tried at
the top and under ``properties``, with its first letter in either case (``json_paths``), and these
names that differ between shapes are read by their equivalents:

- ``ResultType``: also ``status.errorCode`` (Graph; 0 is success);
- ``ResultDescription``: also ``status.failureReason``;
- ``Status``: a text status where the record has one (the portal's download; an audit record's
  ``result``), else ``Success`` for error code 0 and ``Failure`` for any other;
- ``ClientApp``: ``clientAppUsed``; ``Username``: ``userPrincipalName``;
- ``properties.message`` (the Azure activity log's operation text, which the audit rules use):
  ``activityDisplayName`` (Sentinel's ``OperationName``).

These equivalences are sekimori's reading; no pySigma pipeline defines one for these logs.
"""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import FieldRead, SigmaSource, in_list, json_paths, register

SIGNIN_CHANNELS = (
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
)
PREFIXES = ("$", "$.properties")
ALIASES: dict[str, tuple[str, ...]] = {
    "resulttype": ("ResultType", "status.errorCode"),
    "resultdescription": ("ResultDescription", "status.failureReason"),
    "clientapp": ("ClientAppUsed", "ClientApp"),
    "username": ("UserPrincipalName", "Username"),
    "devicedetail.trusttype": ("DeviceDetail.trustType",),
    "properties.message": ("activityDisplayName", "OperationName"),
}


def _paths(field: str) -> tuple[str, ...]:
    names = ALIASES.get(field.lower(), (field,))
    out: list[str] = []
    for name in names:
        out += json_paths(name, PREFIXES, case_variants=True)
    return tuple(dict.fromkeys(out))


def first_of(paths: tuple[str, ...]) -> str:
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    return f"list_filter(json_extract_string(_doc, [{listed}]), lambda v: v IS NOT NULL)[1]"


def _status_sql() -> str:
    text = first_of(json_paths("Status", PREFIXES, case_variants=True) + _paths("Result"))
    code = first_of(_paths("status.errorCode"))
    return (
        f"CASE WHEN {text} IS NOT NULL AND NOT starts_with({text}, '{{') THEN {text} "
        f"WHEN {code} IS NULL THEN NULL WHEN {code} = '0' THEN 'Success' ELSE 'Failure' END"
    )


@register
class EntraSource(SigmaSource):
    name: ClassVar[str] = "entra"
    description: ClassVar[str] = "Entra ID sign-in and audit records in every export shape"
    formats: ClassVar[tuple[str, ...]] = ("entra",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        if product == "azure" and category is None and service in ("signinlogs", "auditlogs"):
            return service
        return None

    def where(self, kind: str) -> str:
        channels = SIGNIN_CHANNELS if kind == "signinlogs" else ("AuditLogs",)
        return f"source_format = 'entra' AND {in_list('channel', channels)}"

    def read(self, kind: str, field: str) -> FieldRead:
        if field == "Status":
            return FieldRead(sql=_status_sql())
        return FieldRead(paths=_paths(field))
