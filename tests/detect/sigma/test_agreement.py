"""The SigmaHQ rules on the real EVTX attack samples, against pySigma's reference and hand oracles.

The rules another Sigma engine judged differently (issue 12, item 3) are held here, event for event, to
pySigma's SQLite backend with pySigma's own Sysmon, Windows log source and Windows audit pipelines
(``reference.py``), and where the rule is simple enough to a plain-Python reading of the raw records.
"""

from __future__ import annotations

import json
from pathlib import PureWindowsPath

import pytest

from sekimori.detect.sigma.passes import run_groups
from sekimori.detect.sigma.reference import build_sqlite, reference_matches, store_rows
from sekimori.detect.sigma.rules import load_ruleset
from sekimori.store import Store
from tests.conftest import corpus

pytestmark = pytest.mark.corpus

NON_INTERACTIVE_POWERSHELL = "f4bbd493-b796-416e-bbf2-121235348529"
CMD_OUTPUT_REDIRECT = "8e0bb260-d4b2-4fff-bb8d-3f82118e6892"
SQL_SERVER_CHILD = "869b9ca7-9ea2-4a5a-8325-e80e62f75445"
DNS_REGSVR32 = "36e037c4-c228-4866-b6a3-48eb292b9955"
MSI_SUSPICIOUS_LOCATION = "c7c8aa1c-5aff-408e-828b-998e3620b341"
MIMIKATZ = "06d71506-7beb-4f22-8888-e2e5e2ca7fd8"
SHIM_DATABASE = "dfb5b4e8-91d0-4291-b40a-e3b0d3942c45"
# process_creation rules that fire on a Security 4688 record of the corpus
TASKLIST = "63332011-f057-496c-ad8d-d2b6afb27f96"
TUNNELING_TOOL = "c75309a3-59f8-4a8d-9c2c-4c927ad50555"
WMIPRVSE_CHILD = "d21374ff-f574-44a7-9998-4a8c8bf33d7d"
NAMED = [NON_INTERACTIVE_POWERSHELL, CMD_OUTPUT_REDIRECT, SQL_SERVER_CHILD, DNS_REGSVR32]
AUDIT = [TASKLIST, TUNNELING_TOOL, WMIPRVSE_CHILD]
OTHERS = [MSI_SUSPICIOUS_LOCATION, MIMIKATZ, SHIM_DATABASE]


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("evtx-attack-samples"))
    store.ingest([str(corpus("evtx-attack-samples"))])
    con = store.connect()
    ruleset = load_ruleset()
    wanted = set(NAMED + AUDIT + OTHERS)
    rules = [r for r in ruleset.rules if r.id in wanted]
    assert {r.id for r in rules} == wanted
    matches = run_groups(con, rules)
    ours: dict[str, set[str]] = {rid: set() for rid in wanted}
    for i, uid in zip(
        matches.column("rule_index").to_pylist(), matches.column("uid").to_pylist(), strict=True
    ):
        ours[ruleset.rules[i].id].add(uid)
    ref = reference_matches(build_sqlite(store_rows(con)), [None], only=wanted)
    theirs: dict[str, set[str]] = {rid: set() for rid in wanted}
    for rid, uid in ref.matches:
        theirs[rid].add(uid)
    records = {
        uid: (code, json.loads(raw))
        for uid, code, raw in con.execute("SELECT uid, event_code, raw FROM events").fetchall()
    }
    return ours, theirs, ref, records


def _data(record: dict) -> dict:
    return record["Event"].get("EventData") or {}


@pytest.mark.parametrize("rule_id", NAMED + AUDIT + [MSI_SUSPICIOUS_LOCATION, SHIM_DATABASE])
def test_same_events_as_the_reference(corpus_run, rule_id):
    ours, theirs, ref, _ = corpus_run
    assert rule_id in ref.converted
    assert ours[rule_id] == theirs[rule_id]


def _name(rec: dict, field: str) -> str:
    return PureWindowsPath(str(_data(rec).get(field) or "")).name.lower()


def _on_4688(ours: set[str], records: dict) -> set[str]:
    return {u for u in ours if records[u][0] == "4688"}


def test_process_creation_rules_read_security_4688(corpus_run):
    """The rules read by hand on the 4688 records, with the pipeline's names: Image → NewProcessName,
    ParentImage → ParentProcessName, LogonId → SubjectLogonId; 4688 has no OriginalFileName or User."""
    ours, _, _, records = corpus_run
    security = {uid: rec for uid, (code, rec) in records.items() if code == "4688"}
    tasklist = {
        uid
        for uid, rec in security.items()
        if "tasklist" in str(_data(rec).get("CommandLine") or "").lower()
        or _name(rec, "NewProcessName") == "tasklist.exe"
    }
    tunnels = ("httptunnel.exe", "plink.exe", "socat.exe", "stunnel.exe")
    tunneling = {uid for uid, rec in security.items() if _name(rec, "NewProcessName") in tunnels}
    wmiprvse = {
        uid
        for uid, rec in security.items()
        if _name(rec, "ParentProcessName") == "wmiprvse.exe"
        and _data(rec).get("SubjectLogonId") not in (None, "0x3e7", "null")
        and _name(rec, "NewProcessName") not in ("wmiprvse.exe", "werfault.exe")
    }
    assert tasklist and tunneling and wmiprvse
    assert _on_4688(ours[TASKLIST], records) == tasklist
    assert _on_4688(ours[TUNNELING_TOOL], records) == tunneling
    assert _on_4688(ours[WMIPRVSE_CHILD], records) == wmiprvse


