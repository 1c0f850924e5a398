"""The behaviour analytics' shared SQL macros."""

from __future__ import annotations

import duckdb

from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.staging import create_macros


def test_the_most_frequent_value_is_the_same_on_every_run_and_the_smallest_on_a_tie():
    con = duckdb.connect()
    con.execute("SET threads = 4")
    create_macros(con, BehaviourConfig())
    # 1,000 groups, each with DOM1 and '?' equally often, in an order that differs between groups
    con.execute(
        "CREATE TABLE t AS SELECT i % 1000 AS g, CASE WHEN (i // 1000) % 2 = 0 THEN 'DOM1' ELSE '?' END AS d "
        "FROM range(400000) r(i)"
    )
    runs = {tuple(con.sql("SELECT _bh_mode(d) FROM t GROUP BY g ORDER BY g").fetchall()) for _ in range(5)}
    assert runs == {tuple([("?",)] * 1000)}  # '?' < 'DOM1'
    assert con.sql("SELECT _bh_mode(d) FROM (VALUES ('b'), ('a'), ('b')) v(d)").fetchall() == [("b",)]
    assert con.sql("SELECT _bh_mode(d) FROM (VALUES (NULL::VARCHAR)) v(d)").fetchall() == [(None,)]
