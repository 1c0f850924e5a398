"""The Sigma log sources outside Windows (cloud, identity, Linux, Zeek) in Spark SQL.

The DuckDB engine reads a non-Windows group's rows and fields through its source plugin
(``sekimori.detect.sigma.source``): ``rows`` (an SQL relation over the events with the record as
``_doc``), and per field either an SQL expression or the JSON paths to try in ``_doc``. Here the same
plugin's answers are written for Spark:

- the rows transpiled by sqlglot, or the plugin's own ``spark_rows`` where DuckDB's form has no Spark
  counterpart (auditd's records, read with ``json_each``);
- the SQL reads transpiled, or the plugin's own ``spark_read`` (Google Workspace's parameter lists,
  read with JSON path wildcards and list lambdas);
- the paths read with ``get_json_object`` in bracket notation, the first present winning, as
  ``json_extract_string`` with a list of paths and ``coalesce`` do in DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.detect import sigma_source
from sekimori.spark.dialect import json_path, project_fields, spark_str, to_spark, used_fields

if TYPE_CHECKING:
    from sekimori.detect import SigmaGroup as Group


def source_fields_sql(group: Group, table: str = "events") -> str:
    """A non-Windows group's rows with one ``o:``/``l:`` column per field its rules use (Spark SQL)."""
    assert group.source is not None
    src, kind = sigma_source(group.source)
    exprs: dict[str, str] = {}
    for f in sorted(used_fields(group.rules)):
        read = src.read_field(kind, f)
        own = src.spark_read(kind, f)
        if own is not None:
            exprs[f] = f"({own})"
        elif read.sql is not None:
            exprs[f] = f"({to_spark(read.sql)})"
        elif read.paths:
            got = [f"get_json_object(_doc, {spark_str(json_path(p))})" for p in read.paths]
            exprs[f] = got[0] if len(got) == 1 else f"coalesce({', '.join(got)})"
        else:
            exprs[f] = "CAST(NULL AS STRING)"
    rows = src.spark_rows(kind, table) or to_spark(src.rows(kind, table))
    return project_fields(group.rules, exprs, rows)


def distinct_matches(group: Group) -> bool:
    """Whether one event gives several rows in the group (auditd records): its matches made distinct."""
    assert group.source is not None
    src, kind = sigma_source(group.source)
    return src.distinct(kind)
