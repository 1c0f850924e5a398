"""What a Microsoft 365 unified audit log record means in the event schema.

The record is the Office 365 Management Activity API's common schema
(https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema):
``CreationTime, Id, Operation, OrganizationId, RecordType, UserType, UserKey, Workload, UserId,
ClientIP, ResultStatus, ObjectId`` plus the workload's own fields (Exchange ``ClientIPAddress``,
``MailboxOwnerUPN``; Azure AD ``ActorIpAddress``, ``ExtendedProperties``, ``LogonError``; SharePoint
``UserAgent``, ``SourceFileName``). The same record also arrives as a Microsoft Sentinel
``OfficeActivity`` row (``TimeGenerated``, ``OfficeWorkload``, ``Client_IPAddress``, ``OfficeObjectId``),
and as a Graph ``auditLogRecord`` (camelCase: ``createdDateTime``, ``service``, ``clientIp``). Keys are
read in any case.
"""

from __future__ import annotations

from typing import Any

from sekimori.ingest.cloud.jsondocs import lower_keys
from sekimori.ingest.cloud.values import clean_ip, parse_time, split_account, text
from sekimori.ingest.fit import BadValue
from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, GENERIC, SUCCESS

OCSF_AUTHENTICATION = 3002
OCSF_API_ACTIVITY = 6003

# Operations that are sign-ins (Azure AD, Exchange mailbox log-ins) and that read content.
LOGON_OPERATIONS = {"userloggedin": SUCCESS, "userloginfailed": FAILURE, "mailboxlogin": None}
DATA_ACCESS_OPERATIONS = frozenset(
    {
        "mailitemsaccessed",
        "messagebind",
        "fileaccessed",
        "filedownloaded",
        "filesyncdownloadedfull",
        "filesyncdownloadedpartial",
    }
)
RESULTS = {
    "succeeded": SUCCESS,
    "success": SUCCESS,
    "true": SUCCESS,
    "failed": FAILURE,
    "failure": FAILURE,
    "false": FAILURE,
}
# AuditLogRecordType numbers (the API gives numbers, Sentinel and PowerShell names).
RECORD_TYPES = {
    1: "ExchangeAdmin",
    2: "ExchangeItem",
    3: "ExchangeItemGroup",
    4: "SharePoint",
    6: "SharePointFileOperation",
    7: "OneDrive",
    8: "AzureActiveDirectory",
    9: "AzureActiveDirectoryAccountLogon",
    10: "DataCenterSecurityCmdlet",
    11: "ComplianceDLPSharePoint",
    13: "ComplianceDLPExchange",
    14: "SharePointSharingOperation",
    15: "AzureActiveDirectoryStsLogon",
    16: "SkypeForBusinessPSTNUsage",
    17: "SkypeForBusinessUsersBlocked",
    18: "SecurityComplianceCenterEXOCmdlet",
    19: "ExchangeAggregatedOperation",
    20: "PowerBIAudit",
    21: "CRM",
    22: "Yammer",
    23: "SkypeForBusinessCmdlets",
    24: "Discovery",
    25: "MicrosoftTeams",
    28: "ThreatIntelligence",
    29: "MailSubmission",
    30: "MicrosoftFlow",
    31: "AeD",
    32: "MicrosoftStream",
    33: "ComplianceDLPSharePointClassification",
    34: "ThreatFinder",
    35: "Project",
    36: "SharePointListOperation",
    37: "SharePointCommentOperation",
    38: "DataGovernance",
    39: "Kaizala",
    40: "SecurityComplianceAlerts",
    41: "ThreatIntelligenceUrl",
    42: "SecurityComplianceInsights",
    43: "MIPLabel",
    44: "WorkplaceAnalytics",
    45: "PowerAppsApp",
    46: "PowerAppsPlan",
    47: "ThreatIntelligenceAtpContent",
    48: "LabelContentExplorer",
    49: "TeamsHealthcare",
    50: "ExchangeItemAggregated",
    51: "HygieneEvent",
    52: "DataInsightsRestApiAudit",
    53: "InformationBarrierPolicyApplication",
    54: "SharePointListItemOperation",
    55: "SharePointContentTypeOperation",
    56: "SharePointFieldOperation",
    57: "MicrosoftTeamsAdmin",
    58: "HRSignal",
    59: "MicrosoftTeamsDevice",
    60: "MicrosoftTeamsAnalytics",
    61: "InformationWorkerProtection",
    62: "Campaign",
    63: "DLPEndpoint",
    64: "AirInvestigation",
    65: "Quarantine",
    66: "MicrosoftForms",
}
# Keys of the same meaning in the shapes read, lower-cased, in order of preference.
TIME_KEYS = ("creationtime", "createddatetime", "timegenerated", "creationdate")
IP_KEYS = ("clientip", "clientipaddress", "actoripaddress", "client_ipaddress")
WORKLOAD_KEYS = ("workload", "officeworkload", "service")
OBJECT_KEYS = ("objectid", "officeobjectid", "sourcefilename", "mailboxownerupn")


