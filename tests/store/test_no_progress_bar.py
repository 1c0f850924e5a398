"""DuckDB 2 prints a progress bar on stdout for a query running over 2 s when it takes the process for an
interactive one (no ``__main__.__file__``: ``python -c``, a notebook, a spawned worker), which would end
up in the middle of ``--json`` output: the store's connections and their cursors print nothing. Run as
``python -c``, where DuckDB would print one."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, time
from sekimori.store import Store
con = Store(sys.argv[1]).connect()
for cur in (con, con.cursor()):
    started = time.perf_counter()
    cur.execute("SELECT count(*) FROM range(3000000000) t(x) WHERE x % 7 = 3").fetchall()
    print(f"{time.perf_counter() - started:.1f}")
"""


def test_a_long_query_prints_nothing_on_stdout(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "store")], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 2  # the seconds of each query, and no progress bar
    assert all(float(line) > 2.2 for line in lines)  # long enough for DuckDB to have shown one
