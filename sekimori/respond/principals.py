"""Who acts: an authenticated principal, and when two principals are the same person.

A :class:`Principal` is what an authentication said (``source``: ``os`` for the command line, ``web`` for
a web login…, the ``login`` it authenticated) and the ``person`` that login belongs to, from the mapping
of logins to people (:class:`PrincipalMap`). The case workflow takes principals, never typed names: the
command line builds its principal from the operating-system user of the process (:func:`os_principal`,
the real uid), and a library caller that builds one by hand is trusted to have authenticated it.

Names are compared by :func:`person_key`, so that a look-alike of a name is the same person: NFKC, format
and other invisible characters removed, ``DOMAIN\\user`` and ``user@domain`` reduced to the user,
casefolded, accents removed (NFKD without combining marks), and the common confusables of Latin letters
(Cyrillic and Greek letters, digits, ``rn`` for ``m``) mapped to one form, after the confusables
skeleton of Unicode TR39. No maintained TR39 package is installed here, so the table below covers the
look-alikes of the Latin letters only; a name in another script is compared by the other steps.

The mapping is a YAML file (``SEKIMORI_PRINCIPALS``, default ``/etc/sekimori/principals.yaml``) that an
administrator writes; like sudoers it must be owned by root and not writable by group or others::

    people:
      alice: [alice, alice-adm, "CORP\\\\alice"]   # several logins, one person
      bob: [bob]

A login not in the mapping is a person of its own. Each principal carries ``directory``, the digest of the
mapping that named its person: an approval is refused when it differs from the request's, so a process
that reads another mapping cannot split one person into two.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

PRINCIPALS_ENV = "SEKIMORI_PRINCIPALS"
DEFAULT_PRINCIPALS = Path("/etc/sekimori/principals.yaml")

# Invisible characters that are not of category Cf (default-ignorable code points of Unicode).
_IGNORABLE = frozenset(
    (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10))
).union(range(0xE0100, 0xE01F0))
# Bidirectional controls reorder what is shown ("\u202eecila" shows as "alice"): refused outright.
_BIDI = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])

# After TR39's confusables.txt, for the letters and digits that look like Latin ones (lower case, since
# the key is casefolded first). i, l, 1, | and capital I (casefolded to i) share one form.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "l", "ї": "l", "ј": "j",
        "к": "k", "ӏ": "l", "м": "rn", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s",
        "т": "t", "у": "y", "ү": "y", "х": "x", "с": "c", "ԝ": "w", "ь": "b", "ɡ": "g", "ѵ": "v",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "σ": "o", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ϲ": "c", "ϳ": "j", "ω": "w", "μ": "u",
        # Latin look-alikes and digits
        "ɑ": "a", "ı": "l", "ȷ": "j", "ɩ": "l", "ǀ": "l", "|": "l", "i": "l", "1": "l", "!": "l",
        "0": "o", "5": "s", "m": "rn", "ʟ": "l", "ʀ": "r", "ꞵ": "b", "ɪ": "l",
    }
)  # fmt: skip
_SPACE = re.compile(r"\s+")


class PrincipalError(ValueError):
    """A principal or a mapping of logins to people that cannot be used."""


def _check_text(what: str, value: str) -> None:
    if not value or not value.strip():
        raise PrincipalError(f"{what} is empty")
    for ch in value:
        if ord(ch) in _BIDI:
            raise PrincipalError(
                f"{what} {value!r} holds a bidirectional control character (U+{ord(ch):04X})"
            )
        if unicodedata.category(ch) == "Cc":
            raise PrincipalError(f"{what} {value!r} holds a control character (U+{ord(ch):04X})")
    if not person_key(value):
        raise PrincipalError(f"{what} {value!r} has no visible character")


def _visible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf" and ord(ch) not in _IGNORABLE)


def person_key(name: str) -> str:
    """The form in which two names of one person are equal (see the module docstring)."""
    text = _visible(unicodedata.normalize("NFKC", _visible(name)))
    text = _SPACE.sub("", text)
    # Down-level names: the user of DOMAIN\user and of user@domain.
    text = text.rsplit("\\", 1)[-1]
    if "@" in text.strip("@"):
        text = text.strip("@").split("@", 1)[0]
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Mn")
    return _visible(unicodedata.normalize("NFKD", text.translate(_CONFUSABLES)))


@dataclass(frozen=True)
class Principal:
    """An authenticated actor: ``source`` (os, web, system…), the ``login`` it authenticated, the
    ``person`` it belongs to, and the digest of the mapping that said so (``directory``)."""

    source: str
    login: str
    person: str
    directory: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", self.source):
            raise PrincipalError(f"principal source {self.source!r}: lower-case letters, e.g. os or web")
        _check_text("login", self.login)
        _check_text("person", self.person)

    @property
    def label(self) -> str:
        """How the principal is written in the tables and the audit trail's actor."""
        if person_key(self.login) == person_key(self.person):
            return self.person
        return f"{self.person} ({self.source}:{self.login})"

    def name_keys(self) -> set[str]:
        return {person_key(self.person), person_key(self.login)}

    def same_person(self, other: Principal) -> bool:
        """Whether the two may be one person: any of their logins and persons look alike."""
        return bool(self.name_keys() & other.name_keys())

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Principal:
        return cls(
            str(data["source"]), str(data["login"]), str(data["person"]), str(data.get("directory", ""))
        )

    def __str__(self) -> str:
        return self.label