def first(doc: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = doc.get(key)
        if text(value) is not None:
            return value
    return None


def record_type_name(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return RECORD_TYPES.get(value, str(value))
    name = text(value)
    if name is not None and name.isdigit():
        return RECORD_TYPES.get(int(name), name)
    return name


def _extended(doc: dict[str, Any]) -> dict[str, Any]:
    """Azure AD's ``ExtendedProperties`` ``[{Name, Value}]`` as a dict (lower-cased names)."""
    props = doc.get("extendedproperties")
    out: dict[str, Any] = {}
    if isinstance(props, list):
        for prop in props:
            if isinstance(prop, dict):
                low = lower_keys(prop)
                name = text(low.get("name"))
                if name is not None:
                    out[name.lower()] = low.get("value")
    return out


# The columns ``m365_values`` gives, in its order.
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
    "principal_sid",
    "outcome",
    "status",
    "src_ip",
    "tenant",
    "resource_tenant",
    "application",
    "user_agent",
    "object",
    "object_type",
    "action",
)


def m365_row(record: dict[str, Any]) -> dict[str, Any]:
    """The event columns of one audit record; ``BadValue`` names the field that makes it unusable."""
    return dict(zip(COLUMNS, m365_values(record), strict=True))


def m365_values(record: dict[str, Any]) -> tuple[Any, ...]:
    """``m365_row`` as a tuple in the order of ``COLUMNS`` (what the reader batches)."""
    doc = lower_keys(record)
    operation = text(doc.get("operation")) or text(doc.get("operations"))
    if operation is None:
        raise BadValue("Operation", "not a unified audit log record: no Operation")
    time_value = first(doc, TIME_KEYS)
    time = parse_time(time_value, "CreationTime")
    extended = _extended(doc)
    op = operation.lower()
    result = text(doc.get("resultstatus"))
    outcome = RESULTS.get((result or "").lower())
    if op in LOGON_OPERATIONS:
        outcome = LOGON_OPERATIONS[op] or outcome
    error = text(doc.get("errornumber")) or text(doc.get("logonerror"))
    status = error or (result if result is not None and RESULTS.get(result.lower()) != SUCCESS else None)
    principal, domain = split_account(doc.get("userid") or doc.get("userprincipalname") or doc.get("userids"))
    organization = text(doc.get("organizationid"))
    actor_tenant = text(doc.get("actorcontextid"))
    foreign = (
        actor_tenant is not None and organization is not None and actor_tenant.lower() != organization.lower()
    )
    if op in LOGON_OPERATIONS:
        category, ocsf, activity = AUTHENTICATION, OCSF_AUTHENTICATION, "logon"
    elif op in DATA_ACCESS_OPERATIONS:
        category, ocsf, activity = DATA_ACCESS, OCSF_API_ACTIVITY, operation
    else:
        category, ocsf, activity = GENERIC, OCSF_API_ACTIVITY, operation
    agent = text(doc.get("useragent")) or text(extended.get("useragent")) or text(doc.get("clientinfostring"))
    return (
        time,
        record_type_name(doc.get("recordtype") or doc.get("auditlogrecordtype")),
        "m365",
        operation,
        category,
        activity,
        ocsf,
        principal,
        domain,
        text(doc.get("logonusersid")),
        outcome,
        status,
        clean_ip(first(doc, IP_KEYS)),
        actor_tenant if foreign else organization,
        organization if foreign else None,
        text(first(doc, WORKLOAD_KEYS)),
        agent,
        text(first(doc, OBJECT_KEYS)),
        text(doc.get("itemtype")),
        text(extended.get("requesttype")),
    )
