"""The model's regular expressions, run with RE2 in Python as DuckDB runs them in SQL.

Patterns come from a model file and are matched against names taken from logs, which an attacker
writes. A backtracking engine (Python's ``re``) can take exponential time on a pattern such as
``^([a-z]+\\.?)+$`` and a 35-character name; RE2 matches in time linear in the text. The Python
classifiers therefore use the ``google-re2`` binding with the very pattern string the SQL macros give
DuckDB's RE2 (:data:`SQL_REGEX_PREFIX` + the pattern), so the two cannot read it differently. What RE2
cannot express (backreferences, lookarounds, possessive quantifiers, atomic groups…) is refused when the
model is validated.
"""

from __future__ import annotations

import atexit
import functools
import re
import threading
from typing import Any

import re2

# Prefix of every model regex, in SQL and in Python alike: case-insensitive (RE2 folds case by Unicode
# simple case folding, in both).
SQL_REGEX_PREFIX = "(?i)"

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every rejected pattern on stderr
_OPTIONS.never_capture = True  # only "does it match" is asked: lets RE2 answer with its DFA alone

# '{,n}' is a repetition in Python and in some other engines, but literal text in RE2: refused as a
# likely mistake.
_OPEN_LOWER_BOUND = re.compile(r"(?<!\\)\{,[0-9]*\}")

# What RE2 says (the start of its error argument) → the construct, for constructs it does not have.
_UNSUPPORTED = (
    ("(?=", "lookaheads"),
    ("(?!", "lookaheads"),
    ("(?<=", "lookbehinds"),
    ("(?<!", "lookbehinds"),
    ("(?>", "atomic groups"),
    ("(?(", "conditionals"),
    ("(?R", "recursion"),
)


class ModelRegex:
    """A model regex compiled with RE2: ``search`` finds it anywhere in a text, case-insensitively."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern  # as written in the model, without SQL_REGEX_PREFIX
        self._compiled = re2.compile(SQL_REGEX_PREFIX + pattern, _OPTIONS)

    def search(self, text: str) -> bool:
        # Searched as UTF-8 bytes: the binding then does not map offsets back to characters, and a lone
        # surrogate (which no DuckDB string holds) cannot make encoding fail.
        return self._compiled.search(text.encode("utf-8", "surrogatepass")) is not None

    def __repr__(self) -> str:
        return f"ModelRegex({self.pattern!r})"


class ModelRegexSet:
    """Several model regexes searched in one pass (an RE2 set, the same engine and options):
    ``search(text)`` is the set of positions ``i`` for which ``regexes[i].search(text)`` holds."""

    __slots__ = ("_regexes", "_set")

    def __init__(self, regexes: list[ModelRegex]) -> None:
        self._regexes = regexes
        self._set: Any = None
        if len(regexes) > 1:
            try:
                searcher = re2.Set.SearchSet(_OPTIONS)
                for regex in regexes:
                    searcher.Add(SQL_REGEX_PREFIX + regex.pattern)
                searcher.Compile()
                self._set = searcher  # its Match takes the text's bytes as they are
            except re2.error:  # the regexes compiled one by one: they are searched one by one
                self._set = None

    def search(self, text: str, skip: frozenset[int] = frozenset()) -> set[int]:
        """The regexes found in ``text`` (those in ``skip`` need not be reported)."""
        data = text.encode("utf-8", "surrogatepass")
        if self._set is not None:
            found = self._set.Match(data)
            # A set that matches reports every regex that matches. One that answers none either found
            # none or ran its DFA out of memory (a set has no slower fallback): then each is searched.
            if found:
                return set(found)
        return {i for i, regex in enumerate(self._regexes) if i not in skip and regex.search(text)}


@functools.lru_cache(maxsize=4096)
def model_regex(pattern: str) -> ModelRegex:
    """Compile a regex that already passed :func:`compile_regex` (or a translated glob)."""
    return ModelRegex(pattern)


def compile_regex(pattern: str) -> ModelRegex:
    """Compile a model regex; raise ValueError saying why if RE2 (here or in DuckDB) cannot run it."""
    if _OPEN_LOWER_BOUND.search(pattern):
        raise ValueError(
            f"expected a regular expression without '{{,n}}' (write '{{0,n}}': RE2 reads '{{,n}}' "
            f"as text), got {pattern!r}"
        )
    try:
        compiled = ModelRegex(pattern)
    except re2.error as exc:
        raise ValueError(_explain(pattern, _error_without_prefix(pattern) or _error_text(exc))) from None
    duckdb_problem = _duckdb_error(pattern)
    if duckdb_problem is not None:
        raise ValueError(
            f"expected a regular expression that DuckDB's RE2 also understands, got {pattern!r}: "
            f"{duckdb_problem}"
        )
    return compiled


def _error_without_prefix(pattern: str) -> str | None:
    """RE2's complaint about the pattern as written (its messages quote the pattern)."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        return _error_text(exc)
    return None


def _error_text(exc: re2.error) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _explain(pattern: str, problem: str) -> str:
    """The validation message for a pattern RE2 rejects, naming a construct RE2 lacks if it is one."""
    argument = problem.partition(": ")[2]
    construct = next((name for start, name in _UNSUPPORTED if argument.startswith(start)), None)
    if construct is None and argument == "(?P":  # RE2 quotes no further: (?P=name) or (?P>name)
        construct = "backreferences" if "(?P=" in pattern else "recursion" if "(?P>" in pattern else None
    if construct is None and re.fullmatch(r"\\([1-9]|[gk])", argument):
        construct = "backreferences"
    if construct is None and problem.startswith("invalid perl operator: (?") and argument[2:3].isdigit():
        construct = "recursion"
    if construct is None and problem.startswith("bad repetition operator:") and argument.endswith("+"):
        construct = "possessive quantifiers"
    if construct is not None:
        return (
            f"expected a regular expression without {construct}, got {pattern!r}: model patterns run "
            f"with RE2, which matches in time linear in the name and has no {construct} ({problem})"
        )
    if argument == "\\Z":
        return f"expected a regular expression in RE2 syntax, got {pattern!r}: write \\z for the end of text"
    return f"expected a valid regular expression (RE2 syntax), got {pattern!r}: {problem}"


def glob_to_regex(glob: str) -> str:
    """Anchored regex (without flags) for a host glob: '*' is any run of characters, '?' one character."""
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob]
    return "^(?:" + "".join(parts) + ")$"


# --- DuckDB's own RE2 (a vendored copy, possibly another version than the binding's) ----

_duckdb_lock = threading.Lock()
_duckdb_connection: Any = None


@atexit.register
def _close_duckdb_connection() -> None:
    # Closed before interpreter teardown, where DuckDB's bindings report objects still alive as leaks.
    global _duckdb_connection
    with _duckdb_lock:
        if _duckdb_connection is not None:
            _duckdb_connection.close()
            _duckdb_connection = None


def _duckdb_error(pattern: str) -> str | None:
    """Why DuckDB rejects ``pattern``, or None if it accepts it."""
    global _duckdb_connection
    import duckdb  # imported lazily: only models with regexes need it

    with _duckdb_lock:
        if _duckdb_connection is None:
            _duckdb_connection = duckdb.connect(":memory:")
            _duckdb_connection.execute("SET enable_progress_bar = false")  # it prints on stdout
        try:
            _duckdb_connection.execute("SELECT regexp_matches('', ?)", [SQL_REGEX_PREFIX + pattern])
        except duckdb.Error as exc:
            return str(exc).removeprefix("Invalid Input Error: ")
    return None
