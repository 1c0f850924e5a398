"""``Store.ingest`` from a plain script, run by ``python script.py`` with reading workers (spawn): each
worker runs the script again, so one without ``if __name__ == "__main__":`` used to ingest again in every
worker, which waited for the store's writer lock its parent held while the parent waited for it (a run
that never ended). Now such a script reads in its own process and says so in one line; a guarded script
still reads with workers (the report's ``workers``).

The inputs: three CloudTrail files written here, of 2, 3 and 4 records, one event each: 9 events.
``SEKIMORI_WORKERS=2`` asks for two workers however small the run (the default path, ``workers=None``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sekimori.store import Store
from sekimori.store.spawning import _guarded

NOTICE = 'is not under `if __name__ == "__main__":`, so each worker would run it again'

UNGUARDED = """\
import json, sys
from sekimori.store import Store

report = Store(sys.argv[1]).ingest([sys.argv[2]])
print(json.dumps({"events": report.events, "workers": report.workers}))
"""

GUARDED = """\
import json, sys
from sekimori.store import Store


def main() -> None:
    report = Store(sys.argv[1]).ingest([sys.argv[2]])
    print(json.dumps({"events": report.events, "workers": report.workers}))


if __name__ == "__main__":
    main()
"""


def console_login(n: int) -> str:
    return json.dumps(
        {
            "eventVersion": "1.08",
            "eventName": "ConsoleLogin",
            "eventSource": "signin.amazonaws.com",
            "eventTime": f"2023-10-01T09:00:{n:02d}Z",
            "eventID": f"login-{n}",
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "userName": f"user{n}"},
            "sourceIPAddress": "198.51.100.7",
            "responseElements": {"ConsoleLogin": "Success"},
        }
    )


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    n = 0
    for name, records in (("a.jsonl", 2), ("b.jsonl", 3), ("c.jsonl", 4)):
        lines = []
        for _ in range(records):
            lines.append(console_login(n))
            n += 1
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def run_script(tmp_path: Path, source: str, logs: Path) -> tuple[int, dict[str, int], str, Path]:
    """Run ``source`` as ``python script.py STORE LOGS`` in a folder of its own (its workers in its
    session, killed with it if it hangs); (exit code, its report, its stderr, the store)."""
    folder = tmp_path / "script"
    folder.mkdir()
    script, store = folder / "ingest_logs.py", tmp_path / "store"
    script.write_text(source)
    env = {**os.environ, "SEKIMORI_WORKERS": "2"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(store), str(logs)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the script did not finish in 120 s")
    lines = out.splitlines()
    return proc.returncode, json.loads(lines[-1]) if lines else {}, err, store


def stored_events(store: Path) -> int:
    (count,) = Store(store).connect().execute("SELECT count(*) FROM events").fetchone() or (None,)
    return int(count)


def test_an_unguarded_script_reads_in_its_own_process_and_stores_every_event(
    tmp_path: Path, logs: Path
) -> None:
    code, report, err, store = run_script(tmp_path, UNGUARDED, logs)
    assert code == 0, err
    assert report == {"events": 9, "workers": 1}
    assert stored_events(store) == 9
    notices = [line for line in err.splitlines() if NOTICE in line]
    script = tmp_path / "script" / "ingest_logs.py"
    assert notices == [f"sekimori: reading in this process, not 2 workers: {script}, line 4, {NOTICE}"]


def test_a_guarded_script_still_reads_with_workers(tmp_path: Path, logs: Path) -> None:
    code, report, err, store = run_script(tmp_path, GUARDED, logs)
    assert code == 0, err
    assert report == {"events": 9, "workers": 2}
    assert stored_events(store) == 9
    assert NOTICE not in err


@pytest.mark.parametrize(
    ("source", "line", "guarded"),
    [
        ('if __name__ == "__main__":\n    run()\n', 2, True),
        ("if '__main__' == __name__:\n    x = 1\n    run(\n        x)\n", 4, True),
        ('run()\nif __name__ == "__main__":\n    pass\n', 1, False),
        ('if __name__ != "__main__":\n    run()\n', 2, False),
        ('def f():\n    if __name__ == "__main__":\n        run()\n', 3, False),
        ('if __name__ == "__main__" and ready:\n    run()\n', 2, False),
    ],
)
def test_which_lines_are_under_a_main_guard(source: str, line: int, guarded: bool) -> None:
    assert _guarded(source, line) is guarded
