"""Respond: cases opened from alerts, their scope, timeline, containment actions through connectors with
two-person approval, the principals who act, and the audit chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.respond.actions import CONNECTORS, Action, ActionKind, ConnectorError
    from sekimori.respond.audit import AuditReport, UTCDateTime
    from sekimori.respond.cases import CaseStore
    from sekimori.respond.dismissals import MAX_REASON as MAX_DISMISSAL_REASON
    from sekimori.respond.dismissals import AlertDismissals, Dismissal
    from sekimori.respond.families import RecordedTables
    from sekimori.respond.grouping import group_alerts
    from sekimori.respond.operations import (
        DryRun,
        OpenedCase,
        OpenedCases,
        PlanStep,
        case_record,
        case_timeline,
        containment_plan,
        dry_run,
        dry_run_plan,
        open_cases,
        scope_case,
        select_alerts,
        stored_scope,
    )
    from sekimori.respond.playbook import Proposal, propose_containment
    from sekimori.respond.principals import Principal, PrincipalError, os_principal, person_key
    from sekimori.respond.scope import Scope, Scoped, scope_from_alerts
    from sekimori.respond.tables import (
        ActionStatus,
        Case,
        CaseAlert,
        CaseError,
        CaseStatus,
        ContainmentAction,
        Entry,
        EntryKind,
        SamePersonError,
    )
    from sekimori.respond.timeline import (
        Timeline,
        build_timeline,
        containment_of,
        detection_of,
        timeline_of_case,
    )

__all__ = [
    "CONNECTORS",
    "MAX_DISMISSAL_REASON",
    "Action",
    "ActionKind",
    "ActionStatus",
    "AlertDismissals",
    "AuditReport",
    "Case",
    "CaseAlert",
    "CaseError",
    "CaseStatus",
    "CaseStore",
    "ConnectorError",
    "ContainmentAction",
    "Dismissal",
    "DryRun",
    "Entry",
    "EntryKind",
    "OpenedCase",
    "OpenedCases",
    "PlanStep",
    "Principal",
    "PrincipalError",
    "Proposal",
    "RecordedTables",
    "SamePersonError",
    "Scope",
    "Scoped",
    "Timeline",
    "UTCDateTime",
    "build_timeline",
    "case_record",
    "case_timeline",
    "containment_of",
    "containment_plan",
    "detection_of",
    "dry_run",
    "dry_run_plan",
    "group_alerts",
    "open_cases",
    "os_principal",
    "person_key",
    "propose_containment",
    "scope_case",
    "scope_from_alerts",
    "select_alerts",
    "stored_scope",
    "timeline_of_case",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "CONNECTORS": "sekimori.respond.actions",
    "Action": "sekimori.respond.actions",
    "ActionKind": "sekimori.respond.actions",
    "ConnectorError": "sekimori.respond.actions",
    "ActionStatus": "sekimori.respond.tables",
    "Case": "sekimori.respond.tables",
    "CaseAlert": "sekimori.respond.tables",
    "CaseError": "sekimori.respond.tables",
    "SamePersonError": "sekimori.respond.tables",
    "MAX_DISMISSAL_REASON": "sekimori.respond.dismissals:MAX_REASON",
    "CaseStatus": "sekimori.respond.tables",
    "ContainmentAction": "sekimori.respond.tables",
    "Entry": "sekimori.respond.tables",
    "EntryKind": "sekimori.respond.tables",
    "CaseStore": "sekimori.respond.cases",
    "AlertDismissals": "sekimori.respond.dismissals",
    "Dismissal": "sekimori.respond.dismissals",
    "RecordedTables": "sekimori.respond.families",
    "UTCDateTime": "sekimori.respond.audit",
    "AuditReport": "sekimori.respond.audit",
    "group_alerts": "sekimori.respond.grouping",
    "DryRun": "sekimori.respond.operations",
    "OpenedCase": "sekimori.respond.operations",
    "OpenedCases": "sekimori.respond.operations",
    "PlanStep": "sekimori.respond.operations",
    "case_record": "sekimori.respond.operations",
    "case_timeline": "sekimori.respond.operations",
    "containment_plan": "sekimori.respond.operations",
    "dry_run": "sekimori.respond.operations",
    "dry_run_plan": "sekimori.respond.operations",
    "open_cases": "sekimori.respond.operations",
    "scope_case": "sekimori.respond.operations",
    "select_alerts": "sekimori.respond.operations",
    "stored_scope": "sekimori.respond.operations",
    "Proposal": "sekimori.respond.playbook",
    "propose_containment": "sekimori.respond.playbook",
    "Principal": "sekimori.respond.principals",
    "PrincipalError": "sekimori.respond.principals",
    "os_principal": "sekimori.respond.principals",
    "person_key": "sekimori.respond.principals",
    "Scope": "sekimori.respond.scope",
    "Scoped": "sekimori.respond.scope",
    "scope_from_alerts": "sekimori.respond.scope",
    "Timeline": "sekimori.respond.timeline",
    "build_timeline": "sekimori.respond.timeline",
    "containment_of": "sekimori.respond.timeline",
    "detection_of": "sekimori.respond.timeline",
    "timeline_of_case": "sekimori.respond.timeline",
}


__getattr__ = lazy_exports(__name__, _LAZY)
