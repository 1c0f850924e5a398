"""Access review campaigns: the grants in force when a campaign starts are copied into it (the population
is frozen: later edits of the register do not change what is being reviewed), each is sent to its owner,
and the owner (or a delegate named at the start) certifies, revokes or changes it with a reason, before a
deadline. Every step is a recorded write of the register's database (the audit chain).

Who decides is an authenticated principal; the decision is refused when it is not the grant's owner or
the owner's delegate, or when it is the grant's own subject (nobody certifies their own access). Names
are compared as :func:`sekimori.respond.person_key` does (look-alikes are the same person).

A revoke is recorded with ``revoke_status`` ``pending``; :func:`sekimori.govern.propose_revocations` turns
it into a containment action of the respond stage (``proposed``: the connector's dry-run stored; approval
by a second person and execution are the respond stage's). A change records the fields to change,
checked against the grant; the register itself is edited by an import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.records import GrantRecord, SubjectKind
from sekimori.govern.register import Register
from sekimori.govern.tables import ReviewItemRow, ReviewRow
from sekimori.respond import Principal, person_key


class ReviewError(Exception):
    """A review operation that is not allowed or names something unknown."""


class Decision(StrEnum):
    certify = "certify"
    revoke = "revoke"
    change = "change"


@dataclass(frozen=True)
class ReviewItem:
    grant: str
    owner: str
    frozen: dict[str, Any]  # the grant's record when the campaign started
    decision: str | None
    reason: str | None
    change: dict[str, Any] | None
    decided_by: str | None
    decided_at: datetime | None
    revoke_status: str | None
    overdue: bool
    action_id: int | None = None  # the containment action proposed for a revoke

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ReviewStatus:
    id: str
    title: str
    started: datetime
    started_by: str
    deadline: date
    items: list[ReviewItem]
    as_of: date
    by_owner: dict[str, tuple[int, int]] = field(default_factory=dict)  # owner → (decided, total)
    delegates: dict[str, list[str]] = field(default_factory=dict)  # owner → people who may decide for them

    def may_decide(self, item: ReviewItem, who: Principal) -> bool:
        """``who`` is ``item``'s owner or one of the owner's delegates (as :func:`decide` checks; decide
        also refuses the grant's own subject)."""
        return _may_decide(item.owner, self.delegates, who)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if i.decision is not None)

    @property
    def completion(self) -> float:
        """Share of the population decided (1.0 for an empty campaign)."""
        return self.decided / self.total if self.items else 1.0

    @property
    def overdue(self) -> bool:
        return any(i.overdue for i in self.items)

    @property
    def pending_revokes(self) -> list[str]:
        return [i.grant for i in self.items if i.revoke_status == "pending"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "started": self.started,
            "started_by": self.started_by,
            "deadline": self.deadline,
            "as_of": self.as_of,
            "total": self.total,
            "decided": self.decided,
            "completion": self.completion,
            "overdue": self.overdue,
            "overdue_items": sum(1 for i in self.items if i.overdue),
            "pending_revokes": self.pending_revokes,
            "by_owner": {o: {"decided": d, "total": t} for o, (d, t) in self.by_owner.items()},
            "delegates": self.delegates,
            "items": [i.to_dict() for i in self.items],
        }


def start_review(
    register: Register,
    review_id: str,
    title: str,
    deadline: date,
    who: Principal,
    *,
    party: str | None = None,
    delegates: dict[str, list[str]] | None = None,
    today: date | None = None,
) -> ReviewStatus:
    """Start a campaign over the grants in force on ``today`` (not expired; of ``party`` if given), each
    copied as it is now and assigned to its owner. ``delegates``: owner → people who may decide for them."""
    day = today or datetime.now(UTC).date()
    if deadline < day:
        raise ReviewError(f"deadline {deadline} is before the start ({day})")
    grants = [
        g
        for g in register.grants()
        if (g.expires is None or g.expires >= day) and (party is None or g.party == party)
    ]
    if not grants:
        raise ReviewError("no grant in force to review" + (f" for party {party!r}" if party else ""))
    payload = {"review": review_id, "title": title, "deadline": deadline, "grants": len(grants)}
    with register.tables.write(who, "review.start", payload) as session:
        if session.get(ReviewRow, review_id) is not None:
            raise ReviewError(f"review {review_id!r} exists already")
        session.add(
            ReviewRow(
                id=review_id,
                title=title,
                started=datetime.now(UTC),
                started_by=who.label,
                deadline=deadline,
                delegates={k: list(v) for k, v in (delegates or {}).items()},
            )
        )
        session.flush()
        for grant in grants:
            session.add(
                ReviewItemRow(
                    review_id=review_id,
                    grant_id=grant.id,
                    frozen=grant.model_dump(mode="json"),
                    owner=grant.owner,
                    decision=None,
                    reason=None,
                    change=None,
                    decided_by=None,
                    decided_at=None,
                    revoke_status=None,
                )
            )
    return review_status(register, review_id, day)


