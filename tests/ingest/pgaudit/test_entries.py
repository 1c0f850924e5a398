"""PostgreSQL's log layouts read into entries (sekimori.ingest.pgaudit.entries)."""

from __future__ import annotations

import io
from pathlib import Path

from sekimori.ingest.base import Quarantine
from sekimori.ingest.pgaudit.entries import Lines, csv_entries, entry_text, stderr_entries
from sekimori.ingest.source import expand


def _quarantine(tmp_path: Path) -> Quarantine:
    path = tmp_path / "postgresql.log"
    path.write_bytes(b"")
    return Quarantine(next(expand(str(path))))


def test_stderr_lines_of_one_process_fold_into_their_entry(tmp_path: Path):
    log = (
        b"2024-05-01 10:00:00.123 UTC [42] app@shop LOG:  statement: SELECT 1\n"
        b"\tFROM t\n"
        b"2024-05-01 10:00:00.124 UTC [42] app@shop DETAIL:  more\n"
        b"2024-05-01 10:00:01 UTC [43] user=bob,db=crm,app=psql,client=10.0.0.9 ERROR:  oops\n"
        b"garbage\n"
    )
    q = _quarantine(tmp_path)
    entries = list(stderr_entries(Lines(io.BytesIO(log), q), q))
    assert len(entries) == 2
    first, second = entries
    assert first.lineno == 1 and first.fields["message"] == "statement: SELECT 1\nFROM t"
    assert first.fields["detail"] == "more"
    assert (first.fields["user_name"], first.fields["database_name"], first.fields["process_id"]) == (
        "app",
        "shop",
        "42",
    )
    assert entry_text(first).count("\n") == 2
    assert second.fields["connection_from"] == "10.0.0.9" and second.fields["application_name"] == "psql"
    assert [(r.record, r.field) for r in q.records] == [(5, "header")]


def test_csvlog_records_may_span_lines_and_short_ones_are_quarantined(tmp_path: Path):
    row = ["2024-05-01 10:00:00 UTC", "app", "shop", "42", "10.0.0.5:5000", "s", "1", "SELECT", "", "", "0"]
    row += ["LOG", "00000", '"AUDIT: SESSION,1,1,READ,SELECT,,,""SELECT\n1"",<none>"']
    row += [""] * 9
    log = (",".join(row) + "\n" + "2024-05-01 10:00:01 UTC,too,short\n").encode()
    q = _quarantine(tmp_path)
    entries = list(csv_entries(Lines(io.BytesIO(log), q), q))
    assert len(entries) == 1
    assert entries[0].fields["message"] == 'AUDIT: SESSION,1,1,READ,SELECT,,,"SELECT\n1",<none>'
    assert entries[0].fields["error_severity"] == "LOG"
    assert [(r.record, r.field) for r in q.records] == [(3, "record")]
