"""The true source (client) of RDP and other logons, on real records (tests/data/rdp, see its README).

Every expected value below was read by hand from the raw record (the `evtx` parser's JSON of the EVTX
file, or the line of the JSON file) and is written here as a fact about that record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sekimori.ingest.readers.evtx import EvtxReader
from sekimori.ingest.readers.windows_json import WindowsJsonReader
from sekimori.ingest.readers.zeek import ZeekReader
from sekimori.ingest.windows import mapping_markdown
from tests.conftest import DATA, REPO, read_all

RDP = DATA / "rdp"
DEMO_LOGS = REPO / "sekimori" / "demo" / "data" / "logs"  # real EVTX-ATTACK-SAMPLES files (ATTRIBUTION.md)
COLUMNS = ("src_host", "src_ip", "src_port", "target_host", "target_ip", "target_port")


def _by_record(reader: Any, path: Path) -> dict[int, dict[str, Any]]:
    table, quarantines = read_all(reader, path)
    assert all(len(q) == 0 for q in quarantines)
    return {r["record_id"]: r for r in table.to_pylist()}


def _where(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in COLUMNS)


def test_4624_type_10_takes_the_client_address_not_the_targets_own_workstation_name():
    rows = _by_record(EvtxReader, RDP / "DE_RDP_Tunneling_4624.evtx")
    # EventRecordID 5315 on PC02.example.corp: LogonType 10, IEUser, WorkstationName "PC02" (the host's
    # own name), IpAddress "127.0.0.1", IpPort "49164" (an RDP tunnelled through the host itself)
    rdp = rows[5315]
    assert (rdp["logon_type"], rdp["principal"], rdp["host"]) == (10, "IEUser", "PC02.example.corp")
    assert _where(rdp) == (None, "127.0.0.1", 49164, "PC02.example.corp", None, None)
    # EventRecordID 5322: LogonType 3 (NTLM), WorkstationName "PC01", IpAddress "10.0.2.17", IpPort
    # "49168": for a network logon the workstation name is the client's, and stays the source
    assert _where(rows[5322]) == ("PC01", "10.0.2.17", 49168, "PC02.example.corp", None, None)
    # EventRecordID 5308: LogonType 2 (console), WorkstationName "PC02", IpAddress "127.0.0.1": unchanged
    assert rows[5308]["logon_type"] == 2
    assert _where(rows[5308]) == ("PC02", "127.0.0.1", 0, "PC02.example.corp", None, None)


def test_a_type_10_logon_its_4648_and_the_other_logons_of_the_demo_rdp_tunnel():
    rows = _by_record(EvtxReader, DEMO_LOGS / "DE_RDP_Tunnel_5156.evtx")
    # 227762 on PC01.example.corp: LogonType 10, admin01, WorkstationName "PC01", IpAddress "127.0.0.1",
    # IpPort "49274"
    assert (rows[227762]["logon_type"], rows[227762]["principal"]) == (10, "admin01")
    assert _where(rows[227762]) == (None, "127.0.0.1", 49274, "PC01.example.corp", None, None)
    # 227761, 4648 by winlogon for that logon: TargetServerName "localhost", IpAddress "127.0.0.1",
    # IpPort "49274": the source is the recording computer, the address the target's
    assert _where(rows[227761]) == ("PC01.example.corp", None, None, "localhost", "127.0.0.1", 49274)
    # 227740: LogonType 3 with NTLM, WorkstationName "PC02", IpAddress "-": the client's name
    assert _where(rows[227740]) == ("PC02", None, None, "PC01.example.corp", None, None)
    # 227708: LogonType 7 (unlock) with IpAddress "-": no client address, the workstation name stays
    assert rows[227708]["logon_type"] == 7
    assert _where(rows[227708]) == ("PC01", None, None, "PC01.example.corp", None, None)


def test_4778_session_reconnect_and_the_type_7_unlock_of_a_reconnected_rdp_session():
    rows = _by_record(WindowsJsonReader, RDP / "otrf_rdp_reconnect.json")
    # RecordNumber 821627: 4778 on WORKSTATION5.theshire.local, AccountName "pgustavo", AccountDomain
    # "THESHIRE", SessionName "RDP-Tcp#5", ClientName "robertos-mbp", ClientAddress "1.2.3.4"
    reconnect = rows[821627]
    assert (reconnect["category"], reconnect["activity"], reconnect["outcome"]) == (
        "authentication",
        "session_reconnect",
        "success",
    )
    assert (reconnect["principal"], reconnect["domain"], reconnect["logon_type"]) == (
        "pgustavo",
        "THESHIRE",
        10,
    )
    assert _where(reconnect) == ("robertos-mbp", "1.2.3.4", None, "WORKSTATION5.theshire.local", None, None)
    assert reconnect["object"] == "RDP-Tcp#5" and reconnect["logon_id"] == "0x10ac67"
    # 821760 and 821762: 4624 LogonType 7, WorkstationName "WORKSTATION5" (the host's own name),
    # IpAddress "1.2.3.4", IpPort "0": the unlock of the reconnected session, from the RDP client
    for record in (821760, 821762):
        assert rows[record]["logon_type"] == 7
        assert _where(rows[record]) == (None, "1.2.3.4", 0, "WORKSTATION5.theshire.local", None, None)
    # 821810: 4624 LogonType 7 by lsass, WorkstationName "WORKSTATION5", IpAddress "-": no address
    assert _where(rows[821810]) == ("WORKSTATION5", None, None, "WORKSTATION5.theshire.local", None, None)
    # 3402887: Sysmon 3, Initiated "false", SourceIp "1.2.3.4" SourcePort "61010", DestinationIp
    # "172.18.39.5" DestinationPort "3389": the client is already the source
    assert _where(rows[3402887]) == (None, "1.2.3.4", 61010, None, "172.18.39.5", 3389)


def test_4779_session_disconnect_names_the_client():
    rows = _by_record(WindowsJsonReader, RDP / "otrf_rdp_disconnect.json")
    # RecordNumber 74528: 4779 on WORKSTATION5.theshire.local, AccountName "pgustavo", LogonID "0xa992d",
    # SessionName "RDP-Tcp#1", ClientName "robertos-mbp", ClientAddress "71.114.99.41"
    (row,) = rows.values()
    assert row["record_id"] == 74528
    assert (row["category"], row["activity"], row["principal"], row["logon_type"]) == (
        "authentication",
        "session_disconnect",
        "pgustavo",
        10,
    )
    assert _where(row) == ("robertos-mbp", "71.114.99.41", None, "WORKSTATION5.theshire.local", None, None)


def test_1149_rdp_authentication_takes_the_client_address_from_param3():
    rows = _by_record(WindowsJsonReader, RDP / "rdp_1149.jsonl")
    assert len(rows) == 11 and {r["activity"] for r in rows.values()} == {"rdp_authentication"}
    # EventRecordID 6 on IEWIN7: Param1 "administrator", Param2 "ie11win7", Param3 "10.0.2.16"
    six = rows[6]
    assert (six["principal"], six["domain"], six["logon_type"], six["outcome"]) == (
        "administrator",
        "ie11win7",
        10,
        "success",
    )
    assert _where(six) == (None, "10.0.2.16", None, "IEWIN7", None, None)
    # EventRecordID 225 on PC01.example.corp: Param3 "fe80::80ac:4126:fa58:1b81%10" (kept as logged)
    assert rows[225]["src_ip"] == "fe80::80ac:4126:fa58:1b81%10"
    # EventRecordID 228: Param1 "admin01", Param3 "127.0.0.1" (the tunnel of the demo)
    assert (rows[228]["principal"], rows[228]["src_ip"], rows[228]["target_host"]) == (
        "admin01",
        "127.0.0.1",
        "PC01.example.corp",
    )


def test_sysmon_3_accepted_rdp_written_with_the_listener_as_source_is_turned_round():
    rows = _by_record(EvtxReader, DEMO_LOGS / "DE_sysmon-3-rdp-tun.evtx")
    # 1940901: plink.exe, Initiated true, 127.0.0.1:49186 (PC01.example.corp) → 127.0.0.2:3389
    assert _where(rows[1940901]) == ("PC01.example.corp", "127.0.0.1", 49186, None, "127.0.0.2", 3389)
    # 1940902: svchost (TermService), Initiated false, SourceIp "127.0.0.2" SourcePort 3389 →
    # DestinationIp "127.0.0.1" (PC01.example.corp) DestinationPort 49186: the same connection seen by
    # the listener; its client is the destination side, so it reads as the record above
    assert _where(rows[1940902]) == ("PC01.example.corp", "127.0.0.1", 49186, None, "127.0.0.2", 3389)


def test_zeek_rdp_log_source_is_the_originator_and_its_client_name():
    # The WRCCDC record (uid CQMmYT1dvtjI5SCss6) of tests/data/zeek/rdp.log and rdp.json with client_name
    # "tenablese": id.orig_h 10.164.94.120, id.orig_p 33453, id.resp_h 10.47.8.151, id.resp_p 3389,
    # cookie "nessus", result "Success"
    for name in ("rdp.log", "rdp.json"):
        table, _ = read_all(ZeekReader, DATA / "zeek" / name)
        rows = [r for r in table.to_pylist() if r["src_host"] == "tenablese"]
        assert len(rows) == 1, name
        (row,) = rows
        assert _where(row) == ("tenablese", "10.164.94.120", 33453, None, "10.47.8.151", 3389)
        assert (row["principal"], row["activity"], row["outcome"]) == ("nessus", "remote_logon", "success")


def test_the_source_of_each_event_is_documented():
    doc = mapping_markdown()
    assert "## Source and target of a logon, per event" in doc
    for event in ("security 4624, 4625 (logon types 10, 12", "security 4648", "security 4778, 4779"):
        assert f"| {event}" in doc
    assert "microsoft-windows-terminalservices-remoteconnectionmanager/operational 1149" in doc
    assert "## security 4778: A session was reconnected to a Window Station" in doc
