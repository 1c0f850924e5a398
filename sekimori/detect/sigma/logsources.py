"""The Windows events a Sigma rule runs on, as pySigma's own Windows pipelines define them.

A rule of a generic category is written in Sysmon's field names. pySigma's Sysmon pipeline maps the
category to Sysmon's event (``process_creation`` → Sysmon 1, ``registry_set`` → 13, …). The same activity
logged by Windows itself is mapped by ``windows_audit_pipeline`` (pySigma-pipeline-windows): ``process_
creation`` → Security 4688 (``Image`` → ``NewProcessName``, ``ParentImage`` → ``ParentProcessName``),
``registry_event``/``registry_set``/``registry_add`` → Security 4657 with its ``OperationType``
(``Image`` → ``ProcessName``, ``TargetObject`` → ``ObjectName``, ``Details`` → ``NewValue``; a rule on
``EventType``, ``NewName`` or ``User`` has no 4657 reading). ``ps_module``/``ps_script``/
``ps_classic_*`` are mapped to the PowerShell channels by ``windows_logsource_pipeline`` itself.

A Windows rule of the audit categories therefore has two readings: the Sysmon one (the rule as
compiled by ``rules.py``) and the *audit variant* made here: the rule after
``windows_audit_pipeline`` + ``windows_logsource_pipeline``, with the pipelines' ``Channel``/``EventID``
conditions taken out as its log source filter (evaluated once per group by the engine) and any other
added condition (``OperationType``) kept in its detection.

Rules of Zeek, and of the generic ``dns``, ``proxy``, ``webserver``, ``firewall`` and ``accounting``
categories, have a *Zeek variant* (:func:`zeek_variant`): the rule after pySigma's ``zeek_raw`` pipeline
(pySigma-backend-elasticsearch), which maps the category to Zeek's log (``proxy`` → ``http``) and the
fields to Zeek's names, its ``@stream`` condition taken out as the Zeek log to run on.
"""

from __future__ import annotations

import copy
import re
from typing import cast

from sigma.pipelines.elasticsearch.zeek import ecs_zeek_beats_category_service_mapping, zeek_raw
from sigma.pipelines.windows.windows import (
    generic_logsource_to_windows_audit_event_mapping,
    windows_audit_pipeline,
    windows_logsource_pipeline,
)
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from sekimori.detect.sigma.ruleset import WINDOWS, LogsourceFilter

# Categories windows_audit_pipeline maps to a built-in audit event (process_creation, registry_*).
# (The package annotates the mapping as ``ast.Dict``, by mistake: hence the cast.)
AUDIT_CATEGORIES = frozenset(cast("dict[str, object]", generic_logsource_to_windows_audit_event_mapping))
FILTER_FIELDS = frozenset({"EventID", "Channel", "Provider_Name"})
ZEEK = "zeek"
ZEEK_CATEGORIES = frozenset(ecs_zeek_beats_category_service_mapping)
ZEEK_STREAM = "@stream"
# Event 4657's OperationType as the raw record holds it: the message-table references that the
# pipeline's texts are the rendering of (%%1904 "New registry value created", %%1905 "Existing
# registry value modified"). The evtx crate, like the EVTX file, keeps the reference.
OPERATION_TYPE_CODES = {
    "New registry value created": "%%1904",
    "Existing registry value modified": "%%1905",
}


def has_audit_variant(rule: SigmaRule) -> bool:
    return rule.logsource.product == WINDOWS and rule.logsource.category in AUDIT_CATEGORIES


def has_zeek_variant(rule: SigmaRule) -> bool:
    ls = rule.logsource
    return ls.product == ZEEK or (ls.product is None and ls.category in ZEEK_CATEGORIES)


def zeek_variant(rule: SigmaRule) -> tuple[SigmaRule, str]:
    """The rule as ``zeek_raw`` reads it, and the Zeek log (``dns``, ``http``…) it runs on."""
    variant = copy.deepcopy(rule)
    zeek_raw().apply(variant)
    flt = dict(_take_filter(variant, frozenset({ZEEK_STREAM})))
    streams = flt.get(ZEEK_STREAM) or ((variant.logsource.service,) if variant.logsource.service else ())
    if len(streams) != 1:
        raise ValueError("the rule names no single Zeek log")
    return variant, streams[0]


def audit_pipeline() -> ProcessingPipeline:
    """pySigma's Windows audit pipeline, then its log source pipeline (service security → Channel)."""
    pipeline: ProcessingPipeline = windows_audit_pipeline() + windows_logsource_pipeline()
    return pipeline


def _with_operation_codes(pipeline: ProcessingPipeline) -> ProcessingPipeline:
    """The (fresh) pipeline with each ``OperationType`` text also accepting its ``%%`` reference."""
    for item in pipeline.items:
        t = item.transformation
        if isinstance(t, AddConditionTransformation) and "OperationType" in t.conditions:
            texts = t.conditions["OperationType"]
            texts = texts if isinstance(texts, list) else [str(texts)]
            codes = [OPERATION_TYPE_CODES[x] for x in texts if x in OPERATION_TYPE_CODES]
            t.conditions = {**t.conditions, "OperationType": [*texts, *codes]}
    return pipeline


def audit_variant(rule: SigmaRule) -> tuple[SigmaRule, LogsourceFilter]:
    """The rule as the audit pipelines read it, and its log source filter.

    ``rule`` is not changed (the pipelines work in place, on a copy). Raises what the pipelines raise
    for a rule without an audit reading (fields 4657 does not have).
    """
    variant = copy.deepcopy(rule)
    _with_operation_codes(audit_pipeline()).apply(variant)
    return variant, _take_filter(variant)


def _take_filter(rule: SigmaRule, fields: frozenset[str] = FILTER_FIELDS) -> LogsourceFilter:
    """Move the pipelines' conditions on ``fields`` (Channel/EventID) out of the detection into a filter."""
    conds: dict[str, set[str]] = {}
    detections = rule.detection.detections
    removed: set[str] = set()
    for name in [n for n in detections if n.startswith("_cond_")]:
        det = detections[name]
        kept: list[SigmaDetectionItem | SigmaDetection] = []
        for item in det.detection_items:
            if isinstance(item, SigmaDetectionItem) and item.field in fields:
                conds.setdefault(item.field, set()).update(str(v) for v in item.value)
            else:
                kept.append(item)
        if kept:
            det.detection_items = kept
        else:
            del detections[name]
            removed.add(name)
    for cond in rule.detection.parsed_condition:
        cond.condition = _unwrap(cond.condition, removed)
    return tuple(sorted((k, tuple(sorted(v))) for k, v in conds.items()))


def _unwrap(condition: str, removed: set[str]) -> str:
    """``_cond_b and (_cond_a and (sel))`` (as AddConditionTransformation nests them) without the
    ``removed`` ones."""
    wrappers: list[str] = []
    while (m := re.match(r"(_cond_[a-z]+) and \(", condition)) and condition.endswith(")"):
        wrappers.append(m.group(1))
        condition = condition[m.end() : -1]
    if not condition or condition in removed:
        raise ValueError("the rule has no detection of its own")  # pragma: no cover
    for name in reversed(wrappers):
        if name not in removed:
            condition = f"{name} and ({condition})"
    return condition
