"""A Linux nftables firewall, through the ``nft`` command: blocks a route or isolates a host.

The connector keeps to its own table (``inet sekimori`` by default) with three base chains, ``forward``,
``input`` and ``output``, hooked at priority -10 with policy accept: it adds drop rules and never touches
another table. Every rule carries the comment ``sekimori:<action id>`` (``params["action_id"]``, or one
made up at plan time), so a rollback deletes exactly the rules of its action, by handle.

A plan's changes are the ``nft`` commands, exactly; execute feeds them to one ``nft -f -``, which applies
them as a single transaction (all or none, so a failure leaves nothing half-applied). The state is read
with ``nft -j``. Planning runs nothing: it needs neither the binary nor privileges.

Settings (``SEKIMORI_NFTABLES_<KEY>`` or ``[nftables]`` in the secrets file): ``table`` (``sekimori``),
``netns`` (run as ``ip netns exec NETNS nft …``), ``nft`` (the binary, ``nft``), ``timeout`` (seconds, 10).

* ``block_route``: target ``SRC_CIDR->DST_CIDR`` (optionally ``…:PORT``); params ``port`` and ``protocol``
  (``tcp`` when only a port is given). Drops packets from SRC to DST in all three chains: whether this
  host routes them, receives them or sends them. One direction: DST can still reach SRC.
* ``isolate_host``: target an IP; params ``allow``: addresses or networks it may still talk to (the
  management host). Drops everything from and to the host, in all three chains.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import subprocess
import uuid
from typing import Any, ClassVar

from sekimori.respond.actions import Action, ActionKind, Connector, ConnectorError, Outcome, Plan, register

log = logging.getLogger(__name__)

CHAINS = ("forward", "input", "output")
PRIORITY = -10  # before the usual filter chains (0); a drop in any base chain is final anyway
PORT_PROTOCOLS = ("tcp", "udp", "sctp", "dccp")
PROTOCOLS = (*PORT_PROTOCOLS, "icmp", "icmpv6", "esp", "ah", "gre")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_ACTION_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")  # goes into a quoted comment: no quotes, no spaces

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@register
class NftablesConnector(Connector):
    name = "nftables"
    description = "Linux nftables firewall (its own inet table): block a route, isolate a host"
    kinds: ClassVar[frozenset[ActionKind]] = frozenset({ActionKind.block_route, ActionKind.isolate_host})

    # ---- settings ---------------------------------------------------------------------------------------

    @property
    def table(self) -> str:
        table = str(self.settings.get("table") or "sekimori")
        if not _NAME.fullmatch(table):
            raise ConnectorError(f"nftables: table name {table!r} is not a plain identifier")
        return table

    def _runner(self) -> list[str]:
        nft = str(self.settings.get("nft") or "nft")
        netns = self.settings.get("netns")
        if not netns:
            return [nft]
        if not _NAME.fullmatch(str(netns)):
            raise ConnectorError(f"nftables: netns name {netns!r} is not a plain identifier")
        return ["ip", "netns", "exec", str(netns), nft]

    # ---- plan -------------------------------------------------------------------------------------------

    def plan(self, action: Action) -> Plan:
        if action.kind not in self.kinds:
            raise ConnectorError(f"nftables: cannot carry out {action.kind}")
        action_id = str(action.params.get("action_id") or uuid.uuid4().hex[:12])
        if not _ACTION_ID.fullmatch(action_id):
            raise ConnectorError(
                f"nftables: action_id {action_id!r} may only hold letters, digits and . _ : - (1-100 of them)"
            )
        comment = f"sekimori:{action_id}"
        if action.kind is ActionKind.block_route:
            matches = [_route_match(action)]
        else:
            matches = _isolate_matches(action)
        t = self.table
        commands = [f"add table inet {t}"]
        commands += [
            f"add chain inet {t} {c} {{ type filter hook {c} priority {PRIORITY}; policy accept; }}"
            for c in CHAINS
        ]
        rules = [
            f'add rule inet {t} {c} {m} counter drop comment "{comment}"' for m in matches for c in CHAINS
        ]
        commands += rules
        runner = " ".join(self._runner())
        state = {"table": t, "comment": comment, "commands": commands, "rules": len(rules)}
        return Plan(action, self.name, [f"{runner} {c}" for c in commands], reversible=True, state=state)

    # ---- nft --------------------------------------------------------------------------------------------

    def _nft(self, args: list[str], script: str | None = None) -> str:
        argv = [*self._runner(), *args]
        timeout = float(self.settings.get("timeout") or 10)
        try:
            run = subprocess.run(
                argv, input=script, capture_output=True, text=True, timeout=timeout, check=False
            )
        except FileNotFoundError as exc:
            raise ConnectorError(f"nftables: {exc.filename or argv[0]} is not installed") from None
        except subprocess.TimeoutExpired:
            raise ConnectorError(f"nftables: {' '.join(argv)} did not finish in {timeout:g}s") from None
        if run.returncode:
            err = " ".join(run.stderr.split())[:500] or f"exit status {run.returncode}"
            raise ConnectorError(f"nftables: {' '.join(argv)} failed: {err}")
        return run.stdout

    def _rules(self, comment: str) -> list[dict[str, Any]]:
        """The rules of our table carrying ``comment`` (none when the table does not exist)."""
        try:
            out = self._nft(["-j", "list", "table", "inet", self.table])
        except ConnectorError as exc:
            if "No such file or directory" in str(exc):
                return []
            raise
        items = json.loads(out).get("nftables", [])
        rules = [i["rule"] for i in items if "rule" in i]
        return [r for r in rules if r.get("comment") == comment]

    def check(self) -> None:
        self._nft(["list", "tables"])

    # ---- execute, verify, rollback ----------------------------------------------------------------------

    def execute(self, plan: Plan) -> Outcome:
        comment = plan.state["comment"]
        if self._rules(comment):
            raise ConnectorError(f"nftables: rules with comment {comment!r} exist already: executed before?")
        # One nft -f: a single netlink transaction, so either every rule is in or none is.
        self._nft(["-f", "-"], "\n".join(plan.state["commands"]) + "\n")
        handles = [{"chain": r["chain"], "handle": r["handle"]} for r in self._rules(comment)]
        log.info("nftables: %d rules added to inet %s (%s)", len(handles), plan.state["table"], comment)
        return Outcome(
            True,
            f"{plan.action.kind} {plan.action.target}: {len(handles)} drop rules in inet "
            f"{plan.state['table']} ({comment})",
            {**plan.state, "handles": handles},
        )

    def verify(self, plan: Plan, outcome: Outcome) -> Outcome:
        comment = plan.state["comment"]
        rules = self._rules(comment)
        if outcome.state.get("rolled_back"):
            ok = not rules
            return Outcome(
                ok, f"{len(rules)} rules with {comment!r} remain (expected none)", dict(outcome.state)
            )
        dropping = [r for r in rules if any("drop" in e for e in r.get("expr", []))]
        chains = sorted({r["chain"] for r in dropping})
        ok = len(dropping) == plan.state["rules"] and chains == sorted(CHAINS)
        detail = (
            f"{len(dropping)} drop rules with {comment!r} in chains {', '.join(chains) or '-'} "
            f"(expected {plan.state['rules']} in {', '.join(CHAINS)})"
        )
        return Outcome(ok, detail, dict(outcome.state))

    def rollback(self, plan: Plan, outcome: Outcome) -> Outcome:
        table, comment = plan.state["table"], plan.state["comment"]
        # By comment at rollback time rather than the handles of execute: a rule re-added since has new ones.
        rules = self._rules(comment)
        if rules:
            script = "".join(
                f"delete rule inet {table} {r['chain']} handle {int(r['handle'])}\n" for r in rules
            )
            self._nft(["-f", "-"], script)
        log.info("nftables: %d rules removed from inet %s (%s)", len(rules), table, comment)
        return Outcome(
            True,
            f"{len(rules)} rules with {comment!r} removed from inet {table}",
            {**outcome.state, "rolled_back": True, "removed": [r["handle"] for r in rules]},
        )


# ---- targets -----------------------------------------------------------------------------------------


def _network(text: str, what: str) -> Network:
    text = text.strip().removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ConnectorError(
            f"nftables: {what} {text!r} is not a valid address or CIDR network: {exc}"
        ) from None


def _render(net: Network) -> str:
    single = net.prefixlen == net.max_prefixlen
    return str(net.network_address) if single else str(net)


def _family(net: Network) -> str:
    return "ip" if net.version == 4 else "ip6"


def _route_match(action: Action) -> str:
    target = action.target
    if "->" not in target:
        raise ConnectorError(f"nftables: block_route target {target!r} is not SRC_CIDR->DST_CIDR")
    src_text, dst_text = (p.strip() for p in target.split("->", 1))
    port: Any = action.params.get("port")
    # DST may end in :PORT: after the prefix length (10.0.0.0/24:22), or after an IPv4 address / [IPv6]
    m = re.fullmatch(r"(.*/\d+|[0-9.]+|\[.*\]):(\d+)", dst_text)
    if m:
        dst_text = m.group(1)
        if port is not None and str(port) != m.group(2):
            raise ConnectorError(f"nftables: port {port} in params contradicts :{m.group(2)} in {target!r}")
        port = m.group(2)
    src, dst = _network(src_text, "source"), _network(dst_text, "destination")
    if src.version != dst.version:
        raise ConnectorError(f"nftables: {target!r} mixes IPv{src.version} and IPv{dst.version}")
    fam = _family(src)
    match = f"{fam} saddr {_render(src)} {fam} daddr {_render(dst)}"
    protocol = action.params.get("protocol")
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol not in PROTOCOLS:
            raise ConnectorError(f"nftables: protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if port is not None:
        try:
            number = int(str(port))
        except ValueError:
            number = -1
        if not 1 <= number <= 65535:
            raise ConnectorError(f"nftables: port {port!r} is not a number from 1 to 65535")
        protocol = protocol or "tcp"
        if protocol not in PORT_PROTOCOLS:
            raise ConnectorError(f"nftables: protocol {protocol} has no ports")
        return f"{match} {protocol} dport {number}"
    return f"{match} meta l4proto {protocol}" if protocol else match


def _isolate_matches(action: Action) -> list[str]:
    host = _network(action.target, "host")
    if host.prefixlen != host.max_prefixlen:
        raise ConnectorError(f"nftables: isolate_host target {action.target!r} must be one address")
    allow_param = action.params.get("allow", [])
    if isinstance(allow_param, str):
        allow_param = [allow_param]
    allow = [_network(str(a), "allowed address") for a in allow_param]
    for net in allow:
        if net.version != host.version:
            raise ConnectorError(
                f"nftables: allowed {net} is not IPv{host.version} like {host.network_address}"
            )
    fam, addr = _family(host), str(host.network_address)
    exempt = f" {fam} daddr != {{ {', '.join(_render(a) for a in allow)} }}" if allow else ""
    exempt_src = exempt.replace("daddr", "saddr")
    return [f"{fam} saddr {addr}{exempt}", f"{fam} daddr {addr}{exempt_src}"]
