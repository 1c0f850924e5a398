"""The LDAP connector against a real slapd (mdb backend, ppolicy overlay) started for this module, and
its AD variant against ldap3's mock server (AD itself cannot run here)."""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ldap3
import pytest
from ldap3.core.exceptions import LDAPInvalidCredentialsResult

from sekimori.respond.actions import Action, ActionKind, ConnectorError, Outcome, Plan
from sekimori.respond.connectors.ldap import LdapConnector
from tests.servers import free_port, server_missing

BASE = "dc=example,dc=test"
PEOPLE = f"ou=people,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PW = "admin-Secret-4711"
USERS = {"alice": "alice-Pw-1", "bob": "bob-Pw-2", "carol": "carol-Pw-3"}
POLICY = f"cn=default,ou=policies,{BASE}"

SCHEMA_DIRS = ("/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema")
MODULE_DIRS = ("/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap")


def dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


@dataclass
class Slapd:
    url: str
    drop_dir: Path

    def settings(self, **over: Any) -> dict[str, Any]:
        return {
            "url": self.url,
            "bind_dn": ADMIN_DN,
            "bind_password": ADMIN_PW,
            "base_dn": BASE,
            "password_drop_dir": str(self.drop_dir),
            **over,
        }


def _ldif() -> str:
    users = "".join(
        f"\ndn: {dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\nsn: {uid.title()}\n"
        f"mail: {uid}@corp.example\nuserPassword: {pw}\n"
        for uid, pw in USERS.items()
    )
    return f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: ou=policies,{BASE}
objectClass: organizationalUnit
ou: policies

