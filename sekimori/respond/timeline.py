"""A case's timeline (時系列): alerts, the scope's hops, the analysts' entries and the containment steps
in one time order, with the milestones and the figures a report needs.

The definitions (the same for the command line, its JSON, the demo and the report facts):

- **first malicious activity**: the earliest of the case's alerts, of its scope's compromises and of a
  ``first_activity`` recorded on the case (an alert's time is the time of the event it fired on);
- **detection**: a ``detected`` milestone recorded on the case (:meth:`CaseStore.set_milestone`, or an
  entry of kind ``detection``), else the time of the case's earliest alert: the earliest moment the
  detection existed for these logs. Never the case's opening, which for historical logs ingested later
  says nothing about the attacker; the opening is a milestone of its own;
- **containment**: a ``contained`` milestone recorded on the case (the status set to contained, an entry
  of kind ``containment``, :meth:`CaseStore.set_milestone`), else the first containment action executed
  and verified (and not rolled back) for the case; unknown otherwise ("not contained yet");
- **dwell time** = first malicious activity → detection; **time to contain** = detection → containment;
  **time to triage** = detection → the case's opening.

Each source is named (``detected_source``: milestone | first alert; ``contained_source``: milestone |
action). A figure is never negative: when the data puts the later milestone first, the figure is left
unknown and :attr:`Timeline.notes` says which milestone precedes which.

It works on plain rows (alerts as in ALERT_SCHEMA, entries and actions as the case store gives them),
so it can be built from any case store; :func:`timeline_of_case` reads them from a stored case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sekimori.respond.scope import Scope

MILESTONE_KINDS = ("detection", "judgment", "containment", "notification")
DETECTED_BY_MILESTONE = "milestone"
DETECTED_BY_FIRST_ALERT = "first alert"
CONTAINED_BY_MILESTONE = "milestone"
CONTAINED_BY_ACTION = "action"


@dataclass(frozen=True)
class TimelineItem:
    time: datetime
    kind: str  # alert | scope | detection | opened | judgment | containment | notification | note | …
    text: str
    source: str  # alert | scope | analyst | action | case
    actor: str | None = None
    ref: str | None = None  # alert id, action id, …

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "kind": self.kind,
            "text": self.text,
            "source": self.source,
            "actor": self.actor,
            "ref": self.ref,
        }


def _span(start: datetime | None, end: datetime | None) -> timedelta | None:
    """``end - start``, or None when either is unknown or the span would be negative."""
    if start is None or end is None or end < start:
        return None
    return end - start


@dataclass
class Timeline:
    items: list[TimelineItem]
    first_activity: datetime | None
    detected: datetime | None
    judged: datetime | None
    contained: datetime | None
    notified: datetime | None
    missing: list[str] = field(default_factory=list)  # milestones not recorded yet
    detected_source: str | None = None  # milestone | first alert
    contained_source: str | None = None  # milestone | action
    opened: datetime | None = None  # the case's opening (time to triage)
    notes: list[str] = field(default_factory=list)  # milestones out of order in the data

    @property
    def dwell_time(self) -> timedelta | None:
        """First malicious activity → detection."""
        return _span(self.first_activity, self.detected)

    @property
    def time_to_contain(self) -> timedelta | None:
        """Detection → containment."""
        return _span(self.detected, self.contained)

    @property
    def time_to_triage(self) -> timedelta | None:
        """Detection → the case's opening."""
        return _span(self.detected, self.opened)

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        def seconds(d: timedelta | None) -> float | None:
            return d.total_seconds() if d is not None else None

        return {
            "first_activity": iso(self.first_activity),
            "detected": iso(self.detected),
            "detected_source": self.detected_source,
            "opened": iso(self.opened),
            "judged": iso(self.judged),
            "contained": iso(self.contained),
            "contained_source": self.contained_source,
            "notified": iso(self.notified),
            "dwell_time_seconds": seconds(self.dwell_time),
            "time_to_contain_seconds": seconds(self.time_to_contain),
            "time_to_triage_seconds": seconds(self.time_to_triage),
            "missing": self.missing,
            "notes": self.notes,
            "items": [i.to_dict() for i in self.items],
        }


