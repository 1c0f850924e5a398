"""Behaviour alerts do not depend on the order of logons tied on time.

LANL times are whole seconds. Here U3's fan-out reaches each host twice in one second: before, a
contact's first logon (its evidence, whose uids make the alert id, and its source) was whichever of
the tied rows the aggregate met first. The oracle is the first logon of each contact by (time, uid),
with the lines of each second in other orders.
"""

from __future__ import annotations

import random

import pytest

from sekimori.store import Store
from tests.conftest import DATA
from tests.detect.test_behaviour import _lanl_lines, _line, _rows, _run


@pytest.mark.parametrize("hosts", ["new", "all"])
def test_a_fan_out_reached_from_two_sources_at_once_gives_one_alert_whatever_the_order(tmp_path, hosts):
    real = (DATA / "lanl" / "auth_head.csv").read_text().splitlines()
    # each host reached twice at once: twice from C3 (LANL repeats a line for a logon repeated in one
    # second) and once from C4
    tied = [
        _line(3500 + 20 * i, "U3@DOM1", src, f"C{400 + i}") for i in range(12) for src in ("C3", "C3", "C4")
    ]
    for seed in range(5):
        lines = _lanl_lines() + tied
        random.Random(seed).shuffle(lines)
        lines.sort(key=lambda s: int(s.split(",", 1)[0]))  # stable: the tied lines stay shuffled
        (tmp_path / str(seed)).mkdir()
        path = tmp_path / str(seed) / "auth.txt"
        path.write_text("\n".join(real + lines) + "\n")
        store = Store(tmp_path / str(seed) / "store")
        store.ingest([str(path)], reader="lanl", workers=1)
        # a contact is a host ("new": of the account's new hosts) or a host and source ("all")
        contact = "coalesce(target_host, host)" + (", src_host" if hosts == "all" else "")
        first = store.connect().execute(
            f"SELECT min(uid) FROM events WHERE principal ILIKE 'u3' "
            "AND time >= (SELECT min(time) FROM events) + INTERVAL 3400 SECOND "
            f"AND coalesce(target_host, host) ILIKE 'c4__' GROUP BY {contact}"
        )
        firsts = {uid for (uid,) in first.fetchall()}
        assert len(firsts) == (24 if hosts == "all" else 12)
        (fan,) = [
            a
            for a in _rows(_run(store, fan_out_hosts=hosts), "fan_out")
            if a["time"].hour * 3600 + a["time"].minute * 60 + a["time"].second >= 3500
        ]
        # each contact's first logon by (time, uid) is its evidence, whatever the order of the lines
        assert {e["uid"] for e in fan["evidence"]} == firsts
