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

It reads only the few fields it needs of alerts, entries and actions (the protocols below), so it can
be built from detected alerts or any case store; :func:`timeline_of_case` reads them from a stored case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sekimori.respond.scope import Scope

if TYPE_CHECKING:
    from sekimori.respond.tables import Case, ContainmentAction

MILESTONE_KINDS = ("detection", "judgment", "containment", "notification")
DETECTED_BY_MILESTONE = "milestone"
DETECTED_BY_FIRST_ALERT = "first alert"
CONTAINED_BY_MILESTONE = "milestone"
CONTAINED_BY_ACTION = "action"


class AlertOnTimeline(Protocol):
    """What the timeline reads of an alert (:class:`sekimori.detect.Alert`, a case's alert)."""

    @property
    def alert_id(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def level(self) -> str | None: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def account(self) -> str | None: ...


class EntryOnTimeline(Protocol):
    """What the timeline reads of an analyst's entry (a case's entry)."""

    @property
    def time(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def actor(self) -> str: ...


class ActionOnTimeline(Protocol):
    """What the timeline reads of a containment action (a case's action)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def executed_at(self) -> datetime | None: ...
    @property
    def verified_at(self) -> datetime | None: ...
    @property
    def requested_by(self) -> str: ...


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


def duration_text(span: timedelta | None, unknown: str | None = None) -> str:
    """A span in words (``3 d 4 h``, ``2 h 5 min``, ``40 s``), or ``unknown`` (why it is not known)."""
    if span is None:
        return unknown or "not recorded"
    days, rest = divmod(int(span.total_seconds()), 86400)
    if days:
        return f"{days} d {rest // 3600} h"
    if rest < 60:
        return f"{rest} s"
    return f"{rest // 3600} h {rest % 3600 // 60} min"


@dataclass(frozen=True)
class TimelineFigures:
    """A timeline's spans in words, each saying why it is unknown where it is."""

    dwell_time: str
    time_to_contain: str
    time_to_triage: str | None  # None when the case's opening is not known


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

    def figures(self) -> TimelineFigures:
        """The spans in words: a figure left unknown says whether the data puts the milestones in the
        wrong order or a milestone is not recorded."""
        known = self.detected is not None and self.first_activity is not None
        dwell = duration_text(
            self.dwell_time, "detection precedes the first activity in the data" if known else None
        )
        if self.contained is None:
            contain = "not contained yet"
        elif self.detected is None:
            contain = "detection not recorded"
        else:
            contain = duration_text(self.time_to_contain, "containment precedes detection in the data")
        triage = None
        if self.opened is not None:
            early = "opened before the detection" if self.detected is not None else None
            triage = duration_text(self.time_to_triage, early)
        return TimelineFigures(dwell, contain, triage)

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
    alerts: Iterable[AlertOnTimeline],
    entries: Iterable[EntryOnTimeline] = (),
    actions: Iterable[ActionOnTimeline] = (),
    scope: Scope | None = None,
    detected: datetime | None = None,
    contained: datetime | None = None,
    opened: datetime | None = None,
    first_activity: datetime | None = None,
) -> Timeline:
    """The timeline of a case. ``alerts``: :class:`sekimori.detect.Alert` or a case's alerts (those
    without a time are left out); ``entries``: the case's entries; ``actions``: its containment actions;
    ``detected`` and ``contained``: those milestones as recorded on the case (they win over the entries
    of kind detection and containment); ``opened``: when the case was opened; ``first_activity``: as
    recorded on the case (e.g. from the forensics), if earlier than the alerts. See the module's
    definitions."""
    items: list[TimelineItem] = []
    alert_rows = [(a.time, a) for a in alerts if a.time is not None]
    for time, a in alert_rows:
        who = " ".join(x for x in (a.account or "", f"on {a.host}" if a.host else "") if x)
        items.append(
            TimelineItem(time, "alert", f"{a.level}: {a.title} {who}".strip(), "alert", ref=a.alert_id)
        )
    if scope is not None:
        for group in (scope.hosts, scope.accounts, scope.data_stores):
            for s in group:
                if s.hop > 0:
                    items.append(TimelineItem(s.since, "scope", s.via, "scope"))
    milestones: dict[str, list[datetime]] = {k: [] for k in MILESTONE_KINDS}
    for e in entries:
        kind = e.kind or "note"
        items.append(TimelineItem(e.time, kind, e.text or "", "analyst", actor=e.actor))
        if kind in milestones:
            milestones[kind].append(e.time)
    verified: list[datetime] = []
    for act in actions:
        when = act.verified_at or act.executed_at
        if when is None:
            continue
        items.append(
            TimelineItem(
                when,
                "containment" if act.status in ("executed", "verified") else "action",
                f"{act.kind} {act.target}: {act.status}",
                "action",
                actor=act.requested_by,
                ref=str(act.id),
            )
        )
        if act.status == "verified" and act.verified_at is not None:
            verified.append(act.verified_at)

    starts = [time for time, _ in alert_rows]
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
        detection, earliest = min(alert_rows, key=lambda pair: pair[0])
        detected_source = DETECTED_BY_FIRST_ALERT
        items.append(
            TimelineItem(
                detection,
                "detection",
                f"detected: the case's first alert ({earliest.title})",
                "alert",
                ref=earliest.alert_id,
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


def recorded_detection(case: Case) -> datetime | None:
    """The ``detected`` milestone recorded on a case (:class:`sekimori.respond.cases.Case`), or None.

    Opening a case fills its ``detected`` column with the opening time; that is not a detection. The
    column counts when it differs from the opening (set by ``set_milestone`` or an earlier detection
    entry); otherwise the earliest entry of kind detection, if any."""
    if case.detected is not None and case.detected != case.created:
        return case.detected
    return min((e.time for e in case.entries if e.kind == "detection"), default=None)


def recorded_containment(case: Case) -> datetime | None:
    """The ``contained`` milestone recorded on a case, or None (then the first verified action counts)."""
    if case.contained is not None:
        return case.contained
    return min((e.time for e in case.entries if e.kind == "containment"), default=None)


def detection_of(case: Case) -> tuple[datetime | None, str | None]:
    """When a case's activity was detected, and the source: the recorded milestone, else its first
    alert."""
    recorded = recorded_detection(case)
    if recorded is not None:
        return recorded, DETECTED_BY_MILESTONE
    times = [a.time for a in case.alerts if a.time is not None]
    return (min(times), DETECTED_BY_FIRST_ALERT) if times else (None, None)


def containment_of(
    case: Case, actions: Iterable[ContainmentAction] = ()
) -> tuple[datetime | None, str | None]:
    """When a case was contained, and the source: the recorded milestone, else the first containment
    action verified (and not rolled back since); (None, None) when not contained yet."""
    recorded = recorded_containment(case)
    if recorded is not None:
        return recorded, CONTAINED_BY_MILESTONE
    times = [a.verified_at for a in actions if a.status == "verified" and a.verified_at is not None]
    return (min(times), CONTAINED_BY_ACTION) if times else (None, None)


def timeline_of_case(case: Case, actions: Iterable[ContainmentAction] = ()) -> Timeline:
    """The timeline of a stored case (:class:`sekimori.respond.cases.Case`) and its containment actions
    (:meth:`CaseStore.actions`)."""
    scope = Scope.from_dict(case.scope) if case.scope else None
    return build_timeline(
        case.alerts,
        case.entries,
        actions,
        scope,
        detected=recorded_detection(case),
        contained=recorded_containment(case),
        opened=case.created,
        first_activity=case.first_activity,
    )
