"""Loading models and classifying accounts and hosts (first match wins)."""

from __future__ import annotations

from datetime import date

import pytest

from sekimori.model import GroupModel, load_model_text
from tests.model.conftest import MINIMAL

RULES = (
    MINIMAL
    + """\
  - id: contractor
    name: Contractor
    kind: contractor
    country: KR
realms:
  - id: corp
    kind: ad_domain
    name: CORP.EXAMPLE.JP
    owner: parent
    shared_by: [parent, affiliate]
accounts:
  - org: contractor                  # 0: more specific than rule 1, so it comes first
    domain: CORP
    name_pattern: '^ext-'
  - org: affiliate                   # 1
    domain: [CORP, corp.example.jp]
    name_pattern: '^kr[0-9]+$'
  - org: affiliate                   # 2
    upn_suffix: aff.example.jp       # written without '@': normalised to '@aff.example.jp'
  - org: contractor                  # 3
    sid_prefix: s-1-5-21-111-222-333
  - org: parent                      # 4
    domain: [CORP, corp.example.jp]
  - org: parent                      # 5: both matchers must match
    upn_suffix: '@example.jp'
    name_pattern: '^svc-'
zones:
  - id: internal
    name: Internal
    org: parent
    cidrs: [10.0.0.0/8, 'fd00::/16']
  - id: servers
    name: Servers
    org: parent
    cidrs: 10.1.0.0/16               # inside internal: more specific, so it wins for its addresses
  - id: aff-net
    name: Affiliate network
    org: affiliate
    cidrs: 172.16.0.0/12
hosts:
  - org: contractor                  # 0
    zone: aff-net
    name_pattern: '^ctr-pc-[0-9]+$'
  - org: affiliate                   # 1: an affiliate server inside the parent's network
    zone: internal
    cidr: 10.9.9.0/24
  - org: affiliate                   # 2: name and address must both match
    zone: aff-net
    name_pattern: '^jump'
    cidr: ['2001:db8:aff::/48', 192.0.2.0/24]
  - org: parent                      # 3: needs the FQDN
    zone: internal
    name_pattern: '\\.corp\\.example\\.jp$'
"""
)


@pytest.fixture(scope="module")
def rules() -> GroupModel:
    return load_model_text(RULES, "rules.yaml")


def test_example_loads(example: GroupModel) -> None:
    assert example.version == 1
    assert [o.id for o in example.organisations] == ["parent", "affiliate-kr", "contractor-kr"]
    assert {o.country for o in example.organisations} == {"JP", "KR"}
    shared = next(r for r in example.realms if r.id == "corp-ad")
    assert shared.shared_by == ["parent", "affiliate-kr"]
    flaw = next(f for f in example.flows if f.id == "f-affiliate-to-parent")
    assert (flaw.from_zone, flaw.to_zone, flaw.ports) == ("affiliate-net", "parent-internal", [445, 3389, 88])
    records = {pd.category: pd.records for store in example.data_stores for pd in store.personal_data}
    assert records == {"user": 302_980, "business_partner": 86_211, "employee": 130_315}
    secret = [pd.secrecy_of_communications for store in example.data_stores for pd in store.personal_data]
    assert secret == [True, False, False]
    contract = next(c for c in example.contracts if c.id == "c-desktop-support")
    assert (contract.start, contract.end) == (date(2021, 10, 1), date(2024, 3, 31))


def test_example_tells_the_breach_chain(example: GroupModel) -> None:
    # contractor PC → affiliate → shared realm → parent
    assert example.classify_host("ctr-pc-0042") == ("contractor-kr", "contractor-net")
    assert example.classify_account("CTR-PC-0042\\jdoe") == "contractor-kr"
    assert example.classify_account("AFFKR\\ext-lee") == "contractor-kr"
    assert example.classify_account("CORP\\kr01234") == "affiliate-kr"
    assert example.classify_account("CORP\\alice") == "parent"
    assert example.classify_host(ip="10.20.3.4") == ("affiliate-kr", "affiliate-net")
    assert example.classify_host(ip="10.10.1.5") == ("parent", "parent-dc")
    grant = next(g for g in example.grants if g.id == "g-affiliate-infra-ops")
    assert grant.via_realm == "corp-ad" and "messaging-ops" in grant.systems
    assert example.systems_for_host("MSG-DB-01.corp.parent.example") == ["messaging-ops"]