def _order(
    notes: list[str], earlier: tuple[str, datetime | None], later: tuple[str, datetime | None]
) -> None:
    (first_name, first), (then_name, then) = earlier, later
    if first is not None and then is not None and then < first:
        notes.append(
            f"{then_name} ({then:%Y-%m-%d %H:%M:%S}Z) precedes {first_name} ({first:%Y-%m-%d %H:%M:%S}Z) "
            "in the data"
        )


def build_timeline(
    alerts: Iterable[dict[str, Any]],
    entries: Iterable[dict[str, Any]] = (),
    actions: Iterable[dict[str, Any]] = (),
    scope: Scope | None = None,
    detected: datetime | None = None,
    contained: datetime | None = None,
    opened: datetime | None = None,
    first_activity: datetime | None = None,
) -> Timeline:
    """The timeline of a case. ``entries``: {time, kind, text, actor}; ``actions``: containment actions
    {id, kind, target, status, executed_at | verified_at | updated, requested_by}; ``detected`` and
    ``contained``: those milestones as recorded on the case (they win over the entries of kind detection
    and containment); ``opened``: when the case was opened; ``first_activity``: as recorded on the case
    (e.g. from the forensics), if earlier than the alerts. See the module's definitions."""
    items: list[TimelineItem] = []
    alert_rows = list(alerts)
    for a in alert_rows:
        who = " ".join(x for x in (a.get("account") or "", f"on {a['host']}" if a.get("host") else "") if x)
        items.append(
            TimelineItem(
                a["time"],
                "alert",
                f"{a.get('level', '')}: {a.get('title')} {who}".strip(),
                "alert",
                ref=a.get("alert_id"),
            )
        )
    if scope is not None:
        for group in (scope.hosts, scope.accounts, scope.data_stores):
            for s in group:
                if s.hop > 0:
                    items.append(TimelineItem(s.since, "scope", s.via, "scope"))
    milestones: dict[str, list[datetime]] = {k: [] for k in MILESTONE_KINDS}
    for e in entries:
        kind = e.get("kind") or "note"
        items.append(TimelineItem(e["time"], kind, e.get("text") or "", "analyst", actor=e.get("actor")))
        if kind in milestones:
            milestones[kind].append(e["time"])
    verified: list[datetime] = []
    for act in actions:
        status = act.get("status")
        when = act.get("verified_at") or act.get("executed_at") or act.get("updated")
        if when is None:
            continue
        text = f"{act.get('kind')} {act.get('target')}: {status}"
        items.append(
            TimelineItem(
                when,
                "containment" if status in ("executed", "verified") else "action",
                text,
                "action",
                actor=act.get("requested_by"),
                ref=str(act.get("id")),
            )
        )
        if status == "verified" and act.get("verified_at") is not None:
            verified.append(act["verified_at"])

    starts = [a["time"] for a in alert_rows]
    if scope is not None and scope.first_activity is not None:
        starts.append(scope.first_activity)
    if first_activity is not None:
        starts.append(first_activity)
    first = min(starts) if starts else None

    detection, detected_source = detected or min(milestones["detection"], default=None), None
    if detection is not None:
        detected_source = DETECTED_BY_MILESTONE
        if detection not in milestones["detection"]:
            items.append(TimelineItem(detection, "detection", "detected (milestone of the case)", "case"))
    elif alert_rows:
        earliest = min(alert_rows, key=lambda a: a["time"])
        detection, detected_source = earliest["time"], DETECTED_BY_FIRST_ALERT
        items.append(
            TimelineItem(
                detection,
                "detection",
                f"detected: the case's first alert ({earliest.get('title')})",
                "alert",
                ref=earliest.get("alert_id"),
            )
        )
    containment, contained_source = contained or min(milestones["containment"], default=None), None
    if containment is not None:
        contained_source = CONTAINED_BY_MILESTONE
        if containment not in milestones["containment"]:
            text = "contained (milestone of the case)"
            items.append(TimelineItem(containment, "containment", text, "case"))
    elif verified:
        containment, contained_source = min(verified), CONTAINED_BY_ACTION
    if opened is not None:
        items.append(TimelineItem(opened, "opened", "case opened", "case"))
    items.sort(key=lambda i: (i.time, i.kind))

    notes: list[str] = []
    _order(notes, ("the first malicious activity", first), ("detection", detection))
    _order(notes, ("detection", detection), ("containment", containment))
    _order(notes, ("detection", detection), ("the case's opening", opened))
    timeline = Timeline(
        items=items,
        first_activity=first,
        detected=detection,
        judged=min(milestones["judgment"], default=None),
        contained=containment,
        notified=min(milestones["notification"], default=None),
        detected_source=detected_source,
        contained_source=contained_source,
        opened=opened,
        notes=notes,
    )
    names = {
        "detected": "detection",
        "judged": "judgment",
        "contained": "containment",
        "notified": "notification",
    }
    timeline.missing = [entry for attr, entry in names.items() if getattr(timeline, attr) is None]
    return timeline


