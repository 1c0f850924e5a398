"""Sigma log sources outside Windows: which events of the store a rule of a log source runs on, as
which rows, and how each of its fields is read.

SigmaHQ writes the rules of cloud and identity logs (``aws/cloudtrail``, ``azure/signinlogs``,
``okta/okta``, ``m365/audit``…) in the vendor's own field names, dotted into nested objects: the
store keeps each such record in ``raw`` as the vendor wrote it, so a field is read by its JSON path
(:func:`json_paths`). Linux rules are written for auditd's records (``linux/auditd``) and for Sysmon
for Linux's fields (``process_creation``, ``file_event``, ``network_connection``); Zeek rules in
Zeek's field names after pySigma's ``zeek_raw`` pipeline (``logsources.zeek_variant``).

A *source* is a plugin (one module in ``sigma/sources/``, registered on :data:`SIGMA_SOURCES`): it
names the Sigma log sources it reads (:meth:`SigmaSource.kind_of`), gives the rows a rule of such a log
source is judged on (:meth:`SigmaSource.rows`, an SQL relation over the events table with the columns of
``engine.MATCH_COLUMNS``, ``raw`` and a JSON document ``_doc``) and reads each Sigma field
(:meth:`SigmaSource.read`): an SQL expression over those rows, or JSON paths into ``_doc``, the first
present wins. A field a source has no value for reads as NULL (a rule needing it does not match; its
negation does); ``SigmaSource.unreadable`` names such fields for ``sigma coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from sekimori.plugins import Registry

SIGMA_SOURCES: Registry[type[SigmaSource]] = Registry(
    "Sigma log source", "sekimori.detect.sigma.sources", "sekimori.sigma_sources"
)
register = SIGMA_SOURCES.register


@dataclass(frozen=True)
class FieldRead:
    """How one Sigma field is read: ``sql`` over the source's rows, else the first of ``paths`` present
    in ``_doc``; neither: the source has no value for the field."""

    sql: str | None = None
    paths: tuple[str, ...] = ()

    @property
    def readable(self) -> bool:
        return self.sql is not None or bool(self.paths)


NO_VALUE = FieldRead()


def _key(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


@lru_cache(maxsize=4096)
def json_paths(
    field: str, prefixes: tuple[str, ...] = ("$",), case_variants: bool = False
) -> tuple[str, ...]:
    """JSON paths a Sigma field may have in a vendor record: the field as one key (``"id.orig_h"``,
    Zeek's dotted names), then as nested keys (``userIdentity.arn`` → ``$.userIdentity.arn``).

    ``case_variants``: also each part with its first letter lower/upper case and all lower case, for
    logs whose exports differ only in case (Entra's Log Analytics ``ResultType`` and diagnostic
    ``resultType``; Okta's ``eventType`` and a data lake's ``eventtype``). Each prefix is tried in turn
    (Entra's diagnostic envelope holds the record under ``properties``).
    """
    parts = field.split(".")
    options: list[list[str]] = []
    for part in parts:
        forms = [part]
        if case_variants:
            forms += [_lower_first(part), _upper_first(part), part.lower()]
        options.append(list(dict.fromkeys(forms)))
    nested: list[str] = [""]
    for forms in options:
        nested = [f"{head}.{_key(form)}" for head in nested for form in forms]
    out: list[str] = []
    for prefix in prefixes:
        if len(parts) > 1:
            literal = [field] + ([field.lower()] if case_variants else [])
            out += [f"{prefix}.{_key(k)}" for k in dict.fromkeys(literal)]
        out += [prefix + n for n in nested]
    return tuple(dict.fromkeys(out))


def in_list(column: str, values: tuple[str, ...] | list[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


class SigmaSource:
    """Base of the Sigma log source plugins (see the module docstring)."""

    name: ClassVar[str]
    description: ClassVar[str]
    formats: ClassVar[tuple[str, ...]]  # the readers (``source_format``) whose events it reads

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        """The source's name for this Sigma log source (e.g. ``signinlogs``), None if not its own."""
        raise NotImplementedError

    def where(self, kind: str) -> str:
        """SQL condition over the events table choosing the kind's events."""
        return in_list("source_format", self.formats)

    def rows(self, kind: str, table: str) -> str:
        """The rows a rule of ``kind`` is judged on; by default one per event, ``_doc`` its record."""
        return f"SELECT *, raw AS _doc FROM {table} WHERE {self.where(kind)}"

    def spark_rows(self, kind: str, table: str) -> str | None:
        """``rows`` in Spark SQL, for a source whose DuckDB form sqlglot cannot transpile; None (the
        default): Spark runs ``rows`` transpiled (``sekimori.spark.sources``)."""
        return None

    def spark_read(self, kind: str, field: str) -> str | None:
        """``read``'s SQL in Spark SQL, for a read whose DuckDB form sqlglot cannot transpile (JSON path
        wildcards, list lambdas over JSON); None (the default): the DuckDB form, transpiled."""
        return None

    def read(self, kind: str, field: str) -> FieldRead:
        """How ``field`` is read for a rule of ``kind``; by default the vendor's JSON path."""
        return FieldRead(paths=json_paths(field))

    def raw_sql(self, kind: str) -> str:
        """What keywords (values bound to no field) search: by default the record as stored."""
        return "raw"

    def read_field(self, kind: str, field: str) -> FieldRead:
        """``read``, and ``raw_sql`` for the keyword pseudo-field."""
        from sekimori.detect.sigma.backend import RAW_FIELD

        return FieldRead(sql=self.raw_sql(kind)) if field == RAW_FIELD else self.read(kind, field)

    def distinct(self, kind: str) -> bool:
        """Whether one event may give several rows (then its matches are made distinct)."""
        return False


@lru_cache(maxsize=1)
def _instances() -> tuple[SigmaSource, ...]:
    return tuple(cls() for cls in SIGMA_SOURCES.all().values())


def source_key(product: str | None, category: str | None, service: str | None) -> str | None:
    """``<source>:<kind>`` of the first source that reads this Sigma log source, else None."""
    for src in _instances():
        kind = src.kind_of(product, category, service)
        if kind is not None:
            return f"{src.name}:{kind}"
    return None


def resolve(key: str) -> tuple[SigmaSource, str]:
    """The source instance and kind of a ``source_key``."""
    name, _, kind = key.partition(":")
    for src in _instances():
        if src.name == name:
            return src, kind
    raise KeyError(f"unknown Sigma log source {name!r}")


def unreadable(key: str, fields: set[str]) -> list[str]:
    """The fields of ``fields`` that the source of ``key`` has no value for."""
    from sekimori.detect.sigma.backend import RAW_FIELD

    src, kind = resolve(key)
    return sorted(f for f in fields if f != RAW_FIELD and not src.read_field(kind, f).readable)


def source_readers() -> dict[str, str]:
    """Each source's name → the readers whose events it reads (for coverage)."""
    return {s.name: ", ".join(s.formats) for s in _instances()}