@pytest.mark.parametrize(
    ("name", "domain", "sid", "expected"),
    [
        # DOMAIN\user, with the domain taken from the name
        ("CORP\\kr0042", None, None, "affiliate"),
        ("corp\\KR0042", None, None, "affiliate"),  # case-insensitive domain and regex
        ("CORP\\alice", None, None, "parent"),
        # domain given separately, NetBIOS or DNS
        ("kr0042", "corp.example.jp", None, "affiliate"),
        ("alice", "CORP", None, "parent"),
        # a domain given separately wins over the one in the name
        ("OTHER\\alice", "CORP", None, "parent"),
        # first match wins: ext-* also matches rule 4 (CORP) but rule 0 comes first
        ("CORP\\ext-bob", None, None, "contractor"),
        # regex searched in the bare user name, without the domain
        ("CORP\\xkr0042", None, None, "parent"),
        # UPN
        ("bob@aff.example.jp", None, None, "affiliate"),
        ("bob@AFF.EXAMPLE.JP", None, None, "affiliate"),
        ("bob@sub.aff.example.jp", None, None, None),  # the suffix includes the '@'
        # all matchers of a rule must match: svc- needs @example.jp too
        ("svc-backup@example.jp", None, None, "parent"),
        ("backup@example.jp", None, None, None),
        ("svc-backup", None, None, None),
        # SID prefix, ending at a '-'
        ("whoever", None, "S-1-5-21-111-222-333-1104", "contractor"),
        (None, None, "s-1-5-21-111-222-333-500", "contractor"),
        (None, None, "S-1-5-21-111-222-333", "contractor"),
        (None, None, "S-1-5-21-111-222-3334-1104", None),
        # nothing matches
        ("alice", "ELSEWHERE", None, None),
        ("alice", None, None, None),
        # empty values and Windows' '-' placeholder count as missing
        ("alice", "-", "-", None),
        ("  CORP\\alice\t", "", None, "parent"),
        ("-", "CORP", None, "parent"),  # rule 4 has no name matcher
        ("", None, None, None),
    ],
)
def test_classify_account(
    rules: GroupModel, name: str | None, domain: str | None, sid: str | None, expected: str | None
) -> None:
    assert rules.classify_account(name, domain=domain, sid=sid) == expected


