"""What a face (the command line, the web, the demo) asks of the respond stage, one function per step,
each returning a typed result: open cases from alerts, scope a case, its timeline, its containment plan
as a dry-run or as proposals stored for approval. The faces only authenticate, call and print."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sekimori.respond.actions import CONNECTORS, Action, ConnectorError
from sekimori.respond.cases import CaseStore
from sekimori.respond.grouping import group_alerts
from sekimori.respond.playbook import Proposal, propose_containment
from sekimori.respond.principals import Principal
from sekimori.respond.scope import Scope, scope_from_alerts
from sekimori.respond.tables import Case, CaseAlert, CaseError, ContainmentAction
from sekimori.respond.timeline import Timeline, timeline_of_case

if TYPE_CHECKING:
    from sekimori.detect import Alert
    from sekimori.model import GroupModel
    from sekimori.store import Store


# -- opening cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedCase:
    case: Case
    added: int  # alerts added to it by this call

    @property
    def new(self) -> bool:
        """Opened by this call (all its alerts were added now), not joined."""
        return self.added == len(self.case.alerts)

    def to_dict(self) -> dict[str, Any]:
        case = self.case
        return {
            "id": case.id,
            "title": case.title,
            "alerts": len(case.alerts),
            "added": self.added,
            "new": self.new,
        }


@dataclass(frozen=True)
class OpenedCases:
    cases: list[OpenedCase]
    already: int = 0  # alerts given that were already in a case (not opened again)
    already_in: list[str] = field(default_factory=list)  # those cases' ids


def select_alerts(alerts: Iterable[Alert], ids: Iterable[str]) -> list[Alert]:
    """The alerts of ``ids``, in the order given by ``alerts``; CaseError naming any id not there."""
    wanted = set(ids)
    chosen = [a for a in alerts if a.alert_id in wanted]
    missing = wanted - {a.alert_id for a in chosen}
    if missing:
        raise CaseError(f"unknown alert id(s): {', '.join(sorted(missing))}")
    return chosen


def open_cases(
    cases: CaseStore,
    alerts: Sequence[Alert],
    actor: Principal,
    title: str | None = None,
    new: bool = False,
    one_case: bool = False,
) -> OpenedCases:
    """One case per group of ``alerts`` sharing accounts, hosts or organisations close in time (or one
    case for them all: ``one_case``). Alerts already in a case are not opened again: a group's new
    alerts join the case its other alerts are in (``new``: open new cases regardless)."""
    groups = [list(alerts)] if one_case else group_alerts(alerts)
    done: list[OpenedCase] = []
    cased = {} if new else cases.cases_of_alerts(a.alert_id for a in alerts)
    for group in groups:
        fresh = [a for a in group if a.alert_id not in cased]
        if not fresh:
            continue
        joined = sorted({cased[a.alert_id] for a in group if a.alert_id in cased})
        if joined:
            cases.add_alerts(joined[0], fresh, actor)
            done.append(OpenedCase(cases.get(joined[0]), len(fresh)))
        else:
            name = title or f"{group[0].title} ({len(group)} alerts)"
            case = cases.open_case(name, group, actor)
            done.append(OpenedCase(case, len(case.alerts)))
    already = len({a.alert_id for a in alerts} & set(cased))
    return OpenedCases(done, already, sorted(set(cased.values())))


# -- scope and timeline ---------------------------------------------------------------------------------


def scope_case(
    cases: CaseStore,
    case_id: str,
    store: Store,
    alerts: Sequence[Alert],
    model: GroupModel | None,
    actor: Principal,
) -> Scope:
    """The scope of the case's ``alerts`` followed through ``store``, kept in the case."""
    scope = scope_from_alerts(store, alerts, model)
    cases.set_scope(case_id, scope, actor)
    return scope


def stored_scope(case: Case) -> Scope | None:
    """The scope kept in the case (:func:`scope_case`), or None when it has none yet."""
    return Scope.from_dict(case.scope) if case.scope else None