SYSTEM = Principal("system", "sekimori", "sekimori")  # sekimori itself (recovering interrupted actions)


class PrincipalMap:
    """Logins → people. ``people``: person → logins (the person's name is one of its logins)."""

    def __init__(self, people: dict[str, list[str]] | None = None, origin: str = "") -> None:
        self.people = {str(p): [str(x) for x in logins] for p, logins in (people or {}).items()}
        self._person_of: dict[str, str] = {}
        for person, logins in self.people.items():
            _check_text(f"{origin or 'principals'}: person", person)
            for login in {person, *logins}:
                _check_text(f"{origin or 'principals'}: login of {person}", login)
                key = person_key(login)
                other = self._person_of.setdefault(key, person)
                if other != person:
                    raise PrincipalError(
                        f"{origin or 'principals'}: login {login!r} of {person} looks like one of {other}'s: "
                        "two people cannot have look-alike logins"
                    )
        canonical = yaml.safe_dump({"people": self.people}, sort_keys=True, allow_unicode=True)
        self.directory = hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def principal(self, source: str, login: str) -> Principal:
        person = self._person_of.get(person_key(login), login)
        return Principal(source, login, person, self.directory)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> PrincipalMap:
        """The mapping in ``path``, else ``SEKIMORI_PRINCIPALS``, else the default file if it exists (else
        an empty mapping). Refused unless owned by root and not writable by group or others."""
        named = path or os.environ.get(PRINCIPALS_ENV)
        file = Path(named) if named else DEFAULT_PRINCIPALS
        try:
            info = file.stat()
        except FileNotFoundError:
            if named:
                raise PrincipalError(f"{file}: principals file not found") from None
            return cls()
        except OSError as exc:
            raise PrincipalError(f"{file}: principals file: {exc.strerror or exc}") from None
        if info.st_uid != 0 or info.st_mode & 0o022:
            # Whoever can write it decides who is whom: only root, as for sudoers.
            raise PrincipalError(f"{file}: principals file must be owned by root and not writable by others")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise PrincipalError(f"{file}: principals file unreadable ({type(exc).__name__})") from None
        people = data.get("people") if isinstance(data, dict) else None
        if not isinstance(people, dict) or not all(isinstance(v, list) for v in people.values()):
            raise PrincipalError(f"{file}: expected `people: {{PERSON: [LOGIN, …]}}`")
        return cls(people, origin=str(file))


def _real_uid() -> int:
    return os.getuid()


def os_principal(mapping: PrincipalMap | None = None) -> Principal:
    """The principal of this process: its real user (not the effective one of a setuid program, and no
    name from an option or the environment), mapped to a person."""
    uid = _real_uid()
    try:
        login = pwd.getpwuid(uid).pw_name
    except KeyError:
        raise PrincipalError(f"uid {uid} has no user name: cannot say who acts") from None
    return (mapping if mapping is not None else PrincipalMap.load()).principal("os", login)