@pytest.mark.parametrize(
    ("name", "ip", "expected"),
    [
        # name patterns, matched against the short name and the FQDN
        ("ctr-pc-7", None, ("contractor", "aff-net")),
        ("CTR-PC-7.corp.example.jp", None, ("contractor", "aff-net")),  # short name matches rule 0 first
        ("ws01.corp.example.jp", None, ("parent", "internal")),
        ("ws01.corp.example.jp.", None, ("parent", "internal")),  # the root dot is dropped
        ("ws01", None, (None, None)),  # the FQDN rule needs the FQDN
        ("\\\\ws01.corp.example.jp", None, ("parent", "internal")),  # '\\host' as in some Windows events
        # CIDR, IPv4 and IPv6
        (None, "10.9.9.20", ("affiliate", "internal")),
        (None, "::ffff:10.9.9.20", ("affiliate", "internal")),  # IPv4-mapped, as Windows logs it
        # name and CIDR both required by rule 2
        ("jump01", "192.0.2.10", ("affiliate", "aff-net")),
        ("jump01", "2001:db8:aff::10", ("affiliate", "aff-net")),
        ("jump01", "2001:DB8:AFF:0:0:0:0:10", ("affiliate", "aff-net")),
        ("jump01", None, (None, None)),
        ("web01", "192.0.2.10", (None, None)),
        # no rule: the zone whose network contains the address, most specific first
        (None, "10.1.2.3", ("parent", "servers")),
        (None, "10.2.2.3", ("parent", "internal")),
        (None, "fd00::1", ("parent", "internal")),
        (None, "172.20.1.1", ("affiliate", "aff-net")),
        ("unknown-host", "10.1.2.3", ("parent", "servers")),
        # first match wins over the zone fallback: the name rule comes first
        ("ctr-pc-1", "10.1.2.3", ("contractor", "aff-net")),
        # nothing matches
        (None, "8.8.8.8", (None, None)),
        (None, "2001:db8::1", (None, None)),
        (None, "not an address", (None, None)),
        (None, None, (None, None)),
        ("-", "-", (None, None)),
    ],
)
def test_classify_host(
    rules: GroupModel, name: str | None, ip: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert rules.classify_host(name, ip) == expected


def test_normalised_values(rules: GroupModel) -> None:
    assert rules.accounts[2].upn_suffix == ["@aff.example.jp"]
    assert rules.accounts[3].sid_prefix == ["S-1-5-21-111-222-333"]
    assert rules.accounts[1].domain == ["corp", "corp.example.jp"]
    assert rules.zones[1].cidrs == ["10.1.0.0/16"]  # a single value becomes a list
    assert rules.hosts[2].cidr == ["2001:db8:aff::/48", "192.0.2.0/24"]


def test_flow_ports_and_logon_types() -> None:
    model = load_model_text(
        MINIMAL
        + """\
zones:
  - {id: a, name: A, org: parent}
  - {id: b, name: B, org: affiliate}
flows:
  - {id: one, from: a, to: b, ports: 443, protocol: tcp}
  - {id: any, from: a, to: b, ports: any, protocol: any, bidirectional: true}
systems:
  - {id: s, name: S, owner: parent, zone: a}
grants:
  - id: g
    org: affiliate
    systems: [s]
    logon_types: [network, 3, 10, remote_interactive, '2']
    owner: IT
"""
    )
    assert model.flows[0].ports == [443]
    assert model.flows[1].ports is None  # any port
    assert model.model_dump(by_alias=True)["flows"][1]["ports"] == "any"
    assert model.grants[0].logon_types == ["network", "remote_interactive", "interactive"]
    assert model.grants[0].logon_type_codes == [3, 10, 2]


def test_model_validate_accepts_plain_data() -> None:
    data = {
        "version": 1,
        "group": "G",
        "organisations": [{"id": "p", "name": "P", "kind": "parent", "country": "JP"}],
        "accounts": [{"org": "p", "upn_suffix": "@p.example"}],
    }
    model = GroupModel.model_validate(data)
    assert model.classify_account("a@p.example") == "p"
    assert GroupModel.model_validate(model.model_dump(by_alias=True)) == model


def test_yaml_merge_keys_and_anchors() -> None:
    model = load_model_text(
        MINIMAL
        + """\
zones:
  - id: z
    name: Z
    org: parent
hosts:
  - &ctr {org: affiliate, zone: z, name_pattern: '^ctr-'}
  - <<: *ctr
    name_pattern: '^pc-'             # own keys override merged ones
"""
    )
    assert [(h.org, h.name_pattern) for h in model.hosts] == [("affiliate", "^ctr-"), ("affiliate", "^pc-")]


def test_keys_stay_text() -> None:
    # YAML 1.1 reads a bare 'no' as false; a country code must be quoted, and the message says so.
    from sekimori.model import ModelError

    with pytest.raises(ModelError, match=r"country: expected text, got false \(put the value in quotes"):
        load_model_text(MINIMAL.replace("country: KR", "country: NO"))
    assert load_model_text(MINIMAL.replace("country: KR", "country: 'NO'")).organisations[1].country == "NO"


def test_copy_with_update_does_not_keep_stale_rules(rules: GroupModel) -> None:
    assert rules.classify_account("CORP\\alice") == "parent"  # compiles and caches the rules
    copy = rules.model_copy(update={"accounts": rules.accounts[:1]})
    assert copy.classify_account("CORP\\alice") is None
    assert copy.classify_account("CORP\\ext-1") == "contractor"
    assert rules.classify_account("CORP\\alice") == "parent"
