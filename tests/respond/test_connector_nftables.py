"""The nftables connector: its plans everywhere (planning runs nothing), and real packets in network
namespaces of its own where the machine allows it (root, CAP_NET_ADMIN, the nft and ip binaries)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from sekimori.respond.actions import Action, ActionKind, ConnectorError, Outcome
from sekimori.respond.connectors.nftables import NftablesConnector

CHAIN_LINES = [
    "add table inet sekimori",
    "add chain inet sekimori forward { type filter hook forward priority -10; policy accept; }",
    "add chain inet sekimori input { type filter hook input priority -10; policy accept; }",
    "add chain inet sekimori output { type filter hook output priority -10; policy accept; }",
]


# ---- plans: no nft, no privileges ------------------------------------------------------------------------


def test_block_route_plan_lists_the_commands() -> None:
    conn = NftablesConnector({})
    action = Action(
        ActionKind.block_route,
        "10.1.0.0/16->10.2.3.0/24",
        params={"port": 443, "protocol": "TCP", "action_id": "act-7"},
    )
    plan = conn.plan(action)
    rule = 'ip saddr 10.1.0.0/16 ip daddr 10.2.3.0/24 tcp dport 443 counter drop comment "sekimori:act-7"'
    assert plan.changes == [f"nft {c}" for c in CHAIN_LINES] + [
        f"nft add rule inet sekimori {chain} {rule}" for chain in ("forward", "input", "output")
    ]
    assert plan.reversible
    assert plan.state["comment"] == "sekimori:act-7" and plan.state["rules"] == 3


def test_block_route_variants() -> None:
    conn = NftablesConnector({"netns": "edge", "table": "contain"})
    plan = conn.plan(Action(ActionKind.block_route, "10.0.0.5 -> 10.9.0.0/24:22", params={"action_id": "a"}))
    assert plan.changes[0] == "ip netns exec edge nft add table inet contain"
    assert plan.changes[-1] == (
        "ip netns exec edge nft add rule inet contain output "
        'ip saddr 10.0.0.5 ip daddr 10.9.0.0/24 tcp dport 22 counter drop comment "sekimori:a"'
    )
    plan = conn.plan(
        Action(ActionKind.block_route, "2001:db8::/32->2001:db8:1::7", params={"protocol": "udp"})
    )
    assert plan.state["commands"][-1].startswith(
        "add rule inet contain output ip6 saddr 2001:db8::/32 ip6 daddr 2001:db8:1::7 meta l4proto udp "
        "counter drop"
    )
    # Without an action id the plan makes one up, so rollback still finds its rules.
    assert plan.state["comment"].startswith("sekimori:") and len(plan.state["comment"]) > len("sekimori:")


def test_isolate_host_plan_lists_the_commands() -> None:
    conn = NftablesConnector({})
    plan = conn.plan(
        Action(
            ActionKind.isolate_host,
            "192.0.2.10",
            params={"allow": ["192.0.2.1", "198.51.100.0/24"], "action_id": "i1"},
        )
    )
    out = 'ip saddr 192.0.2.10 ip daddr != { 192.0.2.1, 198.51.100.0/24 } counter drop comment "sekimori:i1"'
    inn = 'ip daddr 192.0.2.10 ip saddr != { 192.0.2.1, 198.51.100.0/24 } counter drop comment "sekimori:i1"'
    assert plan.changes == [f"nft {c}" for c in CHAIN_LINES] + [
        f"nft add rule inet sekimori {chain} {m}"
        for m in (out, inn)
        for chain in ("forward", "input", "output")
    ]
    plain = conn.plan(Action(ActionKind.isolate_host, "192.0.2.10", params={"action_id": "i2"}))
    assert plain.state["commands"][4] == (
        'add rule inet sekimori forward ip saddr 192.0.2.10 counter drop comment "sekimori:i2"'
    )


@pytest.mark.parametrize(
    ("kind", "target", "params", "message"),
    [
        (ActionKind.block_route, "10.0.0.0/33->10.1.0.0/16", {}, "source '10.0.0.0/33' is not a valid"),
        (ActionKind.block_route, "10.0.0.0/8->10.1.2.3/16", {}, "destination '10.1.2.3/16' is not a valid"),
        (ActionKind.block_route, "10.0.0.300->10.1.0.0/16", {}, "source '10.0.0.300' is not a valid"),
        (ActionKind.block_route, "10.0.0.0/8", {}, "is not SRC_CIDR->DST_CIDR"),
        (ActionKind.block_route, "10.0.0.0/8->2001:db8::/32", {}, "mixes IPv4 and IPv6"),
        (ActionKind.block_route, "10.0.0.0/8->10.1.0.0/16", {"port": 70000}, "not a number from 1 to 65535"),
        (ActionKind.block_route, "10.0.0.0/8->10.1.0.0/16", {"protocol": "tcp; flush"}, "is not one of"),
        (ActionKind.block_route, "10.0.0.0/8->10.1.0.0/16", {"port": 1, "protocol": "icmp"}, "has no ports"),
        (ActionKind.block_route, "10.0.0.0/8->10.1.0.0/16", {"action_id": 'x" drop'}, "action_id"),
        (ActionKind.isolate_host, "10.0.0.0/24", {}, "must be one address"),
        (ActionKind.isolate_host, "host.example", {}, "host 'host.example' is not a valid"),
        (ActionKind.isolate_host, "10.0.0.1", {"allow": ["2001:db8::1"]}, "is not IPv4"),
        (ActionKind.disable_account, "alice", {}, "cannot carry out disable_account"),
    ],
)
def test_bad_targets_are_refused_clearly(kind: ActionKind, target: str, params: dict, message: str) -> None:
    with pytest.raises(ConnectorError, match=r"^nftables: ") as err:
        NftablesConnector({}).plan(Action(kind, target, params=params))
    assert message in str(err.value)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConnectorError, match="table name"):
        NftablesConnector({"table": "x; flush ruleset"}).plan(Action(ActionKind.isolate_host, "10.0.0.1"))
    with pytest.raises(ConnectorError, match="netns name"):
        NftablesConnector({"netns": "../x"}).plan(Action(ActionKind.isolate_host, "10.0.0.1"))


def test_missing_binary_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError, match=r"nftables: .*not installed"):
        NftablesConnector({"nft": "/nonexistent/nft"}).check()


# ---- real packets in network namespaces --------------------------------------------------------------

PORT = 7777
# Accepts TCP connections for ever; the fixture kills it.
LISTENER = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('0.0.0.0', {PORT})); s.listen(16); print('ready', flush=True)\n"
    "while True:\n    s.accept()[0].close()\n"
)


@dataclass
class Lab:
    """Three namespaces: ``a`` — ``fw`` — ``c``; fw routes between them and runs the connector."""

    fw: str
    a: str
    c: str
    fw_a: str  # fw's address on the link to a
    a_ip: str
    c_ip: str

    def reaches(self, ns: str, ip: str) -> bool:
        code = f"import socket; socket.create_connection(({ip!r}, {PORT}), timeout=1).close()"
        run = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True, check=False
        )
        return run.returncode == 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def lab() -> Iterator[Lab]:
    # The one place this module may skip, CI included: namespaces need root and CAP_NET_ADMIN.
    for binary in ("ip", "nft"):
        if not shutil.which(binary):
            pytest.skip(
                f"needs the {binary} command to test with real packets (apt-get install iproute2 nftables)"
            )
    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_NET_ADMIN) to create a network namespace")
    tag = secrets.token_hex(3)
    names = {role: f"sekimori-test-{tag}-{role}" for role in ("fw", "a", "c")}
    try:
        _ip("netns", "add", names["fw"])
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"needs CAP_NET_ADMIN to create a network namespace: {exc.stderr.strip()}")
    created = [names["fw"]]
    listeners: list[subprocess.Popen[str]] = []
    n = secrets.randbelow(256)
    try:
        for role in ("a", "c"):
            _ip("netns", "add", names[role])
            created.append(names[role])
        fw_a, a_ip, fw_c, c_ip = (f"10.250.{n}.{i}" for i in (1, 2, 5, 6))
        for role, fw_ip, peer_ip in (("a", fw_a, a_ip), ("c", fw_c, c_ip)):
            fw_if, peer_if = f"sk{tag}f{role}", f"sk{tag}{role}"
            _ip(
                "link",
                "add",
                fw_if,
                "netns",
                names["fw"],
                "type",
                "veth",
                "peer",
                peer_if,
                "netns",
                names[role],
            )
            _ip("-n", names["fw"], "addr", "add", f"{fw_ip}/30", "dev", fw_if)
            _ip("-n", names[role], "addr", "add", f"{peer_ip}/30", "dev", peer_if)
            for ns, dev in ((names["fw"], fw_if), (names[role], peer_if), (names[role], "lo")):
                _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", names[role], "route", "add", "default", "via", fw_ip)
        subprocess.run(
            ["ip", "netns", "exec", names["fw"], "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True
        )
        for ns in created:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True
            )
            listeners.append(proc)
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield Lab(names["fw"], names["a"], names["c"], fw_a, a_ip, c_ip)
    finally:
        for proc in listeners:
            proc.kill()
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        for ns in created:  # deleting a namespace deletes its veth ends and its nftables ruleset
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_real_packets_block_route_and_isolate_host(lab: Lab) -> None:
    conn = NftablesConnector({"netns": lab.fw})
    assert lab.reaches(lab.a, lab.c_ip) and lab.reaches(lab.c, lab.a_ip) and lab.reaches(lab.fw, lab.a_ip)

    # block_route a -> c, TCP port 7777 only: forwarded traffic one way.
    block = conn.plan(
        Action(
            ActionKind.block_route, f"{lab.a_ip}/32->{lab.c_ip}/32", params={"port": PORT, "action_id": "blk"}
        )
    )
    done = conn.execute(block)
    assert done.ok and len(done.state["handles"]) == 3
    assert conn.verify(block, done).ok
    assert not lab.reaches(lab.a, lab.c_ip)
    assert lab.reaches(lab.c, lab.a_ip)  # the other direction is not blocked
    assert lab.reaches(lab.a, lab.fw_a)
    with pytest.raises(ConnectorError, match="exist already"):
        conn.execute(block)

    # isolate_host a, except for c (the management host): fw itself can no longer reach it, nor it fw.
    isolate = conn.plan(
        Action(ActionKind.isolate_host, lab.a_ip, params={"allow": [lab.c_ip], "action_id": "iso"})
    )
    isolated = conn.execute(isolate)
    assert conn.verify(isolate, isolated).ok
    assert not lab.reaches(lab.fw, lab.a_ip)
    assert not lab.reaches(lab.a, lab.fw_a)
    assert lab.reaches(lab.c, lab.a_ip)

    # Rolling back the block leaves the isolation's rules alone, and the other way round.
    undone = conn.rollback(block, done)
    assert undone.ok and sorted(undone.state["removed"]) == sorted(h["handle"] for h in done.state["handles"])
    assert conn.verify(block, undone).ok
    assert conn.verify(isolate, isolated).ok
    assert lab.reaches(lab.a, lab.c_ip)  # allowed by the isolation, no longer blocked by the route
    assert not lab.reaches(lab.fw, lab.a_ip)

    released = conn.rollback(isolate, isolated)
    assert conn.verify(isolate, released).ok
    assert not conn.verify(isolate, isolated).ok  # the rules are gone: verifying the execution now fails
    assert lab.reaches(lab.fw, lab.a_ip) and lab.reaches(lab.a, lab.fw_a) and lab.reaches(lab.a, lab.c_ip)


def test_real_nft_refuses_a_bad_script_atomically(lab: Lab) -> None:
    # A plan whose last command nft rejects: nothing of it is applied (one transaction).
    conn = NftablesConnector({"netns": lab.fw})
    plan = conn.plan(Action(ActionKind.isolate_host, lab.a_ip, params={"action_id": "bad"}))
    broken = replace(
        plan,
        state={**plan.state, "commands": [*plan.state["commands"], "add rule inet sekimori nochain drop"]},
    )
    with pytest.raises(ConnectorError, match=r"^nftables: ip netns exec \S+ nft -f - failed: .*nochain"):
        conn.execute(broken)
    assert lab.reaches(lab.fw, lab.a_ip)
    ruleset = subprocess.run(
        ["ip", "netns", "exec", lab.fw, "nft", "list", "ruleset"], capture_output=True, text=True, check=True
    )
    assert "sekimori" not in ruleset.stdout  # not even the table: the transaction was all or nothing
    assert not conn.verify(plan, Outcome(True, "", {})).ok
