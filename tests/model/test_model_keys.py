"""One host and account identity for every stage (issue 10, finding 2): hand-written expectations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.model import GroupModel
from sekimori.model.keys import (
    AccountKeys,
    HostDirectory,
    account_key,
    glob_matcher,
    glob_matches,
    host_key,
    host_names,
)


def test_a_host_is_known_by_fqdn_short_and_netbios_name_case_folded() -> None:
    assert host_names("ORN-JUMP-01.corp.example.") == {"orn-jump-01.corp.example", "orn-jump-01"}
    assert host_names(r"\\LONG-WORKSTATION-NAME-07") == {"long-workstation-name-07", "long-workstatio"}
    assert host_key("ORN-JUMP-01.corp.example") == "orn-jump-01"
    assert host_key("::ffff:10.0.0.1") == "10.0.0.1"


def test_a_model_name_or_glob_matches_any_name_of_the_host() -> None:
    fqdn = host_names("orn-jump-01.corp.example")
    assert glob_matches("orn-jump-01", fqdn)  # short in the model, FQDN in the logs
    assert glob_matches("ORN-JUMP-01.CORP.EXAMPLE", host_names("orn-jump-01"))  # and the reverse
    assert glob_matches("orn-jump-0?", fqdn) and glob_matches("orn-jump-*", fqdn)
    assert glob_matches("*.corp.example", fqdn)
    assert not glob_matches("orn-jump-02", fqdn) and not glob_matches("orn-jump", fqdn)
    # NetBIOS: the 15-character name a 4624 logs as WorkstationName
    assert not glob_matches("LONG-WORKSTATI", host_names("long-workstation-name-07.corp"))
    assert glob_matches("long-workstatio", host_names("long-workstation-name-07.corp"))


def test_the_logs_tie_addresses_to_names() -> None:
    hosts = HostDirectory()
    hosts.add("ORN-JUMP-01", "10.1.0.5")  # a 4624: WorkstationName + IpAddress
    hosts.add("orn-jump-01.corp.example", None)  # a Kerberos record: the FQDN
    hosts.add("nat-a", "10.9.9.9")
    hosts.add("nat-b", "10.9.9.9")  # one address, two hosts: it stays apart
    assert hosts.key(None, "10.1.0.5") == "orn-jump-01"
    assert hosts.key(None, "::ffff:10.1.0.5") == "orn-jump-01"
    assert hosts.key(None, "10.9.9.9") == "10.9.9.9"
    assert hosts.names("orn-jump-01") == {"orn-jump-01", "orn-jump-01.corp.example", "10.1.0.5"}
    assert hosts.matching("orn-jump-01.corp.example") == ["orn-jump-01"]
    assert hosts.matching("10.1.0.5") == ["orn-jump-01"]


def test_account_forms_fold_to_one_key_where_the_rules_say_so() -> None:
    model = GroupModel.model_validate(
        {
            "version": 1,
            "group": "g",
            "organisations": [{"id": "p", "name": "P", "kind": "parent", "country": "JP"}],
            "realms": [
                {"id": "corp", "kind": "ad_domain", "name": "CORP.PARENT.EXAMPLE", "shared_by": ["p"]}
            ],
            "accounts": [
                {"org": "p", "realm": "corp", "domain": ["PARENTCO", "corp.parent.example"]},
                {"org": "p", "realm": "corp", "upn_suffix": "@parent.example"},
                {"org": "p", "realm": "corp", "name_pattern": "^svc-"},
            ],
        }
    )
    keys = AccountKeys(model)
    same = {
        keys.key("PARENTCO\\Alice"),
        keys.key("alice", "corp.parent.example"),
        keys.key("alice@parent.example"),
        keys.key("ALICE@corp.parent.example"),
    }
    assert same == {"parentco\\alice"}
    assert keys.key("svc-web") == "parentco\\svc-web"  # a bare name the realm's rule matches
    assert keys.key("bob") == "bob"  # no rule places it: left bare
    assert keys.key("OTHER\\bob") == "other\\bob"
    # a SID the logs gave with a name is that account
    assert keys.key("PARENTCO\\carol", sid="S-1-5-21-1-2-3-1105") == "parentco\\carol"
    assert keys.key(None, sid="s-1-5-21-1-2-3-1105") == "parentco\\carol"
    assert keys.key(None, sid="S-1-5-21-1-2-3-9999") == "s-1-5-21-1-2-3-9999"
    # without the model, the domain's first label
    assert account_key("alice@corp.parent.example") == account_key("CORP\\alice") == "corp\\alice"


_GLOB_PARTS = st.sampled_from(["orn", "jump", "01", "corp", "example", "*", "?", "[0-9]", ".", "-", "x"])
_NAME_PARTS = st.sampled_from(["orn", "jump", "01", "02", "corp", "example", ".", "-", "x", "7"])


@settings(max_examples=300)
@given(
    globs=st.lists(st.lists(_GLOB_PARTS, min_size=1, max_size=6).map("".join), max_size=4),
    names=st.lists(st.lists(_NAME_PARTS, min_size=1, max_size=6).map("".join), max_size=4),
)
def test_a_compiled_glob_list_answers_as_each_glob_does(globs: list[str], names: list[str]) -> None:
    # glob_matches (fnmatch per glob, form and name) is the oracle; the matcher compiles them into one.
    forms = frozenset(n for name in names for n in host_names(name))
    assert glob_matcher(globs)(forms) == any(glob_matches(g, forms) for g in globs)


def _parse_ip_by_ipaddress(value: str | None) -> object:
    """parse_ip without its dotted-quad shortcut: what ipaddress reads after trimming."""
    import ipaddress

    from sekimori.model.matching import clean_text

    cleaned = clean_text(value)
    if cleaned is None:
        return None
    try:
        address = ipaddress.ip_address(cleaned)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


OCTETS = st.sampled_from(
    ["0", "00", "1", "01", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256"]
)


@settings(max_examples=400)
@given(
    st.lists(st.one_of(OCTETS, st.text("0123456789a ", max_size=4)), min_size=1, max_size=5).map(".".join)
    | st.sampled_from(["::ffff:10.0.0.1", " 10.0.0.1", "10.0.0.1\n", "-", "", "１.2.3.4", "10.0.0.1%1"])
)
def test_parse_ip_reads_a_dotted_quad_as_ipaddress_does(text: str) -> None:
    from sekimori.model.matching import parse_ip

    got, expected = parse_ip(text), _parse_ip_by_ipaddress(text)
    assert got == expected and type(got) is type(expected) and str(got) == str(expected)
