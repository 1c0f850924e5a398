"""The register in files: YAML (one document, lists ``parties``, ``contracts``, ``grants``) and CSV (one
file per list, ``parties.csv``, ``contracts.csv``, ``grants.csv``, in a folder), read with every problem
named by file, row and field, and written so that reading the files back gives the same records."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sekimori.govern.records import FIELDS, KINDS, LIST_FIELDS, LIST_SEPARATOR, Problem, Record, RegisterError


@dataclass(frozen=True)
class Located:
    """A record and where it was read: the file and its row (CSV) or line (YAML)."""

    record: Record
    file: str
    row: int


RegisterInput = dict[str, list[Located]]  # kind (parties, contracts, grants) → records
RegisterRecords = dict[str, list[Record]]


def _problems(exc: ValidationError, file: str, row: int) -> list[Problem]:
    found = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        field = loc[0] if loc else None
        if field is None and ": " in message:  # a check across fields names its field first
            field, message = message.split(": ", 1)
        if len(loc) > 1:
            message = f"item {int(loc[1]) + 1}: {message}"
        found.append(Problem(file=file, row=row, field=field, message=message))
    return found


def _validate(kind: str, data: Any, file: str, row: int, problems: list[Problem]) -> Located | None:
    if not isinstance(data, dict):
        problems.append(Problem(file=file, row=row, message=f"expected a mapping of fields, got {data!r}"))
        return None
    try:
        return Located(KINDS[kind].model_validate(data), file, row)
    except ValidationError as exc:
        problems += _problems(exc, file, row)
        return None


# -- reading -------------------------------------------------------------------------------------------


def read_yaml(path: Path) -> RegisterInput:
    """The records of a YAML register file; :class:`RegisterError` names every bad row and field."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterError([Problem(file=file, message=f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RegisterError([Problem(file=file, row=line, message=f"not YAML: {exc}")]) from None
    if data is None:
        return {kind: [] for kind in KINDS}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise RegisterError(
            [Problem(file=file, message="expected a mapping with parties, contracts, grants")]
        )
    lines = {key.value: value for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    problems: list[Problem] = []
    found: RegisterInput = {kind: [] for kind in KINDS}
    for key, items in data.items():
        node = lines.get(str(key))
        line = node.start_mark.line + 1 if node is not None else None
        if key not in KINDS:
            known = ", ".join(KINDS)
            problems.append(
                Problem(file=file, row=line, field=str(key), message=f"unknown list; known: {known}")
            )
            continue
        if not isinstance(items, list) or not isinstance(node, yaml.SequenceNode):
            problems.append(Problem(file=file, row=line, field=key, message="expected a list"))
            continue
        for item, item_node in zip(items, node.value, strict=True):
            located = _validate(key, item, file, item_node.start_mark.line + 1, problems)
            if located is not None:
                found[key].append(located)
    if problems:
        raise RegisterError(problems)
    return found


# A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR: CSV injection) is written with a
# leading apostrophe, which spreadsheets show as text; reading takes that apostrophe off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defused(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _restored(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _cell(kind: str, field: str, value: str) -> Any:
    if field in LIST_FIELDS[kind]:
        return [_restored(item.strip()) for item in value.split(LIST_SEPARATOR)] if value.strip() else []
    return _restored(value) if value != "" else None


def read_csv(path: Path, kind: str | None = None) -> list[Located]:
    """The records of one CSV file; its kind is its name (``grants.csv``) unless given."""
    file = str(path)
    kind = kind or path.stem
    if kind not in KINDS:
        raise RegisterError(
            [Problem(file=file, message=f"unknown kind {kind!r}; name it one of {list(KINDS)}")]
        )
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not part of the first name
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterError([Problem(file=file, message=f"cannot read: {exc}")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return []
    problems = [
        Problem(file=file, row=1, field=name, message=f"unknown column; known: {', '.join(FIELDS[kind])}")
        for name in header
        if name not in FIELDS[kind]
    ]
    if problems:
        raise RegisterError(problems)
    found = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) != len(header):
            problems.append(
                Problem(file=file, row=number, message=f"expected {len(header)} cells, got {len(cells)}")
            )
            continue
        data = {
            name: _cell(kind, name, value)
            for name, value in zip(header, cells, strict=True)
            if _cell(kind, name, value) is not None
        }
        located = _validate(kind, data, file, number, problems)
        if located is not None:
            found.append(located)
    if problems:
        raise RegisterError(problems)
    return found


def read_register(path: Path) -> RegisterInput:
    """A YAML file, one CSV file (named for its kind), or a folder of CSV files."""
    if path.is_dir():
        files = [path / f"{kind}.csv" for kind in KINDS if (path / f"{kind}.csv").exists()]
        if not files:
            raise RegisterError(
                [Problem(file=str(path), message="no parties.csv, contracts.csv or grants.csv in it")]
            )
        found: RegisterInput = {kind: [] for kind in KINDS}
        problems: list[Problem] = []
        for file in files:
            try:
                found[file.stem] = read_csv(file)
            except RegisterError as exc:
                problems += exc.problems
        if problems:
            raise RegisterError(problems)
        return found
    if path.suffix.lower() == ".csv":
        found = {kind: [] for kind in KINDS}
        found[path.stem] = read_csv(path)
        return found
    return read_yaml(path)


# -- writing -------------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def yaml_text(records: RegisterRecords) -> str:
    """The records as one YAML document (fields without a value left out)."""
    document = {
        kind: [{k: plain(v) for k, v in r.row().items() if v is not None} for r in records.get(kind, [])]
        for kind in KINDS
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_defused(str(plain(v))) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return _defused(str(plain(value)))


def csv_text(kind: str, records: list[Record]) -> str:
    """One kind's records as CSV: the header of :data:`FIELDS`, then one row per record."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS[kind])
    for record in records:
        row = record.row()
        writer.writerow([_csv_value(row[name]) for name in FIELDS[kind]])
    return buffer.getvalue()


def write_register(records: RegisterRecords, path: Path) -> list[Path]:
    """Write YAML (``path`` ending in .yaml/.yml) or CSV files into the folder ``path``; the paths written."""
    if path.suffix.lower() in (".yaml", ".yml"):
        path.write_text(yaml_text(records), encoding="utf-8")
        return [path]
    path.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        target = path / f"{kind}.csv"
        target.write_text(csv_text(kind, records.get(kind, [])), encoding="utf-8")
        written.append(target)
    return written
