"""Zeek TSV header blocks: the ``#`` directive lines and the column plan a block gives its data lines.

This module owns the header of Zeek's ``LogAscii`` format: which ``#`` lines are directives
(``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#path``, ``#open``,
``#close``, ``#fields``, ``#types``) and how each one changes the current block (``apply_directive``),
and ``HeaderBlock``: the block's separators and unset/empty markers, and, once its ``#fields`` and
``#types`` are known, the per-column converters of the row path and the (container, scalar type) kinds
of the vectorised path. Data lines themselves are converted by the reader and ``sekimori.ingest.zeek.vector``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sekimori.ingest.base import Quarantine
from sekimori.ingest.zeek.fields import SENSOR_KEYS, fallback_path, infer_path
from sekimori.ingest.zeek.values import SCALAR_PARSERS, string_value, unescape

_DIRECTIVES = frozenset(
    {"separator", "set_separator", "empty_field", "unset_field", "path", "open", "close", "fields", "types"}
)
_HEX_RE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_DIRECTIVE_RE = re.compile(r"#([a-z_]+)")
# Types whose text repeats a lot (ports, counts, flags, addresses): converted once per distinct text.
_MEMO_TYPES = frozenset({"port", "count", "counter", "int", "bool", "addr"})
MEMO_MAX = 8192
# Fields whose type is fixed whatever #types says, so that the typed event columns stay typed.
_FORCED_TYPES = {
    "ts": "time",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    "id.resp_h": "addr",
    "id.resp_p": "port",
    **dict.fromkeys(SENSOR_KEYS, "string"),
}
_CONTAINERS = ("set[", "vector[", "table[")

# One column of a header block for the row path: name, converter (None: plain string, taken as
# is), memo of converted values (or None), and what the empty marker stands for: an empty container,
# an empty string, or (None) nothing, so it goes through the converter, which refuses it.
Column = tuple[str, Callable[[str], Any] | None, dict[str, Any] | None, tuple[()] | str | None]


def _header_value(value: str) -> str:
    return _HEX_RE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _split_type(typ: str) -> tuple[bool, str]:
    for prefix in _CONTAINERS:
        if typ.startswith(prefix) and typ.endswith("]"):
            return True, typ[len(prefix) : -1]
    return False, typ


class HeaderBlock:
    """The state of one TSV header block and the column plans derived from it."""

    def __init__(self, separator: str = "\t") -> None:
        self.sep = separator
        self.set_sep = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path: str | None = None
        self.fields: list[str] | None = None
        self.types: list[str] | None = None
        self.error: str | None = None
        # ``plain`` is used for lines without a backslash (strings need no unescaping), ``escaped``
        # for the others; ``kinds`` are (container, scalar type) for the vectorised path.
        self.plain: list[Column] | None = None
        self.escaped: list[Column] = []
        self.kinds: list[tuple[bool, str]] = []
        self.ts_index: int | None = None
        self.has_sensor = False
        self.inferred_path = "unknown"

    def reset_plan(self) -> None:
        self.plain = None

    def build(self, hint: str | None) -> bool:
        """Compile the column plans once the block's #fields (and #types) are known."""
        fields = self.fields
        if fields is None:
            self.error = "data line before a #fields header"
            return False
        types = self.types if self.types is not None else ["string"] * len(fields)
        if len(types) != len(fields):
            self.error = f"#fields has {len(fields)} names but #types has {len(types)}"
            return False
        if len(set(fields)) != len(fields):
            self.error = "#fields repeats a name"
            return False
        plain: list[Column] = []
        escaped: list[Column] = []
        kinds: list[tuple[bool, str]] = []
        for name, declared in zip(fields, types, strict=True):
            container, inner = _split_type(_FORCED_TYPES.get(name, declared))
            kinds.append((container, inner))
            conv = SCALAR_PARSERS.get(inner, string_value)
            if container:
                conv = self._container(conv)
                plain.append((name, conv, {}, ()))
                escaped.append((name, conv, {}, ()))
            elif conv is string_value:
                plain.append((name, None, None, ""))
                escaped.append((name, unescape, None, ""))
            else:
                memo: dict[str, Any] | None = {} if inner in _MEMO_TYPES else None
                plain.append((name, conv, memo, None))
                escaped.append((name, conv, memo, None))
        self.plain, self.escaped, self.kinds = plain, escaped, kinds
        self.error = None
        self.ts_index = fields.index("ts") if "ts" in fields else None
        self.has_sensor = any(k in fields for k in SENSOR_KEYS)
        if self.path is None:  # a block without #path: tell the log from its #fields
            self.inferred_path = infer_path(tuple(fields), hint) or fallback_path(hint)
        return True

    def _container(self, conv: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
        set_sep, unset = self.set_sep, self.unset

        def convert(value: str) -> tuple[Any, ...]:
            return tuple(None if item == unset else conv(item) for item in value.split(set_sep))

        return convert

    @property
    def log_path(self) -> str:
        return self.path or self.inferred_path


def directive(text: str) -> str | None:
    """The directive a ``#`` line holds, or None for a comment."""
    match = _DIRECTIVE_RE.match(text)
    return match.group(1) if match and match.group(1) in _DIRECTIVES else None


def apply_directive(
    block: HeaderBlock | None, name: str, text: str, lineno: int, offset: int, quarantine: Quarantine
) -> HeaderBlock:
    """The block after directive line ``text`` (``name``, as ``directive`` gave it); a ``#separator``
    starts a new block."""
    if name == "separator":
        value = text[len("#separator") :]
        value = value[1:] if value[:1] in (" ", "\t") else value
        sep = _header_value(value)
        if not sep:
            quarantine.add(
                "empty #separator; using tab", record=lineno, offset=offset, field="#separator", data=text
            )
            sep = "\t"
        return HeaderBlock(sep)
    if block is None:
        block = HeaderBlock()
    values = text.split(block.sep)[1:]
    if name == "fields":
        block.fields = values
        block.types = None
    elif name == "types":
        block.types = values
    elif name in ("set_separator", "empty_field", "unset_field", "path"):
        value = _header_value(values[0]) if values else ""
        if name == "set_separator":
            block.set_sep = value or ","
        elif name == "empty_field":
            block.empty = value
        elif name == "unset_field":
            block.unset = value
        else:
            block.path = value or None
    block.reset_plan()  # rebuilt at the next data line
    return block
