"""What the contractors pages read: the govern stage's register in the case database (opened per
request, over the same URL as the cases), the group model with the register merged in (as the command
line judges), and the reader's scope: the organisations they may see, and the ids of the others, which
are withheld wherever an in-scope record names them. The rows the templates show are built here, every
text passed through the scope's mask."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import text

from sekimori.govern import (
    UNUSED_DAYS,
    ContractRecord,
    ContractStatus,
    Finding,
    GrantRecord,
    GrantUsage,
    PartyRecord,
    PartySupervision,
    Register,
    RegisterError,
    findings,
    grant_usage,
    merge_register,
)
from sekimori.web.guard import Ctx

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.web.accounts import Account
    from sekimori.web.state import WebState

MAX_TEXT = 200
T = TypeVar("T")
# Characters of an id (the register's and the model's: ^[A-Za-z0-9][A-Za-z0-9._-]*$): a withheld id is
# replaced only where it stands alone, not inside a longer id ("f-affiliate-to-parent").
_ID_CHAR = r"[A-Za-z0-9_-]"


def today() -> date:
    return datetime.now(UTC).date()


def as_of_day(value: str | None) -> date:
    """``?as_of=YYYY-MM-DD`` or today (anything else: today)."""
    try:
        return date.fromisoformat((value or "")[:10]) if value else today()
    except ValueError:
        return today()


@dataclass(frozen=True)
class Scope:
    """What a reader may see: ``hidden`` are the organisation ids out of their scope, withheld from text."""

    account: Account
    hidden: frozenset[str]
    _pattern: re.Pattern[str] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, account: Account, known: set[str]) -> Scope:
        hidden = frozenset() if account.sees_all else frozenset(known - account.orgs)
        pattern = None
        if hidden:
            names = "|".join(re.escape(h) for h in sorted(hidden, key=lambda h: (-len(h), h)))
            pattern = re.compile(rf"(?<![A-Za-z0-9_.-])(?:{names})(?!{_ID_CHAR}|\.[A-Za-z0-9])")
        return cls(account, hidden, pattern)

    def sees(self, org: str | None) -> bool:
        return org is not None and (self.account.sees_all or org in self.account.orgs)

    def mask(self, value: T, placeholder: str) -> T:
        """``value`` (text, or lists and mappings of it) with every withheld id replaced."""
        return cast(T, self._masked(value, placeholder)) if self._pattern is not None else value

    def _masked(self, value: Any, placeholder: str) -> Any:
        assert self._pattern is not None
        if isinstance(value, str):
            return self._pattern.sub(placeholder, value)
        if isinstance(value, dict):
            return {k: self._masked(v, placeholder) for k, v in value.items()}  # keys are field names
        if isinstance(value, list | tuple):
            return [self._masked(v, placeholder) for v in value]
        return value


@dataclass
class Reading:
    """One request's view of the register: the records, the merged model and the scope."""

    register: Register
    scope: Scope
    parties: list[PartyRecord]
    contracts: list[ContractRecord]
    grants: list[GrantRecord]
    model: GroupModel | None
    problem: str = ""  # why the register could not be merged into the model

    def visible_parties(self) -> list[PartyRecord]:
        return [p for p in self.parties if self.scope.sees(p.id)]

    def visible_grants(self) -> list[GrantRecord]:
        return [g for g in self.grants if self.scope.sees(g.party)]

    def findings(self, ctx: Ctx, day: date) -> list[Finding] | None:
        """The findings about the organisations in scope on ``day`` (None: no model to judge with)."""
        if self.model is None:
            return None
        found = group_findings(ctx.request.app.state, ctx.web, self.register, self.model, day)
        return [f for f in found if self.scope.sees(f.organisation)]

    def usage(self, ctx: Ctx, grants: list[GrantRecord]) -> dict[str, GrantUsage] | None:
        """Each grant's use from the store's events (None: the store holds no events)."""
        store = ctx.web.alerts.store
        return grant_usage(grants, store) if store.event_files() else None


_FINDINGS_LOCK = threading.Lock()
_FINDINGS_KEPT = 4


def group_findings(
    app_state: Any, web: WebState, register: Register, model: GroupModel, day: date
) -> list[Finding]:
    """Every finding of the group on ``day``, kept per app while nothing they are judged on changes: the
    register (every change of it is an audit entry: the chain's last number, the web's own sign-ins and
    queries aside) and the store's event files. Working them out builds the group graph from the store
    (seconds on a large store): once per change, not per page."""
    store = web.alerts.store
    key = _findings_key(register, web, day)
    with _FINDINGS_LOCK:
        kept: OrderedDict[Any, list[Finding]] | None = getattr(app_state, "govern_findings", None)
        if kept is None:
            kept = app_state.govern_findings = OrderedDict()
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    found = findings(register, model, store, as_of=day)
    with _FINDINGS_LOCK:
        kept[key] = found
        while len(kept) > _FINDINGS_KEPT:
            kept.popitem(last=False)
    return found


def _findings_key(register: Register, web: WebState, day: date) -> tuple[Any, ...]:
    with register.cases.engine.connect() as con:
        # sign-ins, sign-outs and SQL queries (web.*) change nothing findings are judged on
        head = con.execute(text("SELECT max(seq) FROM audit WHERE kind NOT LIKE 'web.%'")).scalar()
    return (head, day, hash(tuple(web.alerts.store.event_files())))


def kept_findings(app_state: Any, web: WebState, day: date) -> list[Finding] | None:
    """The group's findings on ``day`` if they are already worked out for the register and the store as
    they are now (by the warm-up at start or a contractors page), else None: for a page that must not
    wait for them, nor start work that holds the case database (the overview)."""
    if web.model is None:
        return None
    with Register(web.settings.database_url) as register:
        key = _findings_key(register, web, day)
    with _FINDINGS_LOCK:
        kept = getattr(app_state, "govern_findings", None)
        return cast("list[Finding]", kept[key]) if kept is not None and key in kept else None


