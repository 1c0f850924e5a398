"""The Windows mapping, checked on real records from tests/data/evtx (see ATTRIBUTION.md)."""

from pathlib import Path

import pyarrow.compute as pc

from sekimori.ingest.readers.evtx import EvtxReader
from sekimori.ingest.windows import WINDOWS_EVENTS, mapping_markdown
from tests.conftest import DATA, REPO, read_all


def _rows(name: str, code: str) -> list[dict]:
    table, _ = read_all(EvtxReader, DATA / "evtx" / name)
    return table.filter(pc.equal(table["event_code"], code)).to_pylist()


def test_4624_network_logon_names_account_source_and_target():
    rows = _rows("LM_ScheduledTask_ATSVC_target_host.evtx", "4624")
    remote = [r for r in rows if r["logon_type"] == 3 and r["src_ip"] == "10.0.2.17"]
    assert remote, rows
    r = remote[0]
    assert r["category"] == "authentication" and r["activity"] == "logon" and r["outcome"] == "success"
    assert r["ocsf_class_uid"] == 3002 and r["ocsf_class_name"] == "Authentication"
    assert r["target_host"] == r["host"] == "WIN-77LTAPHIQ1R.example.corp"
    assert r["auth_package"] in ("NTLM", "Kerberos", "Negotiate")
    assert r["principal"] and "\\" not in r["principal"]


def test_4625_failure_takes_the_substatus_as_reason():
    rows = _rows("CA_4624_4625_LogonType2_LogonProc_chrome.evtx", "4625")
    assert rows
    assert all(r["outcome"] == "failure" for r in rows)
    assert rows[0]["status"] == "0xc000006a"  # wrong password, from SubStatus
    assert rows[0]["logon_type"] == 2


def test_kerberos_4768_4771_carry_ip_status_and_outcome():
    tgt = _rows("kerberos_pwd_spray_4771.evtx", "4768")
    pre = _rows("kerberos_pwd_spray_4771.evtx", "4771")
    assert pre and all(r["outcome"] == "failure" and r["auth_package"] == "Kerberos" for r in pre)
    assert all(r["src_ip"] and not r["src_ip"].startswith("::ffff:") for r in pre)
    assert all(r["outcome"] == ("success" if r["status"] == "0x0" else "failure") for r in tgt)


def test_4769_splits_user_at_realm_and_keeps_the_service():
    rows = _rows("samaccount_spoofing_CVE-2021-42287_CVE-2021-42278_DC_securitylogs.evtx", "4769")
    assert rows
    for r in rows:
        assert "@" not in (r["principal"] or "")
        assert r["object"] and r["object_type"] == "SERVICE"
        assert r["domain"]


def test_4648_explicit_credentials_point_at_the_target_server():
    rows = _rows("LM_WMIC_4648_rpcss.evtx", "4648")
    assert rows
    assert all(r["activity"] == "explicit_credentials" and r["target_host"] for r in rows)
    assert all(r["src_host"] == r["host"] for r in rows)


def test_7045_service_install_and_sysmon_1_3_10():
    svc = _rows("LM_Remote_Service02_7045.evtx", "7045")
    assert svc and all(r["object_type"] == "SERVICE" and r["command_line"] for r in svc)
    procs = _rows("LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx", "1")
    assert procs and all(r["process"] and r["command_line"] and r["parent_process"] for r in procs)
    assert all(r["principal"] and "\\" not in r["principal"] and r["domain"] for r in procs)
    net = _rows("LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx", "3")
    assert net and all(r["category"] == "network" and r["target_ip"] and r["target_port"] for r in net)
    access = _rows("sysmon_10_lsass_mimikatz_sekurlsa_logonpasswords.evtx", "10")
    assert access and access[0]["object"].lower().endswith("lsass.exe")
    assert access[0]["action"].startswith("0x")


def test_5140_and_5145_are_data_access_with_the_share_path():
    shares = _rows("LM_ScheduledTask_ATSVC_target_host.evtx", "5140")
    files = _rows("LM_ScheduledTask_ATSVC_target_host.evtx", "5145")
    assert shares and files
    assert all(r["category"] == "data_access" and r["object"] for r in shares + files)
    assert any("\\" in r["object"] for r in files)  # share\relative target


def test_unmapped_events_are_generic_but_keep_their_raw_record():
    table, _ = read_all(EvtxReader, DATA / "evtx" / "LM_ScheduledTask_ATSVC_target_host.evtx")
    generic = table.filter(pc.equal(table["event_code"], "4698")).to_pylist()  # scheduled task created
    assert generic
    assert generic[0]["category"] == "generic" and generic[0]["ocsf_class_uid"] == 0
    assert '"TaskName"' in generic[0]["raw"]


def test_the_documented_mapping_is_the_one_in_the_code():
    doc = (REPO / "docs" / "windows-mapping.md").read_text()
    assert doc == mapping_markdown()
    for ev in WINDOWS_EVENTS:
        assert f"{ev.event_id}:" in doc


def test_all_issue_event_ids_are_mapped():
    mapped = {ev.event_id for ev in WINDOWS_EVENTS}
    wanted = {4624, 4625, 4634, 4647, 4648, 4672, 4688, 4768, 4769, 4771, 4776, 5140, 5145, 7045, 1, 3, 10}
    assert wanted <= mapped
    assert Path(DATA / "ATTRIBUTION.md").exists()


def test_a_share_name_that_is_not_text_is_written_as_text_and_loses_no_record(tmp_path):
    """A 5145 record whose ShareName is a number or an object (an export that typed it) is read as that
    value's text; it once raised inside the mapping and failed the file, losing every later record."""
    import orjson

    from sekimori.ingest.readers.windows_json import WindowsJsonReader

    real = _rows("LM_ScheduledTask_ATSVC_target_host.evtx", "5145")[0]
    doc = orjson.loads(real["raw"])
    target = doc["Event"]["EventData"]["RelativeTargetName"]
    lines = []
    for share in ("\\\\*\\IPC$", 12345, {"a": 1}, "\\\\*\\C$"):
        doc["Event"]["EventData"]["ShareName"] = share
        lines.append(orjson.dumps(doc))
    path = tmp_path / "shares.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    table, quarantine = read_all(WindowsJsonReader, path)
    assert [q.records for q in quarantine] == [[]]
    assert table.column("object").to_pylist() == [
        f"\\\\*\\IPC$\\{target}",
        f"12345\\{target}",
        f'{{"a":1}}\\{target}',
        f"\\\\*\\C$\\{target}",
    ]
