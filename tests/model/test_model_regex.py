"""Model regexes run in time linear in the text, with one meaning in Python and in DuckDB (both RE2).

A backtracking engine takes exponential time on '^([a-z]+\\.?)+$' and a name of a's ending in '!'
(each extra character doubles the work): names in logs are written by attackers. Timings here are
compared with other timings of the same run (a longer name, a name of the same length that matches),
never with a fixed wall time; a generous alarm turns a runaway match into a failure instead of a hang.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator

import duckdb
import pyarrow as pa
import pytest

from sekimori.model import GroupModel, load_model_text, register_model
from tests.model.conftest import MINIMAL

HOSTILE_PATTERN = r"^([a-z]+\.?)+$"

MODEL = (
    MINIMAL
    + f"""\
accounts:
  - org: affiliate
    name_pattern: '{HOSTILE_PATTERN}'
zones:
  - {{id: z, name: Z, org: parent}}
hosts:
  - org: affiliate
    zone: z
    name_pattern: '{HOSTILE_PATTERN}'
systems:
  - {{id: s, name: S, owner: parent, zone: z, hosts: ['*a*a*a*a*a*a*b']}}
"""
)


@pytest.fixture(scope="module")
def model() -> GroupModel:
    return load_model_text(MODEL, "hostile.yaml")


@pytest.fixture(autouse=True)
def alarm() -> Iterator[None]:
    """Fail (rather than hang) a test still running after a minute: Python's regex engine checks for
    signals while it backtracks, so the alarm interrupts a runaway match."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("still matching after 60 s: the regex does not run in linear time")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fastest(action: Callable[[], object], repeat: int = 5) -> float:
    """The shortest of a few runs: the one least disturbed by other work on the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def hostile(length: int) -> str:
    return "a" * length + "!"  # never matches, after trying every way to split the a's


def assert_linear(judge: Callable[[str], object], matching: Callable[[int], str]) -> None:
    """``judge`` takes about as long on a hostile name as on a ``matching`` one of the same length, and
    about ten times as long on a name ten times longer (bounds 20x and 40x, for noise)."""
    hostile_10k = fastest(lambda: judge(hostile(10_000)))
    matching_10k = fastest(lambda: judge(matching(10_000)))
    hostile_100k = fastest(lambda: judge(hostile(100_000)))
    assert hostile_10k < 20 * matching_10k, (hostile_10k, matching_10k)
    assert hostile_100k < 40 * hostile_10k, (hostile_100k, hostile_10k)


def test_account_pattern_runs_in_linear_time_in_python(model: GroupModel) -> None:
    assert model.classify_account(hostile(35)) is None
    assert model.classify_account("john.smith") == "affiliate"
    assert_linear(model.classify_account, lambda length: "a" * length)


def test_host_pattern_runs_in_linear_time_in_python(model: GroupModel) -> None:
    assert model.classify_host(hostile(35)) == (None, None)
    assert model.classify_host("ws.corp") == ("affiliate", "z")
    assert_linear(model.classify_host, lambda length: "a" * length)


def test_host_glob_runs_in_linear_time_in_python(model: GroupModel) -> None:
    # '*a*a*a*a*a*a*b' is '^(?:.*a.*a.*a.*a.*a.*a.*b)$': polynomial of degree 7 with backtracking.
    assert model.systems_for_host("a" * 50) == []
    assert model.systems_for_host("aaaaaab") == ["s"]
    assert_linear(model.systems_for_host, lambda length: "a" * length + "b")


def test_account_pattern_runs_in_linear_time_in_sql(model: GroupModel) -> None:
    con = duckdb.connect()
    register_model(con, model)

    def judge_all(names: list[str]) -> list[str | None]:
        con.register("names", pa.table({"n": pa.array(names, pa.string())}))
        rows = con.execute("SELECT model.account_org(n, NULL, NULL) FROM names").fetchall()
        return [org for (org,) in rows]

    assert judge_all([hostile(35), "john.smith", "John.Smith", "john..smith"]) == [
        None,
        "affiliate",
        "affiliate",
        None,
    ]
    assert_linear(lambda name: judge_all([name] * 20), lambda length: "a" * length)
    con.close()


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        # Python's re read these differently from DuckDB; both run RE2 now.
        ("^abc$", "abc\n@x.example", None),  # re's '$' also matched before a final newline
        ("^émile$", "ÉMILE", "affiliate"),  # RE2 folds case beyond ASCII; re.ASCII did not
        ("^k$", "\u212a", "affiliate"),  # KELVIN SIGN folds to k in RE2
        ("^[[:alpha:]]+$", "Alice", "affiliate"),  # a POSIX class in RE2, a nested set in re
        ("^[[:alpha:]]+$", "al1ce", None),
        ("^a\\z", "a", "affiliate"),  # RE2's end of text (re has \\Z)
        ("^\\w+$", "émile", None),  # \\w is ASCII in RE2
        ("^(?-i:ab)c$", "abC", "affiliate"),  # flags in the pattern win over the (?i) in front
        ("^(?-i:ab)c$", "ABc", None),
    ],
)
def test_python_and_sql_read_a_pattern_alike(pattern: str, name: str, expected: str | None) -> None:
    model = load_model_text(MINIMAL + f"accounts:\n  - org: affiliate\n    name_pattern: '{pattern}'\n")
    assert model.classify_account(name) == expected
    con = duckdb.connect()
    register_model(con, model)
    assert con.execute("SELECT model.account_org(?, NULL, NULL)", [name]).fetchone() == (expected,)
    con.close()


def test_names_that_are_not_valid_unicode_are_judged_without_error(model: GroupModel) -> None:
    # A lone surrogate cannot be encoded as UTF-8 (the form RE2 reads); such a name matches nothing.
    assert model.classify_account("ab\udcffc") is None
    assert model.classify_host("ws\udcff") == (None, None)
