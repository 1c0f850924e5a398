"""One report, notice or announcement, ready to render: what every report kind builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sekimori.report import deadlines as dl
from sekimori.report.deadlines import Deadline

Lang = Literal["ja", "en"]
LANGS: tuple[str, ...] = ("ja", "en")


@dataclass
class Document:
    """One report, notice or announcement, ready to render. ``fields`` keeps the rule's order."""

    kind: str
    lang: str
    title: str
    addressee: str
    case_id: str
    as_of: datetime  # the ``now`` the deadlines' status was taken at
    sender: str | None = None
    recipient: str | None = None  # the person or group a notice is for
    deadlines: list[Deadline] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    mandatory: bool | None = None  # None: cannot be decided from the facts yet
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # mail merge: the person's address, email, id

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lang": self.lang,
            "title": self.title,
            "addressee": self.addressee,
            "case_id": self.case_id,
            "as_of": self.as_of.isoformat(),
            "sender": self.sender,
            "recipient": self.recipient,
            "deadlines": [d.to_dict(self.as_of) for d in self.deadlines],
            "fields": [{"label": label, "value": value} for label, value in self.fields.items()],
            "missing": list(self.missing),
            "mandatory": self.mandatory,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "meta": dict(self.meta),
        }


def as_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: expected 'ja' or 'en'")
    return cast(Lang, lang)


def as_now(now: datetime | None) -> datetime:
    """``now`` made aware; the current time in Japan when not given."""
    return dl.aware(now) if now is not None else datetime.now(dl.JST)
