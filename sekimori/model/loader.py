"""Load a model file: YAML with line numbers, validation, and errors that name file, line and field.

PyYAML's composer gives the node tree with marks; the plain data is built from it here (rather than by
``yaml.safe_load``) so that every value keeps the line it came from, duplicate keys are caught, and
mapping keys stay text (``on:``/``no:`` are not turned into booleans).
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Union

import annotated_types
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from sekimori.model.errors import Issue, ModelError
from sekimori.model.fields import PATTERN_EXPLANATIONS
from sekimori.model.group import GroupModel
from sekimori.model.limits import alias_budget, count_values, max_values_setting, too_far, too_large

Loc = tuple[str | int, ...]

_MAX_DEPTH = 64  # far deeper than any model; stops runaway nesting before Python's recursion limit

_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_model(path: str | Path, *, max_values: int | None = None) -> GroupModel:
    """Load and validate a model file; raise :class:`ModelError` listing every problem found.

    ``max_values``: the most values the file may hold (default: ``SEKIMORI_MODEL_MAX_VALUES``, else
    :data:`sekimori.model.limits.DEFAULT_MAX_VALUES`).
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(
            [Issue(source, None, None, "", f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ModelError(
            [Issue(source, line, column, "", "expected UTF-8 text: the file is not UTF-8")]
        ) from None
    return load_model_text(text, source, max_values=max_values)


def load_model_text(text: str, source: str = "<string>", *, max_values: int | None = None) -> GroupModel:
    """Load and validate a model from YAML text; ``source`` names it in error messages."""
    limit = max_values if max_values is not None else max_values_setting(source)
    root = _compose(text, source)
    if root is None:
        raise ModelError(
            [
                Issue(
                    source,
                    1,
                    1,
                    "",
                    "expected a mapping with version, group, organisations, …: the file is empty",
                )
            ]
        )
    own = count_values(root)
    if own > limit:
        line, column = _position(root.start_mark)
        raise ModelError([Issue(source, line, column, "", too_large(limit, own))])
    builder = _Builder(source, own)
    data = builder.build_document(root)
    if builder.issues:
        raise ModelError(builder.issues)
    return validate_model_data(data, source, builder.marks)


def validate_model_data(data: Any, source: str | None = None, marks: Marks | None = None) -> GroupModel:
    """Validate plain data (as from YAML or JSON) into a model; raise :class:`ModelError` on problems.

    With ``marks`` (from the YAML loader) each problem names the line it is on.
    """
    try:
        return GroupModel.model_validate(data)
    except ValidationError as exc:
        marks = marks or Marks()
        issues = [_issue_from_error(error, data, source, marks) for error in exc.errors(include_url=False)]
        raise ModelError(issues) from None


# --- YAML → data with marks ----


@dataclass
class Marks:
    """Where each value (and each mapping key) of a document is: path → (line, column), from 1."""

    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, loc: Loc) -> tuple[int, int] | None:
        """The mark of the value at ``loc``, or of its nearest enclosing value."""
        for end in range(len(loc), -1, -1):
            mark = self.values.get(loc[:end])
            if mark is not None:
                return mark
        return None


def _position(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


# libyaml's parser when PyYAML has it (several times faster); the pure-Python one reports errors, so
# that messages do not depend on how PyYAML was built.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, source: str) -> yaml.Node | None:
    if _FAST_LOADER is not yaml.SafeLoader:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except (yaml.YAMLError, RecursionError):
            pass
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _position(mark) if mark is not None else (None, None)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            started = f" on line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
            problem += f" ({exc.context}{started})"
        raise ModelError([Issue(source, line, column, "", f"YAML syntax error: {problem}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"YAML syntax error: the control character U+{code:04X} is not allowed"
        raise ModelError([Issue(source, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        raise ModelError([Issue(source, None, None, "", f"YAML syntax error: {exc}")]) from None
    except RecursionError:
        raise ModelError([Issue(source, None, None, "", "YAML nested too deeply")]) from None


class _TooLarge(Exception):
    pass


class _Builder:
    """Builds plain data from a YAML node tree, recording marks and structural issues."""

    def __init__(self, source: str, own_values: int) -> None:
        self.source = source
        self._own = own_values
        self._max_built = alias_budget(own_values)  # values built, aliases expanded
        self.marks = Marks()
        self.issues: list[Issue] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._nodes = 0
        self._active: set[int] = set()  # ids of the collections being built: catches recursive aliases

    def build_document(self, root: yaml.Node) -> Any:
        try:
            return self._build(root, (), 0)
        except _TooLarge:
            self._issue(root, (), too_far(self._own, self._max_built))
            return None

    def _issue(self, node: yaml.Node, loc: Loc, message: str) -> None:
        line, column = _position(node.start_mark)
        self.issues.append(Issue(self.source, line, column, format_loc(loc), message))

    def _build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        self._nodes += 1
        if self._nodes > self._max_built:
            raise _TooLarge
        self.marks.values[loc] = _position(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, loc)
        if depth >= _MAX_DEPTH:
            self._issue(node, loc, f"expected at most {_MAX_DEPTH} levels of nesting")
            return None
        if id(node) in self._active:
            self._issue(node, loc, "expected data, got an alias that contains itself")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ_TAG:
                    self._issue(node, loc, f"expected a plain list, got the YAML tag {node.tag}")
                return [self._build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                if node.tag != _MAP_TAG:
                    self._issue(node, loc, f"expected a plain mapping, got the YAML tag {node.tag}")
                return self._mapping(node, loc, depth)
        finally:
            self._active.discard(id(node))
        self._issue(node, loc, "expected a value")
        return None

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._issue(node, loc, f"expected a plain value, got the YAML tag {node.tag}")
            return None
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            # e.g. 2023-02-30 looks like a date but is none
            self._issue(node, loc, f"cannot read {node.value!r}: {getattr(exc, 'problem', None) or exc}")
        except Exception:
            # On explicitly tagged values PyYAML's constructors fail with whatever the parsing code hits:
            # IndexError for '!!int' without a value, KeyError for '!!bool maybe', AttributeError for
            # '!!timestamp x'. Any of them means the same thing here.
            kind = node.tag.rsplit(":", 1)[-1]
            self._issue(node, loc, f"cannot read {node.value!r} as the YAML type {kind}")
        return None

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        own: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged_loc_marks = self._merge(value_node, loc, depth)
                for key, value in merged_loc_marks.items():
                    merged.setdefault(key, value)  # earlier merged mappings take precedence
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._issue(key_node, loc, "expected a plain name as mapping key, got a list or mapping")
                continue
            key = key_node.value
            if key in key_lines:
                self._issue(
                    key_node, (*loc, key), f"duplicate key {key!r}: already given on line {key_lines[key]}"
                )
                continue
            key_lines[key] = key_node.start_mark.line + 1
            own[key] = (key_node, value_node)
        # Own keys are built after merged ones so that their marks win.
        self.marks.values[loc] = _position(node.start_mark)
        result = dict(merged)
        for key, (key_node, value_node) in own.items():
            self.marks.keys[(*loc, key)] = _position(key_node.start_mark)
            result[key] = self._build(value_node, (*loc, key), depth + 1)
        return result

    def _merge(self, value_node: yaml.Node, loc: Loc, depth: int) -> dict[str, Any]:
        """The mappings of a '<<' merge key, first one winning."""
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        merged: dict[str, Any] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self._issue(source, loc, "expected a mapping (or a list of mappings) to merge with '<<'")
                continue
            built = self._build(source, loc, depth + 1)
            if isinstance(built, dict):
                for key, value in built.items():
                    merged.setdefault(key, value)
        return merged


# --- pydantic errors → issues ----


def format_loc(loc: Loc) -> str:
    """``('data_stores', 2, 'personal_data', 0, 'records')`` → ``data_stores[2].personal_data[0].records``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _issue_from_error(error: ErrorDetails, data: Any, source: str | None, marks: Marks) -> Issue:
    loc = _data_loc(tuple(error["loc"]), data)
    position = marks.keys.get(loc) if error["type"] == "extra_forbidden" else None
    position = position or marks.of_value(loc)
    line, column = position if position is not None else (None, None)
    return Issue(source, line, column, format_loc(loc), _message(error, loc))


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Cut a loc where it indexes into a value that is not a list: a single value given for a
    list field is reported at the field, not at ``field[0]``."""
    current = data
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            if not isinstance(current, list):
                return loc[:depth]
            current = current[part] if part < len(current) else None
        else:
            current = current.get(part) if isinstance(current, dict) else None
    return loc


def describe(value: Any) -> str:
    """A value as the YAML author wrote it, for 'got …' in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)


def _message(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field_message(loc)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    expected = _expected(kind, ctx, loc)
    if expected is None:  # our own error types (unknown_reference, duplicate_id) and anything unforeseen
        return error["msg"]
    message = f"expected {expected}, got {describe(value)}"
    if kind == "string_type" and not isinstance(value, dict | list):
        message += " (put the value in quotes to make it text)"
    elif kind == "list_type" and value is None:
        message += " (write [] for an empty list)"
    return message


def _expected(kind: str, ctx: dict[str, Any], loc: Loc) -> str | None:
    if kind in {"string_type", "string_unicode"}:
        return "text"
    if kind == "string_too_short":
        return "non-empty text"
    if kind == "string_too_long":
        return f"text of at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return PATTERN_EXPLANATIONS.get(pattern, f"text matching {pattern}")
    if kind.startswith("int_") or kind in {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }:
        return _integer_phrase(loc)
    if kind.startswith("bool_"):
        return "true or false"
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return "a date (YYYY-MM-DD)"
    if kind == "literal_error":
        return str(ctx.get("expected", "one of the allowed values"))
    if kind in {"list_type", "tuple_type", "iterable_type"}:
        return "a list"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "a mapping (key: value)"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"at least {count} item{'s' if count != 1 else ''}"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items"
    return None


# --- what the model expects at a loc ----


def _integer_phrase(loc: Loc) -> str:
    bounds = _bounds(_constraints_at(loc))
    low, high = bounds.get("ge"), bounds.get("le")
    if low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if low is not None:
        return f"an integer ≥ {low}"
    if high is not None:
        return f"an integer ≤ {high}"
    return "an integer"


def _bounds(metadata: list[Any]) -> dict[str, int]:
    bounds: dict[str, int] = {}
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            bounds["ge"] = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Gt):
            bounds["ge"] = int(item.gt) + 1  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Le):
            bounds["le"] = int(item.le)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Lt):
            bounds["le"] = int(item.lt) - 1  # type: ignore[call-overload]
    return bounds


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip Annotated and Optional, collecting the constraint metadata on the way."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extras = typing.get_args(annotation)
            for extra in extras:
                metadata.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
            annotation = base
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation, metadata
            annotation = members[0]
        else:
            return annotation, metadata


def _field_at(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _walk(loc: Loc) -> tuple[Any, list[Any]] | None:
    """The annotation at ``loc`` in :class:`GroupModel` and its constraints, or None if there is none."""
    annotation: Any = GroupModel
    metadata: list[Any] = []
    for part in loc:
        annotation, extra = _unwrap(annotation)
        if isinstance(part, int):
            if typing.get_origin(annotation) not in (list, tuple):
                return None
            annotation, metadata = typing.get_args(annotation)[0], []
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = _field_at(annotation, part)
            if info is None:
                return None
            annotation, metadata = info.annotation, list(info.metadata)
        else:
            return None
    annotation, extra = _unwrap(annotation)
    return annotation, metadata + extra


def _constraints_at(loc: Loc) -> list[Any]:
    found = _walk(loc)
    return found[1] if found is not None else []


def _unknown_field_message(loc: Loc) -> str:
    key = str(loc[-1]) if loc else ""
    message = f"unknown field {key!r}"
    found = _walk(loc[:-1])
    if found is None or not (isinstance(found[0], type) and issubclass(found[0], BaseModel)):
        return message
    allowed = [info.alias or name for name, info in found[0].model_fields.items()]
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"{message}: did you mean {close[0]!r}?"
    return f"{message}: expected one of {', '.join(allowed)}"
