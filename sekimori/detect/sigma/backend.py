"""A pySigma backend that turns one Sigma rule's detection into a DuckDB boolean expression.

The expression refers to event fields through two quoted columns per Sigma field, which the engine
(``engine.py``) projects once per event for a whole group of rules:

- ``"o:<Field>"``: the field's value as text (``NULL`` when the event has no such field);
- ``"l:<Field>"``: the same, lower-cased, for Sigma's case-insensitive string matching.

Keywords (values not bound to a field) search ``"l:_raw"``, the lower-cased original record.

Semantics follow the Sigma specification: strings match case-insensitively with ``*``/``?``
wildcards (``|cased`` makes them case-sensitive), ``|re`` is a case-sensitive, unanchored search (flags
``i``, ``m``, ``s``), numbers compare equal to their text, ``null`` is an absent/null field (not
``''``), and a
negated condition over an absent field is true (``NOT coalesce(x, false)``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

RAW_FIELD = "_raw"  # the whole record, for keywords


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def col(field: str, lower: bool) -> str:
    name = ("l:" if lower else "o:") + field
    return '"' + name.replace('"', '""') + '"'


def _plain(value: SigmaString) -> str:
    """The literal text of a SigmaString without wildcards (escapes resolved, unlike ``to_plain``)."""
    return "".join(part for part in value.s if isinstance(part, str))


# Values of one kind (contains, starts_with, ends_with) on one field from this many on are matched as
# one list (``any_of``): as one call each, DuckDB's parsing and binding of a rule of thousands of them
# (Vulnerable Driver Load: 4,431 hashes) cost ~0.25 s, the list ~0.01 s.
MANY = 16
SEPARATOR = "\n"  # joins a list's values in one SQL literal; a list with a value holding it is not listed


def any_of(function: str, column: str, values: list[str]) -> str:
    """True when ``function(column, v)`` is true for a value ``v`` of ``values``, false otherwise (also
    for a NULL column, where the ``OR`` of the calls is NULL: the backend's NOT and its final
    ``coalesce`` treat the two alike). The values travel as one literal, split once per vector."""
    literal = sql_str(SEPARATOR.join(values))
    return (
        f"array_length(list_filter(string_split({literal}, chr({ord(SEPARATOR)})), "
        f"lambda _v: {function}({column}, _v))) > 0"
    )


# ``.{N,}``, ``.{N}``, ``(.){N,M}``: some N characters in a row other than a newline (RE2's ``.`` without
# ``s``); the rest of the text does not matter, unanchored. RE2 runs it position by position: "Unusually
# Long PowerShell CommandLine" took 0.2 s over 6 command lines of 1-2.5 KB, its line lengths ~nothing.
_RUN = re.compile(r"(?:\.|\(\.\))\{(\d+)(?:,(\d*))?\}")


def long_line(column: str, n: int) -> str:
    """True when a line of ``column`` (split at ``\\n`` only, as RE2's ``.``) has ``n`` characters
    (code points, as ``.`` matches) or more; NULL for NULL. The whole text is at least as long: checked
    first (``length``, not DuckDB's ``strlen``, which Spark does not have)."""
    lengths = f"list_transform(string_split({column}, chr(10)), lambda _l: length(_l))"
    return f"(length({column}) >= {n} AND list_max({lengths}) >= {n})"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class DuckDBBackend(TextQueryBackend):
    """Sigma detection → DuckDB SQL boolean over the ``o:``/``l:`` field columns."""

    name: ClassVar[str] = "sekimori DuckDB backend"
    formats: ClassVar[dict[str, str]] = {"default": "DuckDB boolean expression"}
    requires_pipeline: ClassVar[bool] = False

    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "OR"
    and_token: ClassVar[str] = "AND"
    not_token: ClassVar[str] = "NOT"
    eq_token: ClassVar[str] = " = "
    str_quote: ClassVar[str] = "'"
    escape_char: ClassVar[str] = "\\"
    wildcard_multi: ClassVar[str] = "%"
    wildcard_single: ClassVar[str] = "_"
    add_escaped: ClassVar[str] = "\\"
    cidr_expression: ClassVar[str | None] = None  # expanded to prefix matches by pySigma
    unbound_value_str_expression: ClassVar[str] = "{value}"
    unbound_value_num_expression: ClassVar[str] = "{value}"
    unbound_value_re_expression: ClassVar[str] = "{value}"
    field_null_expression: ClassVar[str] = "{field} IS NULL"
    field_exists_expression: ClassVar[str] = "{field} IS NOT NULL"
    field_not_exists_expression: ClassVar[str] = "{field} IS NULL"
    re_expression: ClassVar[str] = "{field}"
    compare_op_expression: ClassVar[str] = "{field}"
    field_equals_field_expression: ClassVar[str] = "{field1}"
    deferred_start: ClassVar[str] = ""
    deferred_separator: ClassVar[str] = ""
    deferred_only_query: ClassVar[str] = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields: set[str] = set()  # fields referenced by the last converted rule
        self.regexes: list[str] = []  # regular expressions of the last rule (checked by the engine)

    # -- fields -----------------------------------------------------------------------------------
    def _col(self, field: str, lower: bool) -> str:
        self.fields.add(field)
        return col(field, lower)

    # -- strings ----------------------------------------------------------------------------------
    def _match(self, column: str, value: SigmaString, lower: bool) -> str:
        if not value.contains_special():
            plain = _plain(value)
            return f"{column} = {sql_str(plain.lower() if lower else plain)}"
        inner = value[1:-1] if len(value) >= 2 else None
        if (
            inner is not None
            and value.startswith(SpecialChars.WILDCARD_MULTI)
            and value.endswith(SpecialChars.WILDCARD_MULTI)
            and not inner.contains_special()
        ):
            plain = _plain(inner)
            return f"contains({column}, {sql_str(plain.lower() if lower else plain)})"
        if value.endswith(SpecialChars.WILDCARD_MULTI) and not value[:-1].contains_special():
            plain = _plain(value[:-1])
            return f"starts_with({column}, {sql_str(plain.lower() if lower else plain)})"
        if value.startswith(SpecialChars.WILDCARD_MULTI) and not value[1:].contains_special():
            plain = _plain(value[1:])
            return f"ends_with({column}, {sql_str(plain.lower() if lower else plain)})"
        pattern = "".join(
            _like_escape(part)
            if isinstance(part, str)
            else ("%" if part == SpecialChars.WILDCARD_MULTI else "_")
            for part in value.s
        )
        if lower:
            pattern = pattern.lower()
        return f"{column} LIKE {sql_str(pattern)} ESCAPE '\\'"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        cased = isinstance(cond.value, SigmaCasedString)
        return self._match(self._col(cond.field, not cased), cond.value, not cased)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._match(self._col(cond.field, False), cond.value, False)

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        assert isinstance(cond.value, SigmaString)
        value = cond.value
        if not value.startswith(SpecialChars.WILDCARD_MULTI):
            value = SpecialChars.WILDCARD_MULTI + value
        if not value.endswith(SpecialChars.WILDCARD_MULTI):
            value = value + SpecialChars.WILDCARD_MULTI
        return self._match(self._col(RAW_FIELD, True), value, True)

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        return f"contains({self._col(RAW_FIELD, True)}, {sql_str(str(cond.value))})"

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        assert isinstance(cond.value, SigmaRegularExpression)
        return self._regex(self._col(RAW_FIELD, False), cond.value)

    # -- other value types ------------------------------------------------------------------------
    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaNumber)
        column = self._col(cond.field, True)
        text = str(cond.value)
        # JSON numbers and numeric text compare by value; other text (e.g. hex) by its text.
        return f"({column} = {sql_str(text)} OR TRY_CAST({column} AS DOUBLE) = {float(cond.value.number)!r})"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        return f"{self._col(cond.field, True)} = {sql_str('true' if cond.value.boolean else 'false')}"

    def convert_condition_field_eq_val_null(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaNull)
        # As pySigma's SQL backends: absent or JSON null; an empty string is matched by ``''``.
        return f"{self._col(cond.field, False)} IS NULL"

    def convert_condition_field_eq_val_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._col(cond.field, False)
        exists = bool(cond.value)
        return f"{column} IS {'NOT ' if exists else ''}NULL"

    def _regex(self, column: str, regex: SigmaRegularExpression) -> str:
        flags = {
            SigmaRegularExpressionFlag.IGNORECASE: "i",
            SigmaRegularExpressionFlag.MULTILINE: "m",
            SigmaRegularExpressionFlag.DOTALL: "s",
        }
        prefix = "".join(sorted(flags[f] for f in regex.flags))
        pattern = (f"(?{prefix})" if prefix else "") + regex.to_plain()
        self.regexes.append(pattern)
        run = _RUN.fullmatch(regex.to_plain())
        if run and SigmaRegularExpressionFlag.DOTALL not in regex.flags:
            low, high = int(run.group(1)), run.group(2)
            if 1 <= low <= 1000 and (not high or low <= int(high) <= 1000):  # else RE2's own error
                return long_line(column, low)
        return f"regexp_matches({column}, {sql_str(pattern)})"

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaRegularExpression)
        return self._regex(self._col(cond.field, False), cond.value)

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaCompareExpression)
        ops = {
            SigmaCompareExpression.CompareOperators.LT: "<",
            SigmaCompareExpression.CompareOperators.LTE: "<=",
            SigmaCompareExpression.CompareOperators.GT: ">",
            SigmaCompareExpression.CompareOperators.GTE: ">=",
        }
        number = float(cond.value.number.number)
        return f"TRY_CAST({self._col(cond.field, False)} AS DOUBLE) {ops[cond.value.op]} {number!r}"

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        ref = cond.value
        assert isinstance(ref, SigmaFieldReference)
        left, right = self._col(cond.field, True), self._col(ref.field, True)
        if ref.starts_with and ref.ends_with:
            return f"contains({left}, {right})"
        if ref.starts_with:
            return f"starts_with({left}, {right})"
        if ref.ends_with:
            return f"ends_with({left}, {right})"
        return f"{left} = {right}"

    def _literal(self, value: SigmaString) -> tuple[str, str] | None:
        """(kind, lower-cased text) of a plain/prefix/suffix/infix string value, else None."""
        if not value.contains_special():
            return "eq", _plain(value).lower()
        multi = SpecialChars.WILDCARD_MULTI
        if len(value) >= 2 and value.startswith(multi) and value.endswith(multi):
            inner = value[1:-1]
            if not inner.contains_special():
                return "ct", _plain(inner).lower()
        if value.endswith(multi) and not value[:-1].contains_special():
            return "sw", _plain(value[:-1]).lower()
        if value.startswith(multi) and not value[1:].contains_special():
            return "ew", _plain(value[1:]).lower()
        return None

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """OR of string matches on one field: equalities become one ``IN`` list.

        (An RE2 alternation for the ``contains``/``starts_with``/``ends_with`` values was tried: it
        plans faster but runs ~10x slower than DuckDB's own string functions.)
        """
        by_field: dict[str, list[tuple[str, str]]] = {}
        rest: list[Any] = []
        for arg in cond.args:
            if (
                isinstance(arg, ConditionFieldEqualsValueExpression)
                and arg.field
                and type(arg.value) is SigmaString
            ):
                lit = self._literal(arg.value)
                if lit is not None:
                    by_field.setdefault(arg.field, []).append(lit)
                    continue
            rest.append(arg)
        if not any(len(v) > 1 for v in by_field.values()):
            return super().convert_condition_or(cond, state)
        parts: list[str] = []
        for name, lits in by_field.items():
            column = self._col(name, True)
            eqs = sorted({text for kind, text in lits if kind == "eq"})
            if len(eqs) == 1:
                parts.append(f"{column} = {sql_str(eqs[0])}")
            elif eqs:
                parts.append(f"{column} IN ({', '.join(sql_str(e) for e in eqs)})")
            fns = {"ct": "contains", "sw": "starts_with", "ew": "ends_with"}
            listed = set()
            for kind in ("ct", "sw", "ew"):
                texts = list(dict.fromkeys(text for k, text in lits if k == kind))
                if len(texts) >= MANY and all(SEPARATOR not in t for t in texts):
                    parts.append(any_of(fns[kind], column, texts))
                    listed.add(kind)
            for kind, text in dict.fromkeys(lits):
                if kind != "eq" and kind not in listed:
                    parts.append(f"{fns[kind]}({column}, {sql_str(text)})")
        for arg in rest:
            converted = self.convert_condition(arg, state)
            parts.append(f"({converted})")
        return " OR ".join(f"({p})" for p in parts)

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> str:
        arg = cond.args[0]
        expr = self.convert_condition(arg, state)
        return f"NOT coalesce(({expr}), false)"

    # -- rules ------------------------------------------------------------------------------------
    def finalize_query_default(self, rule: SigmaRule, query: Any, index: int, state: ConversionState) -> Any:
        return query

    def rule_expression(self, rule: SigmaRule) -> tuple[str, set[str], list[str]]:
        """The rule's detection as one SQL boolean, with the fields and regexes it uses. NULL where an
        absent field leaves it undecided: every reader puts it in a ``CASE WHEN``, which NULL does not
        meet either. Not wrapped in ``coalesce((…), false)``: DuckDB stops an AND/OR early in a WHEN but
        not inside a function's argument (the process creation rules took twice as long wrapped)."""
        self.fields = set()
        self.regexes = []
        queries = self.convert_rule(rule)
        if not queries:
            raise ValueError("the rule gave no query")
        expr = " OR ".join(f"({q})" for q in queries)
        return f"({expr})", set(self.fields), list(self.regexes)
