"""Property tests: the loader fails only with ModelError, and the SQL macros agree with Python."""

from __future__ import annotations

import ipaddress
import string
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.model import EXAMPLE_PATH, GroupModel, ModelError, load_model_text
from sekimori.model.matching import parse_ip

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any text but lone surrogates, which no file can hold.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)

YAML_TOKENS = st.sampled_from(
    [
        "\n",
        "  ",
        "- ",
        ": ",
        "? ",
        "{",
        "}",
        "[",
        "]",
        ", ",
        "&a ",
        "*a",
        "<<: ",
        "!!str ",
        "!tag ",
        "!!int ",
        "'",
        '"',
        "#",
        "|",
        ">",
        "---",
        "...",
        "%YAML 1.1",
        "version",
        "1",
        "group",
        "organisations",
        "id",
        "parent",
        "kind",
        "country",
        "JP",
        "accounts",
        "hosts",
        "cidr",
        "10.0.0.0/8",
        "name_pattern",
        "(",
        "2023-02-30",
        "2024-01-01",
        "~",
        "null",
        "yes",
        "\t",
        "\\",
        "\x00",
        "\x85",
        "\ufeff",
    ]
)


def _load(text: str) -> None:
    try:
        model = load_model_text(text, "fuzz.yaml")
    except ModelError as error:
        assert error.issues
        for issue in error.issues:
            assert issue.file == "fuzz.yaml"
            assert issue.message
            assert str(issue).startswith("fuzz.yaml")
    else:
        assert isinstance(model, GroupModel)
        model.tables()


@FUZZ
@given(st.lists(YAML_TOKENS, max_size=40).map("".join))
def test_yaml_token_soup_loads_or_raises_model_error(text: str) -> None:
    _load(text)


@FUZZ
@given(TEXT)
def test_any_text_loads_or_raises_model_error(text: str) -> None:
    _load(text)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    TEXT,
    st.dates(),
    st.sampled_from(
        ["parent", "JP", "any", "tcp", "network", 3, "10.0.0.0/8", "^x", "[", "S-1-5-21-1", "@a.b"]
    ),
)
FIELD_NAMES = st.sampled_from(
    [
        "version",
        "group",
        "organisations",
        "id",
        "name",
        "kind",
        "country",
        "org",
        "zone",
        "cidr",
        "cidrs",
        "name_pattern",
        "domain",
        "upn_suffix",
        "sid_prefix",
        "from",
        "to",
        "ports",
        "protocol",
        "systems",
        "hosts",
        "logon_types",
        "records",
        "personal_data",
        "start",
        "end",
        "shared_by",
        "owner",
        "realm",
    ]
)
DATA = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(FIELD_NAMES | TEXT, children, max_size=4)
    ),
    max_leaves=25,
)


@FUZZ
@given(DATA)
def test_random_data_loads_or_raises_model_error(data: Any) -> None:
    _load(yaml.safe_dump(data, allow_unicode=True))


EXAMPLE_DATA = yaml.safe_load(EXAMPLE_PATH.read_text(encoding="utf-8"))


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths += _paths(value, (*prefix, index))
    return paths