# -- from a stored case ---------------------------------------------------------------------------------


def recorded_detection(case: Any) -> datetime | None:
    """The ``detected`` milestone recorded on a case (:class:`sekimori.respond.cases.Case`), or None.

    Opening a case fills its ``detected`` column with the opening time; that is not a detection. The
    column counts when it differs from the opening (set by ``set_milestone`` or an earlier detection
    entry); otherwise the earliest entry of kind detection, if any."""
    if case.detected is not None and case.detected != case.created:
        return case.detected
    return min((e.time for e in case.entries if e.kind == "detection"), default=None)


def recorded_containment(case: Any) -> datetime | None:
    """The ``contained`` milestone recorded on a case, or None (then the first verified action counts)."""
    if case.contained is not None:
        return case.contained
    return min((e.time for e in case.entries if e.kind == "containment"), default=None)


def detection_of(case: Any) -> tuple[datetime | None, str | None]:
    """When a case's activity was detected, and the source: the recorded milestone, else its first
    alert."""
    recorded = recorded_detection(case)
    if recorded is not None:
        return recorded, DETECTED_BY_MILESTONE
    times = [a.time for a in case.alerts if a.time is not None]
    return (min(times), DETECTED_BY_FIRST_ALERT) if times else (None, None)


def containment_of(case: Any, actions: Iterable[Any] = ()) -> tuple[datetime | None, str | None]:
    """When a case was contained, and the source: the recorded milestone, else the first containment
    action verified (and not rolled back since); (None, None) when not contained yet."""
    recorded = recorded_containment(case)
    if recorded is not None:
        return recorded, CONTAINED_BY_MILESTONE
    times = [a.verified_at for a in actions if a.status == "verified" and a.verified_at is not None]
    return (min(times), CONTAINED_BY_ACTION) if times else (None, None)


def timeline_of_case(case: Any, actions: Iterable[Any] = ()) -> Timeline:
    """The timeline of a stored case (:class:`sekimori.respond.cases.Case`) and its containment actions
    (:meth:`CaseStore.actions`)."""
    names = ("alert_id", "rule_id", "title", "level", "time", "host", "account")
    alerts = [{n: getattr(a, n) for n in names} for a in case.alerts if a.time is not None]
    entries = [{"time": e.time, "kind": e.kind, "text": e.text, "actor": e.actor} for e in case.entries]
    rows = [
        {
            "id": a.id,
            "kind": a.kind,
            "target": a.target,
            "status": a.status,
            "verified_at": a.verified_at,
            "executed_at": a.executed_at,
            "requested_by": a.requested_by,
        }
        for a in actions
    ]
    scope = Scope.from_dict(case.scope) if case.scope else None
    return build_timeline(
        alerts,
        entries,
        rows,
        scope,
        detected=recorded_detection(case),
        contained=recorded_containment(case),
        opened=case.created,
        first_activity=case.first_activity,
    )
