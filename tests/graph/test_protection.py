"""Protection (the people each change takes out of one entry's blast radius, judged on the part of the
graph the entry reaches) against the independent oracle (tests/graph/oracle.py: the documented rules over
the model, no graph): every control alone, and pairs of them, on random small groups."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.graph import Protection, blast_radius, build_graph, protections
from tests.graph.groups import AS_OF, groups
from tests.graph.oracle import DOCUMENTED, Oracle
from tests.graph.test_graph import model
from tests.graph.test_model_oracle import ENTRY


def _total(people: dict[str, int]) -> int:
    return sum(people.values())


@settings(max_examples=120, deadline=None)
@given(groups(), st.sampled_from([None, AS_OF]))
def test_people_protected_by_each_control_equals_the_oracle(group, as_of):
    oracle = Oracle(group, as_of, DOCUMENTED)
    graph = build_graph(group, as_of=as_of)
    protection = Protection(graph, "org:c")
    answer = oracle.answer(ENTRY)
    before = _total(answer.people)
    assert protection.people == before
    # its blast radius, from the same reach: the oracle's people, and what blast_radius describes
    radius = protection.blast_radius()
    assert {k: v for k, v in radius.exposure.people.items() if v} == {
        k: v for k, v in answer.people.items() if v
    }
    assert {**radius.to_dict(), "seconds": 0} == {**blast_radius(graph, "org:c").to_dict(), "seconds": 0}
    relevant = oracle.relevant_controls(ENTRY)
    # every control of the group: the relevant ones and (protecting nobody) the others
    controls = sorted(set(relevant) | {c for c in graph.controls if graph.control_index(c) is not None})
    for control in controls:
        expected = before - _total(oracle.answer(ENTRY, [control]).people)
        assert protection.people_protected([control]) == expected, control
    for pair in itertools.islice(itertools.combinations(relevant, 2), 20):
        expected = before - _total(oracle.answer(ENTRY, pair).people)
        assert protection.people_protected(list(pair)) == expected, pair


def test_a_change_that_adds_access_is_answered_on_the_rebuilt_graph():
    """A model edit (an added flow) cannot be judged on what the entry reaches today: it is answered on
    the rebuilt graph, so protection is negative when people become exposed (by hand: the contractor's
    grant needs a route to the parent's zone; with it, the 1,000 users of users-db are exposed)."""
    extra = """
    grants:
      - {id: g-cp, org: c, systems: [app], logon_types: [network], owner: IT}
    """
    protection = Protection(build_graph(model(extra)), "org:c")
    assert protection.people == 0
    assert protection.people_protected(["add flow cz -> pz"]) == -1000


@settings(max_examples=30, deadline=None)
@given(groups())
def test_protections_on_threads_answer_as_one_protection_at_a_time(group):
    """protections() (entries on a pool of threads, answers worked out up front) against the oracle, and
    an entry the graph does not have as None."""
    oracle = Oracle(group, None, DOCUMENTED)
    graph = build_graph(group)
    controls = sorted(oracle.relevant_controls(ENTRY))
    entries = {"org:c": controls, "org:p": controls[:2], "org:nowhere": []}
    got = protections(graph, entries, workers=2)
    assert got["org:nowhere"] is None
    before = _total(oracle.answer(ENTRY).people)
    first = got["org:c"]
    assert first is not None and first.people == before
    for control in controls:
        assert first.people_protected([control]) == before - _total(oracle.answer(ENTRY, [control]).people)
    second = got["org:p"]
    assert second is not None
    alone = Protection(graph, "org:p")
    assert second.blast_radius().exposure == alone.blast_radius().exposure
    assert [second.people_protected([c]) for c in controls[:2]] == [
        alone.people_protected([c]) for c in controls[:2]
    ]
