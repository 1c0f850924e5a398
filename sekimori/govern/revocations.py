"""Revokes of a review campaign turned into containment actions of the respond stage: each pending revoke
becomes a ``remove_grant`` action, planned by its connector (the dry-run) in the campaign's case (opened
once, "Access review <id>: revocations"). Approval by a second person, execution, verification and
rollback are the respond stage's workflow (``sekimori case approve|execute|rollback``); the respond stage
knows nothing of campaigns, so :func:`record_revocation_outcomes` copies where each action has got to
back into the campaign's ``revoke_status``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.register import Register
from sekimori.govern.reviews import ReviewError, review_status
from sekimori.govern.tables import ReviewItemRow, ReviewRow
from sekimori.respond import Action, ActionKind, ActionStatus, CaseError, Principal

# The action statuses a revoke takes over: the outcome of the work (proposed, approved and executing are
# all "proposed" to the campaign: nothing has happened in the target system yet, or it is not known).
OUTCOMES = frozenset(
    {ActionStatus.executed, ActionStatus.verified, ActionStatus.failed, ActionStatus.rolled_back}
)


@dataclass(frozen=True)
class RevocationProposal:
    grant: str
    case_id: str
    action_id: int
    changes: list[str]  # the connector's dry-run plan, as stored for approval

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _case_of(register: Register, review_id: str, who: Principal) -> str:
    with Session(register.cases.engine) as session:
        review = session.get(ReviewRow, review_id)
        known = review.case_id if review is not None else None
    if known is not None:
        return known
    # The case is opened in the respond stage's own transaction (never inside a register write: both
    # take the audit chain's lock), then named in the campaign.
    case = register.cases.open_case(f"Access review {review_id}: revocations", [], who)
    with register.tables.write(who, "review.case", {"review": review_id, "case": case.id}) as session:
        review = session.get(ReviewRow, review_id)
        if review is None:
            raise ReviewError(f"unknown review {review_id!r}")
        if review.case_id is None:  # else another process named one meanwhile: theirs is kept
            review.case_id = case.id
        return review.case_id


def propose_revocations(
    register: Register, review_id: str, who: Principal, connector: str = "webhook"
) -> list[RevocationProposal]:
    """Propose a ``remove_grant`` action for every pending revoke of the campaign (none: an empty list)."""
    pending = [i for i in review_status(register, review_id).items if i.revoke_status == "pending"]
    if not pending:
        return []
    case_id = _case_of(register, review_id, who)
    proposals = []
    for item in pending:
        frozen = item.frozen
        action = Action(
            ActionKind.remove_grant,
            item.grant,
            f"access review {review_id}: revoked by {item.decided_by}: {item.reason}",
            {
                "party": frozen.get("party"),
                "subject": f"{frozen.get('subject_kind')} {frozen.get('subject')}",
                "object": f"{frozen.get('object_kind')} {frozen.get('object')}",
                "access": frozen.get("access"),
            },
        )
        try:
            row = register.cases.propose(case_id, action, connector, who)
        except CaseError as exc:
            raise ReviewError(f"grant {item.grant!r}: {exc}") from None
        # "action", not "action_id": the respond ledger reads who acted on an action from its own entries.
        payload = {"review": review_id, "grant": item.grant, "case": case_id, "action": row.id}
        with register.tables.write(who, "review.revoke", payload) as session:
            query = select(ReviewItemRow).where(
                ReviewItemRow.review_id == review_id, ReviewItemRow.grant_id == item.grant
            )
            stored = session.scalars(query).one()
            stored.revoke_status, stored.action_id = "proposed", row.id
        proposals.append(RevocationProposal(item.grant, case_id, row.id, list(row.changes)))
    return proposals


def record_revocation_outcomes(register: Register, review_id: str, who: Principal) -> dict[str, str]:
    """Copy the status of each revoke's containment action into the campaign: ``executed`` (done, not
    verified), ``verified`` (done and checked in the target system), ``failed`` or ``rolled_back``; one
    recorded write per change. Returns grant → new status for the revokes that changed.

    A failed or rolled back revoke is not proposed again by :func:`propose_revocations` (that takes
    ``pending`` ones only): undoing it was someone's decision, and a new attempt is another."""
    changed: dict[str, str] = {}
    for item in review_status(register, review_id).items:
        if item.action_id is None or item.revoke_status in (None, "pending"):
            continue
        status = str(register.cases.action(item.action_id).status)
        if status not in OUTCOMES or status == item.revoke_status:
            continue
        payload = {"review": review_id, "grant": item.grant, "action": item.action_id, "status": status}
        with register.tables.write(who, "review.revoke_status", payload) as session:
            query = select(ReviewItemRow).where(
                ReviewItemRow.review_id == review_id, ReviewItemRow.grant_id == item.grant
            )
            stored = session.scalars(query).one()
            stored.revoke_status = status
        changed[item.grant] = status
    return changed