@contextmanager
def reading(ctx: Ctx) -> Iterator[Reading]:
    """The register in the case database, read for the signed-in reader."""
    assert ctx.account is not None
    with Register(ctx.web.settings.database_url) as register:
        records = register.records()
        parties = [r for r in records["parties"] if isinstance(r, PartyRecord)]
        contracts = [r for r in records["contracts"] if isinstance(r, ContractRecord)]
        grants = [r for r in records["grants"] if isinstance(r, GrantRecord)]
        base = ctx.web.model
        known = {p.id for p in parties} | ({o.id for o in base.organisations} if base is not None else set())
        scope = Scope.of(ctx.account, known)
        model, problem = None, ""
        if base is not None:
            try:
                model = merge_register(base, register).model
            except RegisterError as exc:
                problem = str(exc)
        yield Reading(register, scope, parties, contracts, grants, model, problem)


def in_force(contract: ContractRecord, day: date) -> bool:
    return (
        contract.status is ContractStatus.active
        and contract.start <= day
        and (contract.end is None or contract.end >= day)
    )


def grant_expired(grant: GrantRecord, day: date) -> bool:
    return grant.expires is not None and grant.expires < day


def grant_unused(use: GrantUsage | None, day: date) -> bool:
    """Known from the events, and never used or not in the last :data:`UNUSED_DAYS` days."""
    if use is None or not use.known:
        return False
    return use.uses == 0 or (
        use.last_used is not None and use.last_used.date() < day - timedelta(UNUSED_DAYS)
    )


def _mfa(ctx: Ctx, use: GrantUsage | None) -> str:
    if use is None or not use.known or use.mfa_used is None:
        return ctx.t("ctr_unknown")
    return ctx.t("ctr_mfa_yes") if use.mfa_used else ctx.t("ctr_mfa_no")


def grant_row(
    ctx: Ctx, scope: Scope, grant: GrantRecord, use: GrantUsage | None, day: date
) -> dict[str, Any]:
    withheld = ctx.t("ctr_withheld")
    return scope.mask(
        {
            "id": grant.id,
            "party": grant.party,
            "subject": f"{grant.subject_kind}: {grant.subject}",
            "object": f"{grant.object_kind}: {grant.object}",
            "access": str(grant.access),
            "owner": grant.owner,
            "contract": grant.contract or "",
            "created": grant.created.isoformat(),
            "expires": grant.expires.isoformat() if grant.expires else "",
            "expired": grant_expired(grant, day),
            "uses": (use.uses if use.known else None) if use is not None else None,
            "last_used": use.last_used.strftime("%Y-%m-%d %H:%M") if use and use.last_used else "",
            "mfa": _mfa(ctx, use),
            "unused": grant_unused(use, day),
        },
        withheld,
    )


def contract_row(ctx: Ctx, scope: Scope, contract: ContractRecord, day: date) -> dict[str, Any]:
    return scope.mask(
        {
            "id": contract.id,
            "party": contract.party,
            "entrusting": contract.entrusting,
            "purpose": contract.purpose,
            "data": ", ".join([*contract.data_categories, *contract.data_items]),
            "people": contract.people,
            "period": f"{contract.start} – {contract.end or '…'}",
            "status": str(contract.status),
            "in_force": in_force(contract, day),
            "reentrustment_allowed": contract.reentrustment_allowed,
            "audit_rights": contract.audit_rights,
            "systems": ", ".join(contract.systems),
        },
        ctx.t("ctr_withheld"),
    )


def finding_row(ctx: Ctx, scope: Scope, found: Finding) -> dict[str, Any]:
    protected = found.evidence.get("people_protected")
    evidence = {k: v for k, v in found.evidence.items() if k != "people_protected"}
    return scope.mask(
        {
            "severity": str(found.severity),
            "kind": str(found.kind),
            "organisation": found.organisation,
            "subject": found.subject,
            "text": found.text.get(ctx.lang) or found.text.get("en", ""),
            "people": found.people,
            "by_category": dict(found.people_by_category),
            "protected": protected if isinstance(protected, int) else None,
            "evidence": {k: _plain(v) for k, v in evidence.items()},
        },
        ctx.t("ctr_withheld"),
    )


def supervision_row(record: PartySupervision) -> dict[str, Any]:
    """A party's assessments and audits as text (free text may name another party: it is masked)."""
    day = record.as_of
    return {
        "last_audit": str(record.last_audit or ""),
        "audit_due": record.audit_due,
        "assessments": [
            {
                "id": a.id,
                "title": a.title,
                "started": f"{a.started:%Y-%m-%d} ({a.started_by})",
                "conclusion": " ".join(str(x) for x in (a.conclusion, a.concluded) if x),
                "unanswered": len(a.unanswered),
            }
            for a in record.assessments
        ],
        "audits": [
            {
                "id": a.id,
                "day": str(a.day),
                "method": f"{a.method} ({a.auditor})",
                "summary": a.summary or "",
                "findings": [
                    {
                        "text": f"{f.id} {f.severity}: {f.text}",
                        "due": str(f.remediation_due),
                        "remediated": str(f.remediated_on or ""),
                        "overdue": f.overdue(day),
                    }
                    for f in a.findings
                ],
            }
            for a in record.audits
        ],
    }


def _plain(value: Any) -> str:
    """Evidence as one line of text (lists joined, mappings as key: value)."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "–" if value is None else str(value)
