"""Recurrence-prevention measures (再発防止策), tracked per case in a small YAML file.

One ``measures.yaml`` per case, validated with pydantic on every load and save::

    version: 1
    case_id: CASE-2024-001
    measures:
    - id: M1
      what: 委託先アカウントの多要素認証を必須化
      what_en: Require MFA for contractor accounts
      owner_role: 情報システム部
      owner_role_en: IT department
      owner_name: 山田太郎        # shown on the public page only if owner_private is false
      owner_private: true
      due: 2024-09-30
      status: in_progress       # planned | in_progress | done | cancelled
      percent: 40
      evidence: [{at: ..., text: ...}]
      created: 2024-07-01T09:00:00+09:00
      updated: 2024-07-15T10:00:00+09:00
      history: [{at: ..., field: status, old: planned, new: in_progress, note: ...}]

Every change appends to ``history`` with its time, so the file is its own audit trail; ``updated`` is
the time of the last change. The file is written atomically (a temporary file renamed over it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from sekimori.report.facts import Measure

JST = ZoneInfo("Asia/Tokyo")
MeasureStatus = Literal["planned", "in_progress", "done", "cancelled"]
FILE_NAME = "measures.yaml"


def _now() -> datetime:
    return datetime.now(JST)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Change(_Model):
    """One change to a measure: what changed, from what to what, when."""

    at: AwareDatetime
    field: str
    old: Any = None
    new: Any = None
    note: str | None = None


class Evidence(_Model):
    """What shows progress: a document, a configuration change, an audit result (internal)."""

    at: AwareDatetime
    text: str = Field(min_length=1)


class TrackedMeasure(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)
    what: str = Field(min_length=1, description="The measure, in Japanese (the public page's text).")
    what_en: str | None = Field(default=None, description="The measure in English, for the English page.")
    owner_role: str = Field(min_length=1, description="Accountable role or department (shown publicly).")
    owner_role_en: str | None = None
    owner_name: str | None = Field(default=None, description="The person; never public while private.")
    owner_private: bool = True
    due: date
    status: MeasureStatus = "planned"
    percent: int = Field(default=0, ge=0, le=100)
    evidence: list[Evidence] = Field(default_factory=list)
    created: AwareDatetime
    updated: AwareDatetime
    history: list[Change] = Field(default_factory=list)

    @model_validator(mode="after")
    def _done_is_whole(self) -> TrackedMeasure:
        if self.status == "done" and self.percent != 100:
            raise ValueError("a measure that is done is 100 % done")
        return self

    def overdue(self, as_of: datetime | None = None) -> bool:
        """Past its due day (in Japan) and neither done nor cancelled."""
        today = (as_of or _now()).astimezone(JST).date()
        return self.status not in ("done", "cancelled") and today > self.due

    def to_fact(self) -> Measure:
        """The measure as the reports take it (:class:`sekimori.report.facts.Measure`)."""
        return Measure(
            id=self.id,
            what=self.what,
            owner=self.owner_role,
            due=datetime.combine(self.due, time(23, 59, 59), tzinfo=JST),  # the end of the due day
            status=self.status,
            evidence="; ".join(e.text for e in self.evidence) or None,
            what_en=self.what_en,
            updated=self.updated,
        )


class MeasureBook(_Model):
    """The measures of one case."""

    version: Literal[1] = 1
    case_id: str = Field(min_length=1)
    measures: list[TrackedMeasure] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> MeasureBook:
        ids = [m.id for m in self.measures]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"measure ids repeat: {', '.join(repeated)}")
        return self

    def __iter__(self) -> Iterator[TrackedMeasure]:  # type: ignore[override]
        return iter(self.measures)

    def get(self, measure_id: str) -> TrackedMeasure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(f"no measure {measure_id!r} in case {self.case_id}")

    # --- changes (each timestamped) ---

    def add(
        self,
        measure_id: str,
        what: str,
        owner_role: str,
        due: date,
        *,
        what_en: str | None = None,
        owner_role_en: str | None = None,
        owner_name: str | None = None,
        owner_private: bool = True,
        at: datetime | None = None,
    ) -> TrackedMeasure:
        if any(m.id == measure_id for m in self.measures):
            raise ValueError(f"measure {measure_id!r} already exists")
        when = at or _now()
        measure = TrackedMeasure(
            id=measure_id,
            what=what,
            what_en=what_en,
            owner_role=owner_role,
            owner_role_en=owner_role_en,
            owner_name=owner_name,
            owner_private=owner_private,
            due=due,
            created=when,
            updated=when,
            history=[Change(at=when, field="created", new=measure_id)],
        )
        self.measures.append(measure)
        return measure

    def update_status(
        self,
        measure_id: str,
        status: MeasureStatus,
        *,
        percent: int | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> TrackedMeasure:
        """Set the status (and the % done: 100 when done); both changes go to the history."""
        m = self.get(measure_id)
        when = at or _now()
        if status == "done":
            percent = 100
        changes: list[Change] = []
        if percent is not None and percent != m.percent:
            changes.append(Change(at=when, field="percent", old=m.percent, new=percent, note=note))
        if status != m.status:
            changes.append(Change(at=when, field="status", old=m.status, new=status, note=note))
        if not changes:
            return m
        # one validated copy, so that 'done' and 100 % change together
        updated = m.model_copy(
            update={
                "status": status,
                "percent": m.percent if percent is None else percent,
                "updated": when,
                "history": [*m.history, *changes],
            }
        )
        TrackedMeasure.model_validate(updated.model_dump())
        self.measures[self.measures.index(m)] = updated
        return updated

    def set_progress(
        self, measure_id: str, percent: int, *, note: str | None = None, at: datetime | None = None
    ) -> TrackedMeasure:
        """The % done, the status unchanged (100 % is not 'done' until marked so)."""
        m = self.get(measure_id)
        return self.update_status(measure_id, m.status, percent=percent, note=note, at=at)

    def add_evidence(self, measure_id: str, text: str, *, at: datetime | None = None) -> TrackedMeasure:
        m = self.get(measure_id)
        when = at or _now()
        m.evidence = [*m.evidence, Evidence(at=when, text=text)]
        m.history = [*m.history, Change(at=when, field="evidence", new=text)]
        m.updated = when
        return m

    def facts(self) -> list[Measure]:
        return [m.to_fact() for m in self.measures]

    # --- the file ---

    @classmethod
    def load(cls, path: Path, case_id: str | None = None) -> MeasureBook:
        """The book in ``path`` (a file, or a case directory holding ``measures.yaml``); a new empty one
        for ``case_id`` when there is none yet."""
        path = _file(path)
        if not path.exists():
            if case_id is None:
                raise FileNotFoundError(f"{path}: no measures yet (give the case id to start a book)")
            return cls(case_id=case_id)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        book = cls.model_validate(data)
        if case_id is not None and book.case_id != case_id:
            raise ValueError(f"{path} holds the measures of case {book.case_id}, not {case_id}")
        return book

    def save(self, path: Path) -> Path:
        path = _file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(
            self.model_dump(mode="json"), allow_unicode=True, sort_keys=False, default_flow_style=False
        )
        fd, tmp = tempfile.mkstemp(prefix=".measures-", suffix=".yaml", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # atomic: readers see the old file or the new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _file(path: Path) -> Path:
    path = Path(path)
    return path / FILE_NAME if path.is_dir() or not path.suffix else path
