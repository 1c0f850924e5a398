"""The Entra ID reader on each export shape Microsoft documents (fixtures in tests/data/entra, see its
README): Graph pages (beta sign-ins, v1.0 directory audits), the Azure Monitor diagnostic record as
storage writes it (one per line) and as Event Hub delivers it (``records``), Log Analytics rows
(PascalCase, nested columns as JSON strings) and the portal's CSV download. Expected values are read off
the fixtures by hand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from sekimori.ingest.base import Quarantine
from sekimori.ingest.readers.entra import EntraReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source
from tests.conftest import DATA

ENTRA = DATA / "entra"
HOME = "4f7a7bc2-28e2-46a3-b90e-5ade5bc90138"
RESOURCE = "99081087-73c4-48d1-a112-f60ff75114f7"


def _rows(path: Path) -> list[dict]:
    source = Source(str(path), path)
    q = Quarantine(source)
    table = pa.Table.from_batches(list(EntraReader().read(source, q)), schema=EVENT_SCHEMA)
    assert len(q) == 0, q.records
    return table.to_pylist()


def test_graph_beta_signins_page() -> None:
    (row,) = _rows(ENTRA / "graph_beta_signins_page.json")
    assert row["time"] == datetime(2021, 6, 30, 16, 34, 32, tzinfo=UTC)
    assert (row["principal"], row["domain"], row["src_ip"]) == (
        "testaccount1",
        "contoso.com",
        "131.107.159.37",
    )
    assert (row["outcome"], row["status"]) == ("failure", "50126")
    assert (row["mfa_used"], row["mfa_method"]) == (
        False,
        None,
    )  # singleFactorAuthentication, password failed
    # The example repeats homeTenantId; a JSON object keeps the last value, as Python's json does.
    page = json.loads((ENTRA / "graph_beta_signins_page.json").read_text())
    assert row["tenant"] == page["value"][0]["homeTenantId"] == RESOURCE
    assert (row["resource_tenant"], row["cross_tenant"]) == (RESOURCE, "none")
    assert (row["application"], row["object"]) == ("Azure Portal", "Windows Azure Service Management API")
    assert (row["auth_package"], row["protocol"], row["conditional_access"]) == (
        "Browser",
        "oAuth2",
        "notApplied",
    )
    assert row["user_agent"].endswith("Edg/91.0.864.54")
    assert row["channel"] == "SignInLogs" and row["ocsf_class_uid"] == 3002
    assert json.loads(row["raw"])["id"] == "1691d37b-8579-43a7-966a-0f35583c1300"


def _azure_monitor_expectations(row: dict) -> None:
    assert row["time"] == datetime(2019, 3, 12, 16, 2, 15, 552213, tzinfo=UTC)
    assert (row["outcome"], row["status"]) == ("failure", "50140")  # the 'Keep me signed in' interrupt
    # authenticationDetails: "Previously satisfied", step "Multi-factor authentication", succeeded.
    assert (row["mfa_used"], row["mfa_method"]) == (True, "claim in token")
    assert (row["tenant"], row["resource_tenant"]) == (
        "<USER HOME TENANT ID>",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
    )
    assert (row["application"], row["object"]) == ("Azure Portal", "Office 365 SharePoint Online")
    assert (row["principal"], row["src_ip"]) == ("<USER PRINCIPAL NAME>", "<IP ADDRESS>")
    assert (row["auth_package"], row["conditional_access"], row["channel"]) == (
        "Browser",
        "notApplied",
        "SignInLogs",
    )


def test_azure_monitor_record_from_storage_one_per_line() -> None:
    path = ENTRA / "azure_monitor_storage_lines.json"
    (row,) = _rows(path)
    _azure_monitor_expectations(row)
    assert row["raw"] == path.read_text().strip()


def test_azure_monitor_records_from_event_hub() -> None:
    path = ENTRA / "azure_monitor_eventhub_records.json"
    (row,) = _rows(path)
    _azure_monitor_expectations(row)
    assert json.loads(row["raw"]) == json.loads(path.read_text())["records"][0]


def test_graph_directory_audits_pages() -> None:
    (row,) = _rows(ENTRA / "graph_v1_directoryaudits_page.json")
    assert row["time"] == datetime(2018, 1, 9, 21, 20, 2, 721537, tzinfo=UTC)
    assert (row["principal"], row["domain"], row["src_ip"]) == ("bob", "wingtiptoysonline.com", "127.0.0.1")
    assert (row["object"], row["object_type"]) == ("Example.com", "Group")  # "Type", capitalised
    assert (row["event_code"], row["outcome"], row["provider"]) == (
        "Add member to group",
        "success",
        "Core Directory",
    )
    assert (row["channel"], row["category"], row["ocsf_class_uid"]) == ("AuditLogs", "generic", 6003)
    (other,) = _rows(ENTRA / "graph_v1_directoryaudits_page2.json")  # a page with @microsoft.graph.tips
    assert (other["principal"], other["src_ip"], other["action"]) == (
        "00000000-0000-0000-0000-000000000000",  # no name: the user's object id
        "10.0.0.0",
        "Update",
    )


def test_log_analytics_rows() -> None:
    guest, member, service = _rows(ENTRA / "log_analytics_signins.json")
    assert guest["time"] == datetime(
        2021, 6, 30, 16, 34, 32, tzinfo=UTC
    )  # CreatedDateTime, not TimeGenerated
    assert (guest["principal"], guest["domain"]) == ("guest.user", "fabrikam.com")
    assert (guest["tenant"], guest["resource_tenant"], guest["cross_tenant"]) == (
        HOME,
        RESOURCE,
        "b2bCollaboration",
    )
    assert (guest["mfa_used"], guest["mfa_method"]) == (True, "Mobile app notification")
    assert (guest["outcome"], guest["status"], guest["conditional_access"]) == ("success", "0", "success")
    # Status as a JSON string; no home tenant but crossTenantAccessType none: a member of the directory.
    assert member["channel"] == "NonInteractiveUserSignInLogs"
    assert (member["outcome"], member["status"]) == ("failure", "50126")
    assert (member["tenant"], member["resource_tenant"]) == (RESOURCE, RESOURCE)
    assert (member["mfa_used"], member["user_agent"]) == (False, None)
    assert service["channel"] == "ServicePrincipalSignInLogs"
    assert (service["principal"], service["domain"], service["tenant"]) == ("backup-automation", None, None)
    assert (service["application"], service["mfa_used"], service["outcome"]) == (
        "Microsoft Graph",
        None,
        "success",
    )


def test_portal_csv_signins() -> None:
    guest, member = _rows(ENTRA / "portal_signins.csv")
    assert guest["record_id"] == 2 and member["record_id"] == 3  # line numbers
    assert guest["cross_tenant"] == "b2bCollaboration"  # "B2B collaboration"
    assert (guest["tenant"], guest["resource_tenant"]) == (HOME, RESOURCE)
    assert (guest["mfa_used"], guest["mfa_method"]) == (True, "Mobile app notification")
    assert (guest["conditional_access"], guest["outcome"], guest["status"]) == ("success", "success", "0")
    assert (member["conditional_access"], member["cross_tenant"]) == ("notApplied", "none")  # "Not Applied"
    assert (member["outcome"], member["status"], member["mfa_used"]) == ("failure", "50126", False)
    assert (member["auth_package"], member["user_agent"], member["src_ip"]) == (
        "Other clients",
        "curl/7.68.0",
        "203.0.113.7",
    )
    assert json.loads(member["raw"])["Username"] == "testaccount1@contoso.com"


def test_portal_csv_audit() -> None:
    (row,) = _rows(ENTRA / "portal_audit.csv")
    assert (row["principal"], row["domain"], row["src_ip"]) == ("bob", "wingtiptoysonline.com", "127.0.0.1")
    assert (row["event_code"], row["outcome"], row["object"], row["object_type"]) == (
        "Add member to group",
        "success",
        "Example.com",
        "Group",
    )


def test_a_file_mixing_shapes(tmp_path: Path) -> None:
    storage = (ENTRA / "azure_monitor_storage_lines.json").read_text().strip()
    log_analytics = (ENTRA / "log_analytics_signins.json").read_text().splitlines()[0]
    graph = json.dumps(json.loads((ENTRA / "graph_v1_directoryaudits_page.json").read_text())["value"][0])
    path = tmp_path / "mixed.json"
    path.write_text("\n".join([storage, log_analytics, graph]) + "\n")
    rows = _rows(path)
    assert [r["record_id"] for r in rows] == [1, 2, 3]
    assert [r["principal"] for r in rows] == ["<USER PRINCIPAL NAME>", "guest.user", "bob"]


def test_an_array_of_event_hub_messages(tmp_path: Path) -> None:
    message = json.loads((ENTRA / "azure_monitor_eventhub_records.json").read_text())
    path = tmp_path / "messages.json"
    path.write_text(json.dumps([message, message], indent=2))
    source = Source(str(path), path)
    assert EntraReader.sniff(source.head(), source) == 0.95
    rows = _rows(path)
    assert [r["record_id"] for r in rows] == [1, 2]
    assert {r["status"] for r in rows} == {"50140"}


def test_a_page_larger_than_the_sniffing_head(tmp_path: Path) -> None:
    page = json.loads((ENTRA / "graph_beta_signins_page.json").read_text())
    page["value"] = page["value"] * 200  # ~0.5 MB pretty-printed: the 64 KiB head ends inside it
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=2))
    source = Source(str(path), path)
    head = source.head()
    assert len(head) < path.stat().st_size
    assert EntraReader.sniff(head, source) == 0.8  # by the @odata.context of auditLogs/signIns
    rows = _rows(path)
    assert len(rows) == 200 and rows[-1]["record_id"] == 200
