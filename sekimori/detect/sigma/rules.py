"""Sigma rules: loading (a directory or the bundled zip), log source mapping, compilation to SQL.

Each rule is parsed by pySigma. Its log source goes through pySigma's Sysmon and Windows log source
pipelines (category → EventID, service → Channel); the conditions those pipelines add become the
rule's *log source filter*, kept apart from its detection so that rules sharing a filter are evaluated
together in one pass (``engine.py``). The detection is compiled by ``DuckDBBackend``. A rule of a
category that pySigma's Windows audit pipeline maps to a built-in audit event (process_creation →
Security 4688, registry_* → 4657) gets a second reading, with that pipeline's field names and filter
(``logsources.py``, ``CompiledRule.variants``). A rule that does not compile is kept with the reason
(``Ruleset.failures``), never dropped silently; a rule without an audit reading is listed with the
reason in ``Ruleset.variant_failures``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import pickle
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.pipelines.sysmon.sysmon import sysmon_pipeline
from sigma.pipelines.windows.windows import windows_logsource_pipeline
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.rule import SigmaDetectionItem, SigmaRule

from sekimori.detect.sigma.backend import DuckDBBackend
from sekimori.detect.sigma.logsources import audit_variant, has_audit_variant, has_zeek_variant, zeek_variant
from sekimori.detect.sigma.ruleset import (
    WINDOWS,
    CompiledRule,
    LogsourceFilter,
    RuleFailure,
    Ruleset,
    attack_ids,
    parse_correlation,
)
from sekimori.detect.sigma.source import source_key

BUNDLED = Path(__file__).resolve().parent / "sigmahq-rules.zip"


def _pipeline() -> ProcessingPipeline:
    pipeline: ProcessingPipeline = sysmon_pipeline() + windows_logsource_pipeline()
    return pipeline


def _placeholder_pipeline(placeholders: Mapping[str, list[str]]) -> ProcessingPipeline:
    """Only the ``|expand`` values: the log source pipelines are applied apart (``logsource_filter``,
    the variants), so that a rule's SQL is its detection alone whether or not values are given."""
    from sigma.processing.pipeline import ProcessingItem

    return ProcessingPipeline(
        items=[ProcessingItem(ValueListPlaceholderTransformation(list(placeholders)))],
        vars={k: list(v) for k, v in placeholders.items()},
    )


@lru_cache(maxsize=512)
def logsource_filter(product: str | None, category: str | None, service: str | None) -> LogsourceFilter:
    """The conditions pySigma's Sysmon + Windows log source pipelines add for this log source."""
    probe = SigmaRule.from_dict(
        {
            "title": "probe",
            "logsource": {
                k: v for k, v in (("product", product), ("category", category), ("service", service)) if v
            },
            "detection": {"sel": {"x": "y"}, "condition": "sel"},
        }
    )
    _pipeline().apply(probe)
    conds: dict[str, set[str]] = {}
    for name, det in probe.detection.detections.items():
        if not name.startswith("_cond_"):
            continue
        for item in det.detection_items:
            if not isinstance(item, SigmaDetectionItem) or item.field is None:
                continue
            conds.setdefault(item.field, set()).update(str(v) for v in item.value)
    return tuple(sorted((k, tuple(sorted(v))) for k, v in conds.items()))


def iter_rule_files(source: str | Path | None = None) -> Iterator[tuple[str, str]]:
    """(path, YAML text) of each rule file in a directory or zip (default: the bundled corpus)."""
    src = Path(source) if source is not None else BUNDLED
    if src.is_file() and zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as zf:
            for name in sorted(zf.namelist()):
                if name.endswith((".yml", ".yaml")):
                    yield f"{src.name}:{name}", zf.read(name).decode("utf-8")
        return
    if src.is_file():
        yield str(src), src.read_text(encoding="utf-8")
        return
    if not src.is_dir():
        raise FileNotFoundError(f"no Sigma rules at {src}")
    for path in sorted(src.rglob("*")):
        if path.suffix in (".yml", ".yaml") and path.is_file():
            yield str(path), path.read_text(encoding="utf-8")


