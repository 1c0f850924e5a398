"""The demo's govern stage: the group's register of entrusted parties (``data/register.yaml``, as the group
kept it before the 2023 incident) read into a register beside the demo's cases, judged on the day the
seed case's reports are judged.

The findings come with the seed case's first: the affiliate that reaches personal data without being
supervised as an entrusted party, the realms it shares with the parent and its network flow into the
parent, each with the people it exposes and the people fixing it protects. Then an access review of the
grants in force, each decided by its owner: the grant the findings show as unused or outliving its
contract is revoked, the others certified (one owner late: past the deadline their grants are overdue);
the revoke is proposed as a containment action (the webhook connector's dry-run, planned offline: nothing
is sent) that a second person must approve: the demo shows the proposer's own approval refused, and
executes nothing. Last, the group posture and its parts, and the audit chain verified.

Run once per database: a second run shows the same review and the same proposed action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sekimori.demo.parts import DATA, DEMO_REPORTS_AS_OF

if TYPE_CHECKING:
    from sekimori.govern import Finding, ImportReport, Posture, Register, ReviewStatus
    from sekimori.model import GroupModel
    from sekimori.respond import AuditReport, Principal
    from sekimori.store import Store

# The register is judged, and the review starts, on the day the seed case's reports are judged.
DEMO_GOVERN_AS_OF = DEMO_REPORTS_AS_OF.date()
DEMO_REVIEW = "demo-review-2023"
REVIEW_DAYS = 14
# The seed case's findings: about the affiliate, in this order (the regulators' finding, then the two
# changes they demanded: separate the shared authentication, block the affiliate's way into the parent).
SEED_PARTY = "affiliate-kr"
SEED_KINDS = ("no_entrustment_contract", "shared_authentication", "flow_into_parent")
# Findings that say a grant is not needed: the review revokes the grant with the most of them.
NOT_NEEDED = ("grant_never_used", "grant_outlives_contract", "grant_expired", "grant_not_recently_used")
# The webhook connector plans offline (its dry-run only names the request it would send); nothing is
# executed in the demo, and these settings are the demo's own, never the environment's.
OFFLINE_WEBHOOK = {"url": "https://iam.example.invalid/sekimori-demo", "secret": "demo-only-secret"}


def demo_register_path() -> Path:
    return Path(str(DATA / "register.yaml"))


@dataclass(frozen=True)
class ProposedRevocation:
    """A revoke of the review as a containment action: its dry-run plan and its status (proposed: it
    waits for a second person's approval)."""

    grant: str
    case_id: str
    action_id: int
    changes: list[str]
    status: str
    requested_by: str


@dataclass
class GovernanceStory:
    database: Path
    as_of: date
    imported: ImportReport | None  # None: imported by an earlier run of the demo
    findings: list[Finding]  # the seed case's first, then the others, most severe first
    seed: list[Finding]
    revoked: str  # the grant the review revokes, chosen from the findings
    at_deadline: ReviewStatus | None  # the day after the deadline, before the late owner decided
    review: ReviewStatus  # every item decided
    late_owner: str | None
    revocations: list[ProposedRevocation]
    refused: str  # why the proposer's own approval is refused (the two-person rule)
    posture: Posture
    audit: AuditReport

    @property
    def rest(self) -> list[Finding]:
        return self.findings[len(self.seed) :]


def seed_findings(found: list[Finding]) -> list[Finding]:
    """The seed case's findings among ``found``, in the order of :data:`SEED_KINDS`."""
    mine = [f for f in found if f.organisation == SEED_PARTY and str(f.kind) in SEED_KINDS]
    return sorted(mine, key=lambda f: (SEED_KINDS.index(str(f.kind)), f.subject))


def grant_to_revoke(found: list[Finding]) -> str | None:
    """The grant the most findings of :data:`NOT_NEEDED` name (then the most severe, then by id)."""
    from sekimori.govern import Severity

    rank = {str(s): -n for n, s in enumerate(Severity)}  # critical first
    named: dict[str, list[Finding]] = {}
    for f in found:
        if str(f.kind) in NOT_NEEDED:
            named.setdefault(str(f.evidence["grant"]), []).append(f)
    ranked = sorted(
        named.items(), key=lambda kv: (-len(kv[1]), min(rank[str(f.severity)] for f in kv[1]), kv[0])
    )
    return ranked[0][0] if ranked else None


def governance_story(
    store: Store, model: GroupModel, database: Path, as_of: date = DEMO_GOVERN_AS_OF
) -> GovernanceStory:
    """The register, its findings, an access review and its revoke proposed, and the group posture, in the
    SQLite database ``database`` (see the module docstring)."""
    from sekimori.govern import (
        Register,
        ReviewError,
        findings,
        group_posture,
        merge_register,
        propose_revocations,
        read_register,
        review_status,
    )
    from sekimori.graph import graph_from_store
    from sekimori.respond import CONNECTORS, Principal

    officer = Principal("demo", "demo-governance", "demo-governance")  # the demo's own, not a login
    webhook = CONNECTORS.get("webhook")(settings=dict(OFFLINE_WEBHOOK))
    anchor = database.with_name(database.name + ".audit-anchor")  # beside it, whatever the environment
    deadline = as_of + timedelta(days=REVIEW_DAYS)
    with Register(f"sqlite:///{database}", anchor=anchor, connectors={"webhook": webhook}) as register:
        try:
            review_status(register, DEMO_REVIEW)
            first = False
        except ReviewError:
            first = True
        imported = None
        if first:  # one transaction, one audit entry
            path = demo_register_path()
            imported = register.import_records(read_register(path), officer, source=path.name)
        merged = merge_register(model, register).model  # judged with the register, as the CLI does
        found = findings(register, merged, store=store, graph=graph_from_store(store, merged), as_of=as_of)
        seed = seed_findings(found)
        revoked = grant_to_revoke(found)
        if revoked is None:
            raise ValueError("no finding shows a grant as unused or outliving its contract")
        at_deadline, late_owner = None, None
        if first:
            at_deadline, late_owner = _review(register, found, revoked, officer, as_of, deadline)
            propose_revocations(register, DEMO_REVIEW, officer, connector="webhook")
        review = review_status(register, DEMO_REVIEW, deadline + timedelta(days=1))
        revocations = [_revocation(register, i.grant, i.action_id) for i in review.items if i.action_id]
        refused = _own_approval_refused(register, revocations, officer)
        posture = group_posture(found, as_of, [o.id for o in merged.organisations if o.kind != "parent"])
        audit = register.verify()
    seed_ids = {id(f) for f in seed}
    ordered = seed + [f for f in found if id(f) not in seed_ids]
    return GovernanceStory(
        database=database,
        as_of=as_of,
        imported=imported,
        findings=ordered,
        seed=seed,
        revoked=revoked,
        at_deadline=at_deadline,
        review=review,
        late_owner=late_owner,
        revocations=revocations,
        refused=refused,
        posture=posture,
        audit=audit,
    )


def _review(
    register: Register, found: list[Finding], revoked: str, officer: Principal, as_of: date, deadline: date
) -> tuple[ReviewStatus, str]:
    """Start the review on ``as_of``; each owner decides on their grants (``revoked`` revoked, with the
    findings as the reason; the others certified), one owner only after the deadline. Returns the status
    the day after the deadline, before that owner decided, and who the owner is."""
    from sekimori.govern import decide, review_status, start_review
    from sekimori.respond import Principal

    title = f"Access review of the entrusted parties' grants, {as_of:%Y}"
    status = start_review(register, DEMO_REVIEW, title, deadline, officer, today=as_of)
    owners = sorted({i.owner for i in status.items})
    revoker = next(i.owner for i in status.items if i.grant == revoked)
    late = next(o for o in reversed(owners) if o != revoker)  # any owner but the revoker would do
    reasons = " ".join(
        f.text["en"] for f in found if str(f.kind) in NOT_NEEDED and f.evidence["grant"] == revoked
    )

    def decide_all(owner: str) -> None:
        who = Principal("demo", owner, owner)  # the grant's owner, as the demo's principal
        for item in (i for i in status.items if i.owner == owner):
            if item.grant == revoked:
                decide(register, DEMO_REVIEW, item.grant, "revoke", reasons, who)
            else:
                need = item.frozen.get("justification") or "needed"
                decide(register, DEMO_REVIEW, item.grant, "certify", f"still needed: {need}", who)

    for owner in owners:
        if owner != late:
            decide_all(owner)
    at_deadline = review_status(register, DEMO_REVIEW, deadline + timedelta(days=1))
    decide_all(late)
    return at_deadline, late


def _revocation(register: Register, grant: str, action_id: int) -> ProposedRevocation:
    action = register.cases.action(action_id)
    return ProposedRevocation(
        grant, action.case_id, action.id, list(action.changes), action.status, action.requested_by
    )


def _own_approval_refused(register: Register, revocations: list[ProposedRevocation], who: Principal) -> str:
    """The proposer approving their own revocation: refused (nothing is approved, nothing executed)."""
    from sekimori.respond import CaseError

    if not revocations:
        raise ValueError("the review proposed no revocation")
    try:
        register.cases.approve(revocations[0].action_id, who)
    except CaseError as exc:
        return str(exc)
    raise RuntimeError(f"action {revocations[0].action_id} was approved by the person who proposed it")
