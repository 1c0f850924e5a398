"""AlertReader.page on the demo store: every page of the queue together is the store's alerts in the
queue's order (boundary, behaviour, the rest; then time, id), each page's total is the count the test
makes itself with DuckDB over the alerts, and a page past the end is empty with the same total."""

from __future__ import annotations

from sekimori.model import load_model
from sekimori.store import Store
from sekimori.web.accounts import Account
from sekimori.web.data import AlertFilter, AlertReader
from sekimori.web.pages import alert_filter
from tests.web.conftest import DemoWorld

ADMIN = Account(1, "admin", frozenset({"admin"}), frozenset(), False)


def _expected(store: Store, where: str) -> list[str]:
    query = f"""SELECT alert_id FROM alerts WHERE {where} ORDER BY
        CASE source WHEN 'boundary' THEN 0 WHEN 'behaviour' THEN 1 ELSE 2 END, time, alert_id"""
    return [str(v) for v in store.sql(query).column("alert_id").to_pylist()]


def test_pages_together_are_the_alerts_and_totals_are_counts(demo_world: DemoWorld) -> None:
    store = Store(demo_world.store)
    model = load_model(demo_world.settings.model) if demo_world.settings.model else None
    reader = AlertReader(store, model)
    cases = [
        (AlertFilter(), "TRUE"),
        (AlertFilter(source="boundary"), "source = 'boundary'"),
        # the text search: case-insensitive, over title, rule, hosts, account and description
        (
            AlertFilter(text="LOGON"),
            "contains(lower(concat_ws(' ', title, rule_id, host, account, description, src_host,"
            " target_host)), 'logon')",
        ),
    ]
    for flt, where in cases:
        expected = _expected(store, where)
        assert expected, where  # each case has alerts to page through
        got: list[str] = []
        size = 7
        for offset in range(0, len(expected) + size, size):
            rows, total = reader.page(ADMIN, flt, size, offset)
            assert total == len(expected), (where, offset)
            got += [r["alert_id"] for r in rows]
            assert all("total_matching" not in r for r in rows)
        assert got == expected, where
        rows, total = reader.page(ADMIN, flt, size, len(expected) + 100)  # past the end
        assert (rows, total) == ([], len(expected))


def test_the_attack_filter_finds_a_technique_and_its_sub_techniques(demo_world: DemoWorld) -> None:
    """The expected alerts are worked out here in Python from the alerts' own ATT&CK lists: a technique
    finds the alerts tagged with it or with one of its sub-techniques; a sub-technique only itself; the
    form's value is taken in any case and with an "attack." prefix."""
    store = Store(demo_world.store)
    model = load_model(demo_world.settings.model) if demo_world.settings.model else None
    reader = AlertReader(store, model)
    order = _expected(store, "TRUE")
    tags = {
        str(row["alert_id"]): [t.lower().removeprefix("attack.") for t in row["attack"] or ()]
        for row in store.sql("SELECT alert_id, attack FROM alerts").to_pylist()
    }
    subs = sorted({t for ts in tags.values() for t in ts if "." in t})
    assert subs  # the demo has sub-techniques: the parent case means something
    parent = subs[0].split(".")[0]
    for form_value, term in ((parent.upper(), parent), (f"attack.{subs[0].upper()}", subs[0])):
        flt = alert_filter({"attack": f" {form_value} "})
        assert flt.attack == term
        expected = [a for a in order if any(t == term or t.startswith(term + ".") for t in tags[a])]
        rows, total = reader.page(ADMIN, flt, 1000, 0)
        assert [r["alert_id"] for r in rows] == expected and total == len(expected)
    assert reader.page(ADMIN, alert_filter({"attack": "t9999"}), 1000, 0) == ([], 0)
    offered = {t for ts in tags.values() for t in ts} | {t.split(".")[0] for ts in tags.values() for t in ts}
    assert reader.attack_terms() == sorted(offered)
