"""Who acts: principals, look-alike names and the mapping of logins to people, against the case store's
two-person rule."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest

from sekimori.respond.actions import Action, ActionKind
from sekimori.respond.cases import ActionStatus, CaseError, CaseStore
from sekimori.respond.principals import (
    Principal,
    PrincipalError,
    PrincipalMap,
    os_principal,
    person_key,
)
from tests.respond.conftest import Database
from tests.respond.test_cases import FakeConnector

ALICE = Principal("os", "alice", "alice")
BOB = Principal("os", "bob", "bob")

# Each names alice to a reader, or reduces to her name: none may approve what alice asked for.
LOOK_ALIKES = {
    "upper case": "ALICE",
    "surrounding spaces": "  alice ",
    "full-width": "ａｌｉｃｅ",
    "full-width upper case": "ＡＬＩＣＥ",
    "Cyrillic а": "\u0430lice",
    "Cyrillic е": "alic\u0435",
    "Cyrillic с": "ali\u0441e",
    "Cyrillic і": "al\u0456ce",
    "Cyrillic palochka for l": "a\u04cfice",
    "Greek alpha": "\u03b1lice",
    "Latin alpha": "\u0251lice",
    "digit one for l": "a1ice",
    "capital I for l": "aIice",
    "zero-width space": "ali\u200bce",
    "zero-width joiner": "al\u200dice",
    "word joiner": "alice\u2060",
    "soft hyphen": "ali\u00adce",
    "byte order mark": "\ufeffalice",
    "combining grapheme joiner": "ali\u034fce",
    "variation selector": "alice\ufe0f",
    "combining acute accent": "alice\u0301",
    "precomposed é": "alic\u00e9",
    "mathematical bold": "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e",
    "circled letters": "\u24d0\u24db\u24d8\u24d2\u24d4",
    "down-level domain": "CORP\\alice",
    "full-width backslash": "corp\uff3calice",
    "user principal name": "alice@corp",
    "UPN with full-width at": "alice\uff20corp.example",
    "domain and Cyrillic": "CORP\\\u0430lice",
}


@pytest.fixture
def store(db: Database) -> Iterator[CaseStore]:
    cases = CaseStore(db.url, connectors={"fake": FakeConnector()}, anchor=db.anchor)
    yield cases
    cases.close()


def proposed_by(store: CaseStore, who: Principal) -> int:
    case = store.open_case("intrusion", [], who)
    return store.propose(case.id, Action(ActionKind.disable_account, "CORP\\mallory"), "fake", who).id


@pytest.mark.parametrize("name", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_of_the_requester_cannot_approve(store: CaseStore, name: str) -> None:
    action_id = proposed_by(store, ALICE)
    with pytest.raises(CaseError, match="same person who asked"):
        store.approve(action_id, Principal("os", name, name))
    assert store.action(action_id).status == ActionStatus.proposed
    store.approve(action_id, BOB)  # a different person still can
    assert store.action(action_id).approved_by == "bob"


@pytest.mark.parametrize("name", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alikes_share_one_key(name: str) -> None:
    assert person_key(name) == person_key("alice")


def test_different_people_stay_different() -> None:
    keys = {person_key(n) for n in ("alice", "alicia", "bob", "carol", "alice2", "田中", "tanaka")}
    assert len(keys) == 7
    assert person_key("CORP\\bob") == person_key("bob@corp.example") == person_key("bob")


def test_bidirectional_and_control_characters_are_refused() -> None:
    with pytest.raises(PrincipalError, match="bidirectional"):
        Principal("os", "\u202eecila", "x")  # shows as "alice"
    with pytest.raises(PrincipalError, match="control character"):
        Principal("os", "alice\n", "alice")
    with pytest.raises(PrincipalError, match="no visible character"):
        Principal("os", "\u200b\u00ad", "x")
    with pytest.raises(PrincipalError, match="empty"):
        Principal("os", " ", "x")


def test_the_library_takes_principals_not_names(store: CaseStore) -> None:
    action_id = proposed_by(store, ALICE)
    with pytest.raises(TypeError, match="Principal"):
        store.approve(action_id, "bob")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Principal"):
        store.open_case("t", [], "alice")  # type: ignore[arg-type]
    assert store.action(action_id).status == ActionStatus.proposed


def test_several_logins_of_one_person(store: CaseStore) -> None:
    people = PrincipalMap({"alice": ["alice-adm", "CORP\\asmith"], "bob": ["bob"]})
    admin = people.principal("os", "alice-adm")
    assert (admin.person, admin.login, admin.label) == ("alice", "alice-adm", "alice (os:alice-adm)")
    action_id = proposed_by(store, people.principal("os", "alice"))
    for login in ("alice-adm", "asmith", "ALICE-ADM"):
        with pytest.raises(CaseError, match="same person who asked"):
            store.approve(action_id, people.principal("web", login))
    store.approve(action_id, people.principal("os", "bob"))
    done = store.execute(action_id, admin)  # today's rule: the requester may execute once approved
    assert done.status == ActionStatus.verified and done.requested_by == "alice"


def test_another_mapping_cannot_split_a_person(store: CaseStore) -> None:
    real = PrincipalMap({"alice": ["alice-adm"]})
    action_id = proposed_by(store, real.principal("os", "alice"))
    # alice-adm with a mapping that forgets her: a person of its own, but not under the request's mapping
    forged = PrincipalMap({}).principal("os", "alice-adm")
    assert forged.person == "alice-adm"
    with pytest.raises(CaseError, match="mapping of logins to people differs"):
        store.approve(action_id, forged)
    assert store.action(action_id).status == ActionStatus.proposed


def test_look_alike_logins_of_two_people_refused() -> None:
    with pytest.raises(PrincipalError, match="looks like one of alice's"):
        PrincipalMap({"alice": ["alice"], "mallory": ["\u0430lice"]})


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_principals_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _write(tmp_path / "p.yaml", "people:\n  alice: [alice-adm, 'CORP\\alice']\n  bob: [bob]\n")
    monkeypatch.setenv("SEKIMORI_PRINCIPALS", str(good))
    people = PrincipalMap.load()
    assert people.principal("os", "alice-adm").person == "alice"
    assert people.principal("os", "carol").person == "carol"  # not in the file: a person of its own
    assert people.directory == PrincipalMap.load(good).directory != PrincipalMap({}).directory

    writable = _write(tmp_path / "w.yaml", "people: {}\n", 0o666)
    with pytest.raises(PrincipalError, match="owned by root and not writable by others"):
        PrincipalMap.load(writable)
    with pytest.raises(PrincipalError, match="not found"):
        PrincipalMap.load(tmp_path / "missing.yaml")
    with pytest.raises(PrincipalError, match="expected `people"):
        PrincipalMap.load(_write(tmp_path / "bad.yaml", "alice: bob\n"))
    if os.geteuid() == 0:
        os.chown(good, 1, 1)  # owned by someone else than root: whoever owns it decides who is whom
        with pytest.raises(PrincipalError, match="owned by root"):
            PrincipalMap.load(good)


def test_os_principal_is_the_real_user_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEKIMORI_ACTOR", "SUDO_USER", "USER", "LOGNAME"):
        monkeypatch.setenv(name, "bob")
    me = pwd.getpwuid(os.getuid()).pw_name
    who = os_principal(PrincipalMap({}))
    assert (who.source, who.login, who.person) == ("os", me, me)


def test_system_entries_name_their_principal(store: CaseStore) -> None:
    action_id = proposed_by(store, ALICE)
    propose = next(e for e in store.audit.entries() if e.kind == "action.propose")
    assert propose.actor == "alice"
    assert propose.payload["by"] == {"source": "os", "login": "alice", "person": "alice", "directory": ""}
    assert store.action(action_id).requested_by == "alice"
