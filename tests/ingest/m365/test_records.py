"""Unified audit log records → columns, for the shapes Microsoft documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sekimori.ingest.fit import BadValue
from sekimori.ingest.m365.records import m365_row, record_type_name


def test_graph_audit_log_record_camel_case():
    row = m365_row(
        {
            "id": "r1",
            "createdDateTime": "2024-03-01T10:00:00Z",
            "auditLogRecordType": "SharePointFileOperation",
            "operation": "FileDownloaded",
            "organizationId": "t-1",
            "userId": "ann@contoso.com",
            "clientIp": "[2001:db8::5]:443",
            "service": "SharePoint",
            "objectId": "https://contoso.sharepoint.com/a.docx",
        }
    )
    assert row["time"] == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert (row["principal"], row["domain"], row["src_ip"]) == ("ann", "contoso.com", "2001:db8::5")
    assert (row["application"], row["channel"], row["category"]) == (
        "SharePoint",
        "SharePointFileOperation",
        "data_access",
    )
    assert (row["tenant"], row["object"]) == ("t-1", "https://contoso.sharepoint.com/a.docx")


@pytest.mark.parametrize(
    ("status", "outcome", "kept"),
    [
        ("Succeeded", "success", None),
        ("Success", "success", None),
        ("True", "success", None),
        ("Failed", "failure", "Failed"),
        ("False", "failure", "False"),
        ("PartiallySucceeded", None, "PartiallySucceeded"),
    ],
)
def test_result_status(status, outcome, kept):
    row = m365_row(
        {"CreationTime": "2024-03-01T10:00:00", "Operation": "Set-Mailbox", "ResultStatus": status}
    )
    assert (row["outcome"], row["status"]) == (outcome, kept)


def test_home_tenant_sign_in_has_no_resource_tenant_and_error_number_is_status():
    row = m365_row(
        {
            "CreationTime": "2024-03-01T10:00:00",
            "Operation": "UserLoginFailed",
            "OrganizationId": "AAA",
            "ActorContextId": "aaa",
            "ErrorNumber": "50126",
            "ResultStatus": "Failed",
            "ActorIpAddress": "198.51.100.4",
        }
    )
    assert (row["tenant"], row["resource_tenant"]) == ("AAA", None)
    assert (row["outcome"], row["status"], row["src_ip"], row["activity"]) == (
        "failure",
        "50126",
        "198.51.100.4",
        "logon",
    )


def test_record_type_names():
    assert [record_type_name(v) for v in (15, "50", "ExchangeItem", 9999, None)] == [
        "AzureActiveDirectoryStsLogon",
        "ExchangeItemAggregated",
        "ExchangeItem",
        "9999",
        None,
    ]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"CreationTime": "2024-03-01T10:00:00"}, "Operation"),
        ({"Operation": "FileAccessed"}, "CreationTime"),
        ({"Operation": "FileAccessed", "CreationTime": "03/01/2024 10:00"}, "CreationTime"),
    ],
)
def test_unusable_records_name_the_field(record, field):
    with pytest.raises(BadValue) as err:
        m365_row(record)
    assert err.value.field == field