def _may_decide(owner: str, delegates: dict[str, list[str]], who: Principal) -> bool:
    allowed = {person_key(owner)} | {person_key(d) for d in delegates.get(owner, [])}
    return bool(allowed & who.name_keys())


def _is_subject(frozen: dict[str, Any], who: Principal) -> bool:
    if frozen.get("subject_kind") not in (SubjectKind.account, SubjectKind.idp_guest):
        return False
    return person_key(str(frozen.get("subject", ""))) in who.name_keys()


def decide(
    register: Register,
    review_id: str,
    grant_id: str,
    decision: str,
    reason: str,
    who: Principal,
    change: dict[str, Any] | None = None,
) -> ReviewItem:
    """Record the decision on one grant of a campaign (see the module docstring for who may)."""
    try:
        chosen = Decision(decision)
    except ValueError:
        raise ReviewError(f"unknown decision {decision!r}; known: {', '.join(Decision)}") from None
    if not reason.strip():
        raise ReviewError("a decision needs a reason")
    if chosen is Decision.change and not change:
        raise ReviewError("a change needs the fields to change, e.g. expires=2026-03-31")
    if chosen is not Decision.change and change:
        raise ReviewError(f"only a change names fields to change, not a {chosen}")
    payload: dict[str, Any] = {"review": review_id, "grant": grant_id, "decision": chosen, "reason": reason}
    with register.tables.write(who, "review.decide", payload) as session:
        review = session.get(ReviewRow, review_id)
        if review is None:
            raise ReviewError(f"unknown review {review_id!r}")
        query = select(ReviewItemRow).where(
            ReviewItemRow.review_id == review_id, ReviewItemRow.grant_id == grant_id
        )
        item = session.scalars(query).first()
        if item is None:
            raise ReviewError(f"grant {grant_id!r} is not in review {review_id!r}")
        if item.decision is not None:
            raise ReviewError(
                f"grant {grant_id!r} was decided already ({item.decision} by {item.decided_by})"
            )
        if not _may_decide(item.owner, dict(review.delegates or {}), who):
            raise ReviewError(
                f"{who.label} is neither the owner of grant {grant_id!r} ({item.owner}) nor a delegate"
            )
        if _is_subject(item.frozen, who):
            raise ReviewError(
                f"{who.label} is the subject of grant {grant_id!r}: nobody reviews their own access"
            )
        if change:
            unknown = sorted(set(change) - set(GrantRecord.model_fields) | ({"id"} & set(change)))
            if unknown:
                raise ReviewError(f"change of grant {grant_id!r}: cannot change {', '.join(unknown)}")
            try:
                changed = GrantRecord.model_validate({**item.frozen, **change})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "grant"
                raise ReviewError(f"change of grant {grant_id!r}: {where}: {first['msg']}") from None
            item.change = {k: changed.model_dump(mode="json")[k] for k in sorted(change)}
            payload["change"] = item.change
        item.decision, item.reason = str(chosen), reason
        item.decided_by, item.decided_at = who.label, datetime.now(UTC)
        item.revoke_status = "pending" if chosen is Decision.revoke else None
    status = review_status(register, review_id)
    return next(i for i in status.items if i.grant == grant_id)


def review_status(register: Register, review_id: str, today: date | None = None) -> ReviewStatus:
    """The campaign's items and decisions, completion and what is overdue on ``today`` (an undecided item
    after the deadline day)."""
    day = today or datetime.now(UTC).date()
    with Session(register.cases.engine) as session:
        review = session.get(ReviewRow, review_id)
        if review is None:
            raise ReviewError(f"unknown review {review_id!r}")
        query = select(ReviewItemRow).where(ReviewItemRow.review_id == review_id)
        rows = sorted(session.scalars(query), key=lambda r: r.grant_id)  # code points, not a collation
        items = [
            ReviewItem(
                grant=r.grant_id,
                owner=r.owner,
                frozen=dict(r.frozen),
                decision=r.decision,
                reason=r.reason,
                change=r.change,
                decided_by=r.decided_by,
                decided_at=r.decided_at,
                revoke_status=r.revoke_status,
                action_id=r.action_id,
                overdue=r.decision is None and day > review.deadline,
            )
            for r in rows
        ]
        by_owner: dict[str, tuple[int, int]] = {}
        for i in items:
            decided, total = by_owner.get(i.owner, (0, 0))
            by_owner[i.owner] = (decided + (i.decision is not None), total + 1)
        return ReviewStatus(
            review.id,
            review.title,
            review.started,
            review.started_by,
            review.deadline,
            items,
            day,
            by_owner,
            {k: list(v) for k, v in (review.delegates or {}).items()},
        )
