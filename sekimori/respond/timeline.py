"""A case's timeline (時系列): alerts, the scope's hops, the analysts' entries and the containment steps
in one time order, with the milestones and the two figures a report needs: dwell time (first malicious
activity → detection) and time to contain (detection → the last containment step).

It works on plain rows (alerts as in ALERT_SCHEMA, entries and actions as the case store gives them),
so it can be built from any case store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sekimori.respond.scope import Scope

MILESTONE_KINDS = ("detection", "judgment", "containment", "notification")


@dataclass(frozen=True)
class TimelineItem:
    time: datetime
    kind: str  # alert | scope | detection | judgment | containment | notification | note | decision | …
    text: str
    source: str  # alert | scope | analyst | action
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


@dataclass
class Timeline:
    items: list[TimelineItem]
    first_activity: datetime | None
    detected: datetime | None
    judged: datetime | None
    contained: datetime | None
    notified: datetime | None
    missing: list[str] = field(default_factory=list)  # milestones not recorded yet

    @property
    def dwell_time(self) -> timedelta | None:
        if self.first_activity is None or self.detected is None:
            return None
        return self.detected - self.first_activity

    @property
    def time_to_contain(self) -> timedelta | None:
        if self.detected is None or self.contained is None:
            return None
        return self.contained - self.detected

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        def seconds(d: timedelta | None) -> float | None:
            return d.total_seconds() if d is not None else None

        return {
            "first_activity": iso(self.first_activity),
            "detected": iso(self.detected),
            "judged": iso(self.judged),
            "contained": iso(self.contained),
            "notified": iso(self.notified),
            "dwell_time_seconds": seconds(self.dwell_time),
            "time_to_contain_seconds": seconds(self.time_to_contain),
            "missing": self.missing,
            "items": [i.to_dict() for i in self.items],
        }


def build_timeline(
    alerts: Iterable[dict[str, Any]],
    entries: Iterable[dict[str, Any]] = (),
    actions: Iterable[dict[str, Any]] = (),
    scope: Scope | None = None,
    detected: datetime | None = None,
) -> Timeline:
    """The timeline of a case. ``entries``: {time, kind, text, actor}; ``actions``: containment actions
    {id, kind, target, status, executed_at | verified_at | updated, requested_by}; ``detected``: when the
    organisation detected the incident, if not in an entry of kind 'detection'."""
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
        if status in ("executed", "verified"):
            milestones["containment"].append(when)
    items.sort(key=lambda i: (i.time, i.kind))
    starts = [a["time"] for a in alert_rows]
    if scope is not None and scope.first_activity is not None:
        starts.append(scope.first_activity)
    first = min(starts) if starts else None
    detection = min(milestones["detection"], default=None) or detected
    if detection is not None and not milestones["detection"]:
        items.append(TimelineItem(detection, "detection", "detected: the case was opened", "analyst"))
        items.sort(key=lambda i: (i.time, i.kind))
    timeline = Timeline(
        items=items,
        first_activity=first,
        detected=detection,
        judged=min(milestones["judgment"], default=None),
        contained=max(milestones["containment"], default=None),
        notified=min(milestones["notification"], default=None),
    )
    names = {
        "detected": "detection",
        "judged": "judgment",
        "contained": "containment",
        "notified": "notification",
    }
    timeline.missing = [entry for attr, entry in names.items() if getattr(timeline, attr) is None]
    return timeline
