"""Joining records into events: go-libaudit's expected grouping of its interleaved test log."""

from __future__ import annotations

from sekimori.ingest.auditd.assemble import Reassembler
from sekimori.ingest.auditd.records import parse_record
from tests.conftest import DATA


def _events(lines: list[str], window: int = 512) -> list[list[str]]:
    joiner = Reassembler(window)
    out = []
    for number, line in enumerate(lines, start=1):
        out.extend(joiner.push(parse_record(line), number))
    out.extend(joiner.flush())
    return [[r.stamp for r in ev.records] for ev in out]


def test_normal_log_grouping_as_in_go_libaudit_reassembler_test():
    lines = (DATA / "auditd" / "normal.log").read_text().splitlines()
    events = _events(lines)
    # reassembler_test.go "normal": {seq 58, count 2}, {59, 5}, {60, 5}, {61, 4}, {62, 1}
    assert [(int(ev[0].split(":")[1]), len(ev)) for ev in events] == [
        (58, 2),
        (59, 5),
        (60, 5),
        (61, 4),
        (62, 1),
    ]
    assert all(len(set(ev)) == 1 for ev in events)


def test_interleaved_events_and_eoe():
    lines = [
        "type=SYSCALL msg=audit(10.000:1): syscall=59 pid=1",
        "type=SYSCALL msg=audit(10.000:2): syscall=59 pid=2",
        'type=EXECVE msg=audit(10.000:1): argc=1 a0="a"',
        'type=EXECVE msg=audit(10.000:2): argc=1 a0="b"',
        "type=EOE msg=audit(10.000:2):",
        "type=USER_LOGIN msg=audit(10.001:3): pid=5 msg='op=login acct=\"x\" res=success'",
        'type=PATH msg=audit(10.000:1): item=0 name="/bin/a"',
        "type=EOE msg=audit(10.000:1):",
        "type=EOE msg=audit(10.000:1):",  # a second EOE ends nothing
    ]
    joiner = Reassembler()
    done = []
    for number, line in enumerate(lines, start=1):
        done.append(
            [(ev.lines, [r.type for r in ev.records]) for ev in joiner.push(parse_record(line), number)]
        )
    assert done[4] == [([2, 4, 5], ["SYSCALL", "EXECVE"])]  # complete at its EOE
    assert done[5] == [([6], ["USER_LOGIN"])]  # a user-space record is an event by itself
    assert done[7] == [([1, 3, 7, 8], ["SYSCALL", "EXECVE", "PATH"])]
    assert done[8] == [] and len(joiner) == 0


def test_same_serial_on_two_nodes_are_two_events():
    lines = [
        "node=a type=SYSCALL msg=audit(10.000:1): syscall=42",
        "node=b type=SYSCALL msg=audit(10.000:1): syscall=42",
        "node=a type=SOCKADDR msg=audit(10.000:1): saddr=02000050A9FEA9FE0000000000000000",
    ]
    assert sorted(len(ev) for ev in _events(lines)) == [1, 2]


def test_open_events_bounded_by_the_window():
    joiner = Reassembler(window=8)
    out = 0
    most = 0
    for serial in range(1, 5001):  # records of events that never get an EOE
        out += len(joiner.push(parse_record(f"type=SYSCALL msg=audit(10.000:{serial}): syscall=2"), serial))
        most = max(most, len(joiner))
    out += len(joiner.flush())
    assert most == 8
    assert out == 5000