dn: {POLICY}
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMustChange: TRUE
{users}"""


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    binary = shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin:/usr/local/libexec")
    slapadd = shutil.which("slapadd") or shutil.which("slapadd", path="/usr/sbin")
    schema = next((d for d in SCHEMA_DIRS if Path(d, "inetorgperson.schema").exists()), None)
    if not binary or not slapadd or not schema:
        server_missing(
            "slapd, slapadd or the OpenLDAP schema files are not installed (apt-get install slapd)"
        )
    assert binary and slapadd and schema
    modules = next((d for d in MODULE_DIRS if Path(d, "ppolicy.so").exists()), None)
    root = tmp_path_factory.mktemp("slapd")
    (root / "db").mkdir()
    load = f"modulepath {modules}\nmoduleload back_mdb\nmoduleload ppolicy\n" if modules else ""
    conf = root / "slapd.conf"
    conf.write_text(
        "".join(f"include {schema}/{s}.schema\n" for s in ("core", "cosine", "inetorgperson", "nis"))
        + load
        + f"pidfile {root}/slapd.pid\n"
        + f'database mdb\nsuffix "{BASE}"\nrootdn "{ADMIN_DN}"\nrootpw {ADMIN_PW}\ndirectory {root}/db\n'
        + f'overlay ppolicy\nppolicy_default "{POLICY}"\n'
        + "access to attrs=userPassword by self write by anonymous auth by * none\n"
        + "access to * by * read\n"
    )
    (root / "data.ldif").write_text(_ldif())
    run = subprocess.run(
        [slapadd, "-f", str(conf), "-l", str(root / "data.ldif")], capture_output=True, text=True, check=False
    )
    if run.returncode:
        pytest.fail(f"slapadd failed: {run.stderr.strip()}")
    proc, url = None, ""
    for _ in range(5):  # the free port can be taken between the probe and slapd's bind: try another
        port = free_port()
        url = f"ldap://127.0.0.1:{port}"
        # -d 0: stay in the foreground, so the fixture owns the process and can stop it
        proc = subprocess.Popen(
            [binary, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if _wait_listening(port, proc):
            break
        proc.kill()
        proc.wait()
        proc = None
    if proc is None:
        pytest.fail("slapd did not start listening on 127.0.0.1")
    drop = root / "drop"
    try:
        yield Slapd(url, drop)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


def can_bind(url: str, who: str, password: str) -> bool:
    conn = ldap3.Connection(ldap3.Server(url, get_info=ldap3.NONE), who, password, raise_exceptions=True)
    try:
        conn.bind()
    except LDAPInvalidCredentialsResult:
        return False
    finally:
        conn.unbind()
    return True


def read_entry(url: str, who: str) -> dict[str, list[bytes]]:
    """Every attribute of ``who``, user and operational, as the administrator sees it."""
    with ldap3.Connection(ldap3.Server(url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True) as conn:
        conn.search(who, "(objectClass=*)", ldap3.BASE, attributes=["*", "+"])
        return {k: sorted(v) for k, v in conn.response[0]["raw_attributes"].items()}


# ---- dry-run ----------------------------------------------------------------------------------------


def test_dry_run_lists_exact_changes_and_changes_nothing(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    before = {uid: read_entry(slapd.url, dn(uid)) for uid in USERS}
    disable = conn.plan(Action(ActionKind.disable_account, "bob", reason="test"))
    assert disable.changes == [
        f"replace pwdAccountLockedTime of {dn('bob')}: (none) → 000001010000Z "
        "(ppolicy permanent lock: binds refused where the policy has pwdLockout)"
    ]
    assert disable.reversible
    assert disable.state == {
        "dn": dn("bob"),
        "attribute": "pwdAccountLockedTime",
        "old": [],
        "new": ["000001010000Z"],
    }
    revoke = conn.plan(Action(ActionKind.revoke_sessions, "carol"))
    assert revoke.changes == [
        f"replace pwdReset of {dn('carol')}: (none) → TRUE (no sessions in LDAP: the password must be "
        "changed at the next login, where the policy has pwdMustChange)"
    ]
    reset = conn.plan(Action(ActionKind.reset_password, "alice"))
    assert reset.changes == [
        f"set userPassword of {dn('alice')} (Password Modify extended operation): *** → *** (a new random "
        f"password, written to a 0600 file in {slapd.drop_dir} for the account's owner)"
    ]
    assert not reset.reversible
    assert {uid: read_entry(slapd.url, dn(uid)) for uid in USERS} == before
    assert can_bind(slapd.url, dn("bob"), USERS["bob"])
    assert not slapd.drop_dir.exists() or not any(slapd.drop_dir.iterdir())


def test_targets_resolve_to_one_entry(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    for target in ("carol", "CORP\\carol", "carol@corp.example", dn("carol"), dn("carol").upper()):
        assert (
            conn.plan(Action(ActionKind.disable_account, target)).state["dn"].lower() == dn("carol").lower()
        )
    with pytest.raises(ConnectorError, match="outside base_dn"):
        conn.plan(Action(ActionKind.disable_account, "uid=carol,dc=elsewhere,dc=test"))
    with pytest.raises(ConnectorError, match="not found"):  # a filter-special name is escaped, not a wildcard
        conn.plan(Action(ActionKind.disable_account, "car*"))


# ---- reset_password ---------------------------------------------------------------------------------


def test_reset_password_is_verified_and_never_shown(slapd: Slapd, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn = LdapConnector(slapd.settings())
    plan = conn.plan(Action(ActionKind.reset_password, "alice", params={"action_id": "act-1"}))
    outcome = conn.execute(plan)
    assert outcome.ok
    drop = Path(outcome.state["drop_file"])
    assert drop.parent == slapd.drop_dir and drop.name == "alice-act-1.password"
    assert drop.stat().st_mode & 0o777 == 0o600
    assert str(drop) in outcome.detail
    new = drop.read_text().strip()
    assert len(new) >= 24

    checked = conn.verify(plan, outcome)
    assert checked.ok, checked.detail
    assert can_bind(slapd.url, dn("alice"), new)
    assert not can_bind(slapd.url, dn("alice"), USERS["alice"])

    undo = conn.rollback(plan, outcome)
    assert not undo.ok and undo.detail.startswith("a password reset cannot be undone")

    shown = " ".join(repr(x) for x in (plan, outcome, checked, undo)) + caplog.text
    assert new not in shown
    assert USERS["alice"] not in shown and ADMIN_PW not in shown
    assert "alice-act-1.password" in caplog.text  # it did log, just not the password


def test_reset_password_by_replacing_userpassword(slapd: Slapd) -> None:
    # Servers without the Password Modify extended operation get a salted hash in userPassword.
    conn = LdapConnector(slapd.settings())
    plan = conn.plan(Action(ActionKind.reset_password, "alice"))
    plan = replace(plan, state={**plan.state, "method": "replace"})
    outcome = conn.execute(plan)
    assert conn.verify(plan, outcome).ok
    assert read_entry(slapd.url, dn("alice"))["userPassword"][0].upper().startswith(b"{SSHA}")


def test_reset_of_a_missing_account_changes_nothing(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    with pytest.raises(ConnectorError, match=r"account 'nobody' not found under dc=example,dc=test"):
        conn.plan(Action(ActionKind.reset_password, "nobody"))
    # A plan whose account vanished between approval and execution: the drop file is taken back.
    ghost = Plan(
        Action(ActionKind.reset_password, "ghost"),
        "ldap",
        ["…"],
        reversible=False,
        state={"dn": dn("ghost"), "method": "password_modify", "drop_dir": str(slapd.drop_dir)},
    )
    before = sorted(slapd.drop_dir.iterdir()) if slapd.drop_dir.exists() else []
    with pytest.raises(ConnectorError, match="ldap: "):
        conn.execute(ghost)
    assert (sorted(slapd.drop_dir.iterdir()) if slapd.drop_dir.exists() else []) == before


def test_unknown_account_changes_nothing(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    before = {uid: read_entry(slapd.url, dn(uid)) for uid in USERS}
    for kind in (ActionKind.disable_account, ActionKind.revoke_sessions):
        with pytest.raises(ConnectorError, match=r"account 'CORP\\\\mallory' not found"):
            conn.plan(Action(kind, "CORP\\mallory"))
    assert {uid: read_entry(slapd.url, dn(uid)) for uid in USERS} == before


# ---- disable_account, revoke_sessions ---------------------------------------------------------------


def test_disable_then_rollback(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    assert can_bind(slapd.url, dn("bob"), USERS["bob"])
    plan = conn.plan(Action(ActionKind.disable_account, "bob@corp.example"))
    outcome = conn.execute(plan)
    assert outcome.ok
    assert conn.verify(plan, outcome).ok
    assert not can_bind(slapd.url, dn("bob"), USERS["bob"])

    undone = conn.rollback(plan, outcome)
    assert undone.ok
    checked = conn.verify(plan, undone)
    assert checked.ok, checked.detail
    assert can_bind(slapd.url, dn("bob"), USERS["bob"])
    assert "pwdAccountLockedTime" not in read_entry(slapd.url, dn("bob"))


def test_execute_refuses_a_stale_plan(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    plan = conn.plan(Action(ActionKind.disable_account, "bob"))
    stale = replace(plan, state={**plan.state, "old": ["20240101000000Z"]})
    with pytest.raises(ConnectorError, match="changed since the plan"):
        conn.execute(stale)
    assert can_bind(slapd.url, dn("bob"), USERS["bob"])


def test_revoke_sessions_sets_pwdreset(slapd: Slapd) -> None:
    conn = LdapConnector(slapd.settings())
    plan = conn.plan(Action(ActionKind.revoke_sessions, "carol"))
    outcome = conn.execute(plan)
    assert conn.verify(plan, outcome).ok
    assert read_entry(slapd.url, dn("carol"))["pwdReset"] == [b"TRUE"]
    undone = conn.rollback(plan, outcome)
    assert conn.verify(plan, undone).ok
    assert "pwdReset" not in read_entry(slapd.url, dn("carol"))


# ---- failures ---------------------------------------------------------------------------------------


def test_server_down(slapd: Slapd) -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    conn = LdapConnector(slapd.settings(url=url, timeout="2"))
    with pytest.raises(ConnectorError) as err:
        conn.plan(Action(ActionKind.disable_account, "bob"))
    assert str(err.value).startswith("ldap: ")
    assert url in str(err.value)
    assert ADMIN_PW not in str(err.value)
    with pytest.raises(ConnectorError):
        conn.check()


def test_wrong_bind_password(slapd: Slapd) -> None:
    wrong = "Not-The-Admin-Password-99"
    conn = LdapConnector(slapd.settings(bind_password=wrong))
    with pytest.raises(ConnectorError, match="invalid credentials") as err:
        conn.plan(Action(ActionKind.disable_account, "bob"))
    assert wrong not in str(err.value) and ADMIN_PW not in str(err.value)
    LdapConnector(slapd.settings()).check()


def test_missing_settings_are_named() -> None:
    with pytest.raises(ConnectorError, match="setting 'url' is missing"):
        LdapConnector({}).plan(Action(ActionKind.disable_account, "bob"))


# ---- Active Directory (ldap3's mock server: the planned changes only) ---------------------------------

AD_BASE = "dc=corp,dc=example"
AD_USER = f"CN=Alice,CN=Users,{AD_BASE}"


@pytest.fixture
def ad(monkeypatch: pytest.MonkeyPatch) -> LdapConnector:
    server = ldap3.Server("ad.corp.example", get_info=ldap3.OFFLINE_AD_2012_R2)
    admin = f"CN=admin,{AD_BASE}"

    def connect(self: LdapConnector, user: str, password: str) -> ldap3.Connection:
        # A new connection each time (the connector unbinds it); the mock's entries live in the server.
        conn = ldap3.Connection(
            server, user, password, client_strategy=ldap3.MOCK_SYNC, raise_exceptions=True
        )
        conn.bind()
        return conn

    setup = ldap3.Connection(server, client_strategy=ldap3.MOCK_SYNC)
    setup.strategy.add_entry(admin, {"objectClass": ["top", "person", "user"], "userPassword": "pw"})
    setup.strategy.add_entry(
        AD_USER,
        {
            "objectClass": ["top", "person", "user"],
            "sAMAccountName": "alice",
            "userPrincipalName": "alice@corp.example",
            "userAccountControl": 512,
            "pwdLastSet": 133500000000000000,
        },
    )
    monkeypatch.setattr(LdapConnector, "_open", connect)
    return LdapConnector(
        {
            "url": "ldaps://ad.corp.example",
            "bind_dn": f"CN=admin,{AD_BASE}",
            "bind_password": "pw",
            "base_dn": AD_BASE,
            "user_attribute": "sAMAccountName",
            "password_drop_dir": "/nonexistent/drop",
        }
    )


def test_ad_disable_sets_accountdisable(ad: LdapConnector) -> None:
    for target in ("CORP\\alice", "alice@corp.example", AD_USER):
        plan = ad.plan(Action(ActionKind.disable_account, target))
        assert plan.changes == [
            f"replace userAccountControl of {AD_USER}: 512 → 514 (ACCOUNTDISABLE bit set: logons are refused)"
        ]
    outcome = ad.execute(plan)
    assert ad.verify(plan, outcome).ok
    undone = ad.rollback(plan, outcome)
    assert ad.verify(plan, undone).ok


def test_ad_revoke_sessions_expires_the_password(ad: LdapConnector) -> None:
    plan = ad.plan(Action(ActionKind.revoke_sessions, "alice"))
    assert plan.changes == [
        f"replace pwdLastSet of {AD_USER}: 133500000000000000 → 0 "
        "(the password must be changed at the next logon)"
    ]
    outcome = ad.execute(plan)
    assert ad.verify(plan, outcome).ok


def test_ad_reset_uses_unicodepwd_over_tls_only(ad: LdapConnector) -> None:
    plan = ad.plan(Action(ActionKind.reset_password, "alice"))
    assert plan.changes[0].startswith(f"replace unicodePwd of {AD_USER}: *** → ***")
    assert plan.state["method"] == "unicodePwd"
    ad.settings["url"] = "ldap://ad.corp.example"
    with pytest.raises(ConnectorError, match="only over TLS"):
        ad.plan(Action(ActionKind.reset_password, "alice"))


def test_rollback_outcome_type() -> None:
    # The interface: rollback of a reset is an Outcome, not an exception, so a case can record it.
    plan = Plan(Action(ActionKind.reset_password, "x"), "ldap", [], reversible=False, state={})
    undo = LdapConnector({}).rollback(plan, Outcome(True, "", {}))
    assert isinstance(undo, Outcome) and not undo.ok


# ---- remove_grant (group membership; the whole campaign: tests/govern/test_revocation_ldap.py) ---------

TEAM = f"cn=team,{BASE}"


def _grant(group: str, account: str = "bob") -> Action:
    return Action(
        ActionKind.remove_grant,
        "G-1",
        params={"subject": f"account {account}", "object": f"application {group}"},
    )


@pytest.fixture
def team(slapd: Slapd) -> Iterator[str]:
    """A groupOfUniqueNames (alice, bob) made for the test: the uniqueMember flavour of a group."""
    with ldap3.Connection(
        ldap3.Server(slapd.url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True
    ) as conn:
        assert conn.add(TEAM, "groupOfUniqueNames", {"cn": "team", "uniqueMember": [dn("alice"), dn("bob")]})
    yield TEAM
    with ldap3.Connection(
        ldap3.Server(slapd.url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True
    ) as conn:
        conn.delete(TEAM)


def test_remove_grant_of_a_unique_member_then_rollback(
    slapd: Slapd, team: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    conn = LdapConnector(slapd.settings())
    plan = conn.plan(_grant(team.upper(), "bob@corp.example"))  # DN case and the account's form do not matter
    assert plan.changes == [
        f"delete uniqueMember {dn('bob')} from {team.upper()} (that value only: the other members stay as "
        "they are)"
    ]
    assert plan.reversible
    outcome = conn.execute(plan)
    assert outcome.ok and outcome.state["removed"] is True
    assert read_entry(slapd.url, team)["uniqueMember"] == [dn("alice").encode()]
    assert conn.verify(plan, outcome).ok
    undone = conn.rollback(plan, outcome)
    assert undone.ok
    assert conn.verify(plan, undone).ok
    assert read_entry(slapd.url, team)["uniqueMember"] == sorted([dn("alice").encode(), dn("bob").encode()])
    assert ADMIN_PW not in caplog.text and f"{dn('bob')} removed from uniqueMember" in caplog.text


def test_remove_grant_refusals_name_grant_group_and_account(slapd: Slapd, team: str) -> None:
    conn = LdapConnector(slapd.settings())
    before = read_entry(slapd.url, team)
    with pytest.raises(
        ConnectorError, match=rf"grant 'G-1': group {team}, account 'carol': .*not a uniqueMember"
    ):
        conn.plan(_grant(team, "carol"))
    with pytest.raises(ConnectorError, match=r"grant 'G-1': .* the group is outside base_dn"):
        conn.plan(_grant("cn=team,dc=elsewhere,dc=test"))
    with pytest.raises(ConnectorError, match=rf"grant 'G-1': group {PEOPLE}, account 'bob': not a group"):
        conn.plan(_grant(PEOPLE))
    with pytest.raises(ConnectorError, match=r"account 'mallory' not found"):
        conn.plan(_grant(team, "mallory"))
    with pytest.raises(ConnectorError, match=r"object 'system crm' names no LDAP group DN"):
        conn.plan(
            Action(ActionKind.remove_grant, "G-1", params={"subject": "account bob", "object": "system crm"})
        )
    with pytest.raises(ConnectorError, match=r"subject 'group staff' is not an account"):
        conn.plan(Action(ActionKind.remove_grant, "G-1", params={"subject": "group staff", "object": team}))
    assert read_entry(slapd.url, team) == before


def test_remove_grant_already_gone_is_not_rolled_back_into_place(slapd: Slapd, team: str) -> None:
    # Removed by someone else after the plan: nothing to do, and a rollback must not grant it anew.
    conn = LdapConnector(slapd.settings())
    plan = conn.plan(_grant(team))
    with ldap3.Connection(
        ldap3.Server(slapd.url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True
    ) as admin:
        assert admin.modify(team, {"uniqueMember": [(ldap3.MODIFY_DELETE, [dn("bob")])]})
    outcome = conn.execute(plan)
    assert outcome.ok and outcome.state["removed"] is False
    assert conn.verify(plan, outcome).ok
    undone = conn.rollback(plan, outcome)
    assert not undone.ok and "nothing to put back" in undone.detail
    assert read_entry(slapd.url, team)["uniqueMember"] == [dn("alice").encode()]


def test_remove_grant_of_the_last_member_is_refused(slapd: Slapd, team: str) -> None:
    # groupOfUniqueNames (as groupOfNames) must keep one member: the plan says so rather than execute failing.
    with ldap3.Connection(
        ldap3.Server(slapd.url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True
    ) as admin:
        assert admin.modify(team, {"uniqueMember": [(ldap3.MODIFY_DELETE, [dn("alice")])]})
    with pytest.raises(
        ConnectorError, match=r"is the group's only uniqueMember, which groupOfUniqueNames requires"
    ):
        LdapConnector(slapd.settings()).plan(_grant(team))
    assert read_entry(slapd.url, team)["uniqueMember"] == [dn("bob").encode()]