def compile_rules(
    sources: Iterable[str | Path | None] = (None,),
    placeholders: Mapping[str, list[str]] | None = None,
) -> Ruleset:
    """Parse and compile every rule under ``sources`` (directories, zips, files; None = bundled)."""
    out = Ruleset()
    backend = DuckDBBackend()
    placeholder_pipeline = _placeholder_pipeline(placeholders) if placeholders else None
    for source in sources:
        for path, text in iter_rule_files(source):
            out.files += 1
            if "correlation:" in text:
                # Correlations refer to rules in other files: read as plain data, resolved at run time.
                _add_correlations(out, text, path)
                text = _without_correlations(text)
                if not text.strip():
                    continue
            try:
                collection = SigmaCollection.from_yaml(text, collect_errors=True)
            except Exception as exc:
                out.failures.append(RuleFailure(path, None, None, f"parse: {exc}"))
                continue
            for item in collection.rules:
                if isinstance(item, SigmaCorrelationRule):
                    continue  # read from the YAML below, as plain data
                _compile_one(out, backend, item, path, placeholder_pipeline)
            for err in getattr(collection, "errors", []) or []:
                out.failures.append(RuleFailure(path, _yaml_id(text), None, f"parse: {err}"))
    return out


def _add_correlations(out: Ruleset, text: str, path: str) -> None:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        out.failures.append(RuleFailure(path, None, None, f"parse: {exc}"))
        return
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("correlation"), dict):
            out.correlations.append(parse_correlation(doc, path))


def _without_correlations(text: str) -> str:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return text
    kept = [d for d in docs if not (isinstance(d, dict) and isinstance(d.get("correlation"), dict))]
    return "" if not kept else yaml.safe_dump_all(kept, sort_keys=False)


def _yaml_id(text: str) -> str | None:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return str(doc.get("id")) if isinstance(doc, dict) and doc.get("id") else None


def _compile_one(
    out: Ruleset, backend: DuckDBBackend, rule: SigmaRule, path: str, placeholders: ProcessingPipeline | None
) -> None:
    rid = str(rule.id) if rule.id else path
    if rule.errors:
        out.failures.append(RuleFailure(path, rid, rule.title, f"parse: {rule.errors[0]}"))
        return
    ls = rule.logsource
    try:
        if placeholders is not None:
            placeholders.apply(rule)
        if _has_placeholder(rule):
            raise ValueError("unresolved placeholder (expand modifier): give its values in settings")
        audit = _audit_variant(out, backend, rule, path, rid)
        zeek = _zeek_variant(out, backend, rule, path, rid)
        sql, fields, regexes = backend.rule_expression(rule)
    except Exception as exc:
        out.failures.append(RuleFailure(path, rid, rule.title, f"{type(exc).__name__}: {exc}"))
        return
    tags = [str(t) for t in rule.tags or []]
    level = str(rule.level.name).lower() if rule.level else "medium"
    compiled = CompiledRule(
        index=len(out.rules),
        id=rid,
        title=rule.title,
        level=level,
        status=str(rule.status.name).lower() if rule.status else "",
        path=path,
        product=ls.product,
        category=ls.category,
        service=ls.service,
        tags=tags,
        attack=attack_ids(tags),
        filter=logsource_filter(ls.product, ls.category, ls.service) if ls.product == WINDOWS else (),
        # The store's events a rule of another product runs on (``source.py``); a Zeek rule runs
        # through its zeek_raw variant only.
        source=None
        if ls.product == WINDOWS or has_zeek_variant(rule)
        else source_key(ls.product, ls.category, ls.service),
        sql=sql,
        fields=fields,
        regexes=regexes,
        name=getattr(rule, "name", None),
    )
    if audit is not None:
        flt, (a_sql, a_fields, a_regexes) = audit
        compiled.variants.append(
            replace(compiled, filter=flt, sql=a_sql, fields=a_fields, regexes=a_regexes, variants=[])
        )
    if zeek is not None:
        key, (z_sql, z_fields, z_regexes) = zeek
        compiled.variants.append(
            replace(
                compiled, filter=(), source=key, sql=z_sql, fields=z_fields, regexes=z_regexes, variants=[]
            )
        )
    out.rules.append(compiled)