def test_msi_install_reads_each_data_value(corpus_run):
    """MsiInstaller 1040/1042 give their values as unnamed <Data> elements. Read as the JSON text of
    the list, every path matched the rule's UNC-path value (two backslashes, which is how JSON escapes
    one): 298 false positives on this corpus. Read value by value, as here by hand, none matches."""
    ours, _, _, records = corpus_run
    needles = [":\\windows\\temp\\", "\\\\", "\\desktop\\", "\\perflogs\\", "\\users\\public\\"]
    excluded = ["\\appdata\\local\\temp\\winget\\", "c:\\windows\\temp\\updhealthtools.msi"]
    msi = {
        uid: rec
        for uid, (code, rec) in records.items()
        if code in ("1040", "1042")
        and rec["Event"]["System"]["Provider"]["#attributes"]["Name"] == "MsiInstaller"
    }

    def values(rec: dict) -> list[str]:
        data = _data(rec).get("Data")
        items = data.get("#text") if isinstance(data, dict) else data
        return [str(v).lower() for v in (items if isinstance(items, list) else [items]) if v is not None]

    by_hand = {
        uid
        for uid, rec in msi.items()
        if any(n in v for v in values(rec) for n in needles)
        and not any(x in v for v in values(rec) for x in excluded)
    }
    assert ours[MSI_SUSPICIOUS_LOCATION] == by_hand
    # Every value with a backslash is two backslashes in JSON text, which the rule's UNC value matched.
    escaped = {uid for uid, rec in msi.items() if "\\\\" in json.dumps(_data(rec)["Data"])}
    assert escaped and not escaped & by_hand


def test_shim_database_persistence_is_a_true_positive(corpus_run):
    """Sysmon 13 on AppCompatFlags\\InstalledSDB or \\Custom with a non-empty value: the shim sample's
    own registry writes. The rule's filters drop only empty values; none of these is empty."""
    ours, _, _, records = corpus_run
    keys = [
        "\\software\\microsoft\\windows nt\\currentversion\\appcompatflags\\" + k
        for k in ("installedsdb\\", "custom\\")
    ]
    by_hand = {
        uid
        for uid, (code, rec) in records.items()
        if code == "13"
        and rec["Event"]["System"]["Channel"] == "Microsoft-Windows-Sysmon/Operational"
        and any(k in str(_data(rec).get("TargetObject", "")).lower() for k in keys)
        and _data(rec).get("Details") not in (None, "", "(Empty)")
    }
    assert ours[SHIM_DATABASE] == by_hand and len(by_hand) == 30


def test_mimikatz_keywords_as_field_values(corpus_run):
    """A keyword rule (the reference backend cannot run it): sekimori searches the record's text; by
    hand, every field value of every record, case-insensitively, leaving out Sysmon 15 as the rule does."""
    ours, _, ref, records = corpus_run
    assert "Value-only" in ref.failures[MIMIKATZ]
    keywords = [
        "dpapi::masterkey", "eo.oe.kiwi", "event::clear", "event::drop", "gentilkiwi.com",
        "kerberos::golden", "kerberos::ptc", "kerberos::ptt", "kerberos::tgt", "kiwi legit printer",
        "lsadump::", "mimidrv.sys", "\\mimilib.dll", "misc::printnightmare", "misc::shadowcopies",
        "misc::skeleton", "privilege::backup", "privilege::debug", "privilege::driver", "sekurlsa::",
    ]  # fmt: skip

    def leaves(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in leaves(v)]
        if isinstance(node, list):
            return [s for v in node for s in leaves(v)]
        return [] if node is None else [str(node).lower()]

    by_hand = {
        uid
        for uid, (code, rec) in records.items()
        if code != "15" and any(k in v for v in leaves(rec) for k in keywords)
    }
    assert ours[MIMIKATZ] == by_hand


def test_named_rules_on_otrf_security_4688(tmp_path):
    """The same rules on OTRF's NXLog-flattened records (Empire's fodhelper UAC bypass), where Windows
    logged the PowerShell processes both as Sysmon 1 and as Security 4688: both are judged."""
    zipped = corpus(
        "security-datasets", "datasets", "atomic", "windows", "privilege_escalation", "host",
        "empire_uac_shellapi_fodhelper.zip",
    )  # fmt: skip
    store = Store(tmp_path / "store")
    store.ingest([str(zipped)])
    con = store.connect()
    ruleset = load_ruleset()
    rules = [r for r in ruleset.rules if r.id in NAMED]
    matches = run_groups(con, rules)
    ours = {
        (ruleset.rules[i].id, uid)
        for i, uid in zip(
            matches.column("rule_index").to_pylist(), matches.column("uid").to_pylist(), strict=True
        )
    }
    ref = reference_matches(build_sqlite(store_rows(con, ("windows_json",))), [None], only=set(NAMED))
    assert ours == ref.matches
    # by hand: 4688 records of powershell.exe/pwsh.exe whose parent is none of the rule's filters
    parents = {
        "explorer.exe",
        "compattelrunner.exe",
        "setuphost.exe",
        "code.exe",
        "windowsterminal.exe",
        "senseir.exe",
    }
    by_hand = set()
    for uid, code, raw in con.execute("SELECT uid, event_code, raw FROM events").fetchall():
        rec = json.loads(raw)
        image = PureWindowsPath(str(rec.get("NewProcessName") or "")).name.lower()
        parent = PureWindowsPath(str(rec.get("ParentProcessName") or "")).name.lower()
        if code == "4688" and image in ("powershell.exe", "pwsh.exe") and parent not in parents:
            by_hand.add(uid)
    codes = dict(con.execute("SELECT uid, event_code FROM events").fetchall())
    on_4688 = {u for r, u in ours if r == NON_INTERACTIVE_POWERSHELL and codes[u] == "4688"}
    assert by_hand and on_4688 == by_hand