EXAMPLE_PATHS = [p for p in _paths(EXAMPLE_DATA) if p]


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(EXAMPLE_PATHS), st.one_of(st.just(KeyError), DATA)), min_size=1, max_size=3
    )
)
def test_mutated_example_loads_or_raises_model_error(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Replace (or delete) values deep inside the example: reaches every validator with odd input."""
    data = yaml.safe_load(yaml.safe_dump(EXAMPLE_DATA))
    for path, value in mutations:
        parent = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            if value is KeyError:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    _load(yaml.safe_dump(data, allow_unicode=True))


# --- SQL and Python agree ---

_EXAMPLE = load_model_text(EXAMPLE_PATH.read_text(encoding="utf-8"), str(EXAMPLE_PATH))
_CON: duckdb.DuckDBPyConnection | None = None


def _con() -> duckdb.DuckDBPyConnection:
    global _CON
    if _CON is None:
        from sekimori.model import register_model

        _CON = duckdb.connect()
        register_model(_CON, _EXAMPLE)
    return _CON.cursor()


def teardown_module() -> None:
    global _CON
    if _CON is not None:
        _CON.close()
        _CON = None


def _ip_texts() -> st.SearchStrategy[str]:
    def variants(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> st.SearchStrategy[str]:
        forms = [str(address), str(address).upper(), f" {address}\t"]
        if isinstance(address, ipaddress.IPv6Address):
            forms += [address.exploded, f"{address}%eth0"]
        else:
            forms += [f"::ffff:{address}", f"::FFFF:{int(address) >> 16:x}:{int(address) & 0xFFFF:x}"]
        return st.sampled_from(forms)

    in_model = st.sampled_from(
        [
            "10.10.1.7",
            "10.10.200.1",
            "10.20.0.1",
            "192.168.50.9",
            "203.0.113.1",
            "fd00:10::9",
            "fd00:20::1",
            "2001:db8:203::7",
        ]
    ).map(ipaddress.ip_address)
    addresses = st.one_of(st.ip_addresses(), in_model)
    garbage = st.text(st.sampled_from("0123456789abcdefABCDEF:.%-x "), max_size=45)
    return st.one_of(addresses.flatmap(variants), garbage)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), _ip_texts()), min_size=1, max_size=40))
def test_sql_ip_parsing_agrees_with_python(ips: list[str | None]) -> None:
    cursor = _con()
    cursor.register("ips", pa.table({"ip": pa.array(ips, pa.string())}))
    rows = cursor.execute("SELECT ip, model.ip_parts(ip) FROM ips").fetchall()
    for ip, parts in rows:
        address = parse_ip(ip)
        expected = {
            "v4": int(address) if isinstance(address, ipaddress.IPv4Address) else None,
            "v6": f"{int(address):032x}" if isinstance(address, ipaddress.IPv6Address) else None,
        }
        assert parts == expected, ip


NAME_PARTS = st.sampled_from(
    [
        "CORP",
        "corp.parent.example",
        "AFFKR",
        "affkr.example",
        "CTR-PC-0042",
        "kr01234",
        "kr1",
        "ext-",
        "alice",
        "@affiliate-kr.example",
        "@parent.example",
        "@",
        "\\",
        "-",
        " ",
        ".",
        "ctr-pc-7",
        "kr-ops-",
        "dc01",
        ".corp.parent.example",
        ".affkr.example",
        "\n",
        "x",
        "İ",  # case maps differ between Python and DuckDB for these three
        "ſ",
        "ß",
    ]
)
SIDS = st.sampled_from(
    [
        "S-1-5-21-2181354431-3447853260-3224839220",
        "s-1-5-21-1004336348-1177238915-682003330",
        "S-1-5-21-1",
        "",
    ]
).flatmap(lambda prefix: st.sampled_from([prefix, prefix + "-500", prefix + "0-500", prefix + "-"]))
NAMES = st.lists(
    NAME_PARTS | st.text(string.ascii_letters + string.digits + "-_.@\\ ", max_size=6), max_size=5
).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.none() | NAMES, st.none() | NAMES, st.none() | SIDS), min_size=1, max_size=30))
def test_account_macro_agrees_with_python_on_random_names(
    accounts: list[tuple[str | None, str | None, str | None]],
) -> None:
    cursor = _con()
    columns = list(zip(*accounts, strict=True))
    cursor.register(
        "accounts",
        pa.table(
            {name: pa.array(col, pa.string()) for name, col in zip(("p", "d", "s"), columns, strict=True)}
        ),
    )
    rows = cursor.execute("SELECT p, d, s, model.account_org(p, d, s) FROM accounts").fetchall()
    for principal, domain, sid, org in rows:
        assert org == _EXAMPLE.classify_account(principal, domain, sid), (principal, domain, sid)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.none() | NAMES, st.none() | _ip_texts()), min_size=1, max_size=30))
def test_host_macros_agree_with_python_on_random_hosts(hosts: list[tuple[str | None, str | None]]) -> None:
    cursor = _con()
    columns = list(zip(*hosts, strict=True))
    cursor.register(
        "hosts", pa.table({"h": pa.array(columns[0], pa.string()), "ip": pa.array(columns[1], pa.string())})
    )
    rows = cursor.execute("SELECT h, ip, model.host_org(h, ip), model.host_zone(h, ip) FROM hosts").fetchall()
    for host, ip, org, zone in rows:
        assert (org, zone) == _EXAMPLE.classify_host(host, ip), (host, ip)