def case_timeline(cases: CaseStore, case_id: str) -> Timeline:
    """The case's timeline, with its containment actions (definitions: :mod:`sekimori.respond.timeline`)."""
    return timeline_of_case(cases.get(case_id), cases.actions(case_id))


def _alert_record(alert: CaseAlert) -> dict[str, Any]:
    names = ("alert_id", "rule_id", "title", "level", "time", "host", "account")
    return {name: getattr(alert, name) for name in names}


def case_record(case: Case, actions: Sequence[ContainmentAction]) -> dict[str, Any]:
    """A case with its alerts, entries, actions and scope as plain data (the JSON of ``case show``)."""
    return {
        "id": case.id,
        "title": case.title,
        "status": case.status,
        "created": case.created,
        "opened_by": case.opened_by,
        "detected": case.detected,
        "judged": case.judged,
        "contained": case.contained,
        "notified": case.notified,
        "alerts": [_alert_record(a) for a in case.alerts],
        "entries": [{"kind": e.kind, "time": e.time, "actor": e.actor, "text": e.text} for e in case.entries],
        "actions": [
            {
                "id": a.id,
                "kind": a.kind,
                "target": a.target,
                "status": a.status,
                "connector": a.connector,
                "requested_by": a.requested_by,
                "approved_by": a.approved_by,
            }
            for a in actions
        ],
        "scope": case.scope,
    }


# -- containment plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """The exact changes a connector would make (nothing changed), or why they cannot be shown."""

    changes: list[str]
    reversible: bool | None = None
    note: str | None = None  # why there are no changes: the connector is down or not configured

    def to_dict(self) -> dict[str, Any]:
        if self.note is not None:
            return {"changes": self.changes, "note": self.note}
        return {"changes": self.changes, "reversible": self.reversible}


def dry_run(proposal: Proposal) -> DryRun:
    """The exact changes the connector would make, or why they cannot be shown."""
    try:
        connector = CONNECTORS.get(proposal.connector)()
        plan = connector.plan(proposal.action)
    except ConnectorError as exc:  # its message names the connector
        return DryRun([], note=str(exc))
    except Exception as exc:  # a connector without its settings cannot look the target up
        return DryRun([], note=f"{proposal.connector} not configured ({type(exc).__name__}: {exc})")
    return DryRun(plan.changes, plan.reversible)


@dataclass(frozen=True)
class PlanStep:
    """One step of a containment plan: the action and its connector, with either its dry-run or, once
    proposed for approval, the stored action (its id, status and planned changes) or why it was not."""

    action: Action
    connector: str
    dry_run: DryRun | None = None
    proposed: ContainmentAction | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"action": self.action.to_dict(), "connector": self.connector}
        if self.proposed is not None:
            row |= {"id": self.proposed.id, "status": self.proposed.status, "changes": self.proposed.changes}
        if self.error is not None:
            row["error"] = self.error
        if self.dry_run is not None:
            row |= self.dry_run.to_dict()
        return row


def dry_run_plan(scope: Scope, model: GroupModel | None = None) -> list[PlanStep]:
    """The containment steps for ``scope``, each with its dry-run: nothing is changed or stored."""
    return [PlanStep(p.action, p.connector, dry_run=dry_run(p)) for p in propose_containment(scope, model)]


def containment_plan(
    cases: CaseStore, case_id: str, model: GroupModel | None = None, propose_as: Principal | None = None
) -> list[PlanStep]:
    """The containment plan from the case's scope, as dry-runs; with ``propose_as`` each step is stored
    for approval (proposed by that principal) instead. CaseError when the case has no scope yet."""
    case = cases.get(case_id)
    scope = stored_scope(case)
    if scope is None:
        raise CaseError(f"{case.id} has no scope yet: run `sekimori case scope {case.id} --store …` first")
    if propose_as is None:
        return dry_run_plan(scope, model)
    steps = []
    for p in propose_containment(scope, model):
        try:
            stored = cases.propose(case_id, p.action, p.connector, propose_as)
            steps.append(PlanStep(p.action, p.connector, proposed=stored))
        except CaseError as exc:
            steps.append(PlanStep(p.action, p.connector, error=str(exc)))
    return steps