def _zeek_variant(
    out: Ruleset, backend: DuckDBBackend, rule: SigmaRule, path: str, rid: str
) -> tuple[str, tuple[str, set[str], list[str]]] | None:
    """The rule's reading on Zeek's logs (``logsources.zeek_variant``) and its source key, if any."""
    if not has_zeek_variant(rule):
        return None
    try:
        variant, stream = zeek_variant(rule)
        key = source_key("zeek", None, stream)
        if key is None:  # pragma: no cover - the zeek source reads every Zeek log
            raise ValueError(f"no source reads Zeek's {stream} log")
        return key, backend.rule_expression(variant)
    except Exception as exc:
        out.variant_failures.append(RuleFailure(path, rid, rule.title, f"zeek: {type(exc).__name__}: {exc}"))
        return None


def _audit_variant(
    out: Ruleset, backend: DuckDBBackend, rule: SigmaRule, path: str, rid: str
) -> tuple[LogsourceFilter, tuple[str, set[str], list[str]]] | None:
    """The rule's reading on the built-in audit event of its category (``logsources.py``), if any.

    A rule the audit pipeline cannot read (a 4657 rule on a field 4657 lacks) still runs on Sysmon's
    event; why it has no audit reading is listed in ``Ruleset.variant_failures``.
    """
    if not has_audit_variant(rule):
        return None
    try:
        variant, flt = audit_variant(rule)
        return flt, backend.rule_expression(variant)
    except Exception as exc:
        out.variant_failures.append(RuleFailure(path, rid, rule.title, f"audit: {type(exc).__name__}: {exc}"))
        return None


def _has_placeholder(rule: SigmaRule) -> bool:
    from sigma.types import SigmaString

    for det in rule.detection.detections.values():
        stack: list[Any] = [det]
        while stack:
            node = stack.pop()
            items = getattr(node, "detection_items", None)
            if items is not None:
                stack.extend(items)
                continue
            for v in getattr(node, "value", []) or []:
                if isinstance(v, SigmaString) and v.contains_placeholder():
                    return True
    return False


def _cache_dir() -> Path:
    base = os.environ.get("SEKIMORI_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sekimori"
    )
    return Path(base) / "sigma"


def _digest_source(digest: Any, source: str | Path | None) -> None:
    """Add a rule source's content to ``digest``: a zip's bytes whole (decompressing its ~3,700 members
    to hash them took a third of a second on every run), else each rule file's path and text."""
    src = Path(source) if source is not None else BUNDLED
    if src.is_file() and zipfile.is_zipfile(src):
        digest.update(b"zip\0" + src.name.encode() + b"\0" + hashlib.sha256(src.read_bytes()).digest())
        return
    for path, text in iter_rule_files(source):
        digest.update(path.encode() + b"\0" + text.encode() + b"\0")


def load_ruleset(
    sources: Iterable[str | Path | None] = (None,),
    placeholders: Mapping[str, list[str]] | None = None,
    cache: bool = True,
) -> Ruleset:
    """``compile_rules`` with an on-disk cache keyed by the rule files' content and the compiler.

    Parsing ~3,700 rules with pySigma takes seconds; the compiled form is reused while the rules, the
    placeholder values, pySigma and its Windows pipelines and this package's compiler are unchanged.
    """
    sources = list(sources)
    if not cache:
        return compile_rules(sources, placeholders)
    digest = hashlib.sha256()
    packages = (
        "pysigma",
        "pysigma-pipeline-sysmon",
        "pysigma-pipeline-windows",
        "pysigma-backend-elasticsearch",
    )
    for package in packages:
        digest.update(importlib.metadata.version(package).encode())
    here = Path(__file__).parent
    modules = [here / m for m in ("backend.py", "ruleset.py", "rules.py", "logsources.py", "source.py")]
    for module in [*modules, *sorted((here / "sources").glob("*.py"))]:
        digest.update(module.read_bytes())
    digest.update(repr(sorted((placeholders or {}).items())).encode())
    for source in sources:
        _digest_source(digest, source)
    target = _cache_dir() / f"{digest.hexdigest()[:32]}.pickle"
    if target.is_file():
        try:
            with open(target, "rb") as fh:
                cached = pickle.load(fh)
            if isinstance(cached, Ruleset):
                return cached
        except Exception:  # a corrupt or foreign cache file: compile again
            pass
    ruleset = compile_rules(sources, placeholders)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(ruleset, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except OSError:
        pass  # no cache: still correct, only slower next time
    return ruleset
