"""SigmaHQ rules of Entra ID and Google Workspace on the real samples of ``identity-cloud/``, each held to
a plain-Python reading of the original file written here from the vendor's documentation of the shape
(the diagnostic-settings envelope for Entra, the Reports API activity for Workspace): which lines the
rule's behaviour is in, computed without sekimori's field readings, SQL or engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sekimori.detect.sigma.rules import load_ruleset
from sekimori.store import Store
from tests.conftest import corpus
from tests.detect.sigma.matching import matches_by

pytestmark = pytest.mark.corpus

SINGLE_FACTOR = "28eea407-28d7-4e42-b0be-575d5ba60b2c"  # Status Success, singleFactorAuthentication
UNKNOWN_DEVICES = "4d136857-6a1a-432a-82fc-5dd497ee5e7c"  # + ResultType 0, no network location, no device id
LEGACY_MFA_BYPASS = "53bb4f7f-48a8-4475-ac30-5a82ddfdf6fc"  # Status Success, user agent BAV2ROPC/CBAin*
ADMIN_ROLE = "ebbeb024-5b1d-4e16-9c0c-917f86c708a7"  # operationName Add member to role, target *Admin*
GWS_ROLE = "6aef64e3-60c6-4782-8db3-8448759c714e"  # admin.googleapis.com DELETE/RENAME/UPDATE_ROLE
SIGNIN_CATEGORIES = {"SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs"}


def _lines(path: Path) -> dict[int, dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return {n: json.loads(line) for n, line in enumerate(fh, 1) if line.strip()}


def _matched(tmp: Path, path: Path, rule_ids: list[str]) -> tuple[dict[str, set[int]], set[int]]:
    """The lines each rule matched, and the lines the reader kept as events (the others are
    quarantined fragments, e.g. Panther test logs without a time)."""
    store = Store(tmp)
    store.ingest([str(path)])
    con = store.connect()
    ruleset = load_ruleset()
    rules = [r for r in ruleset.rules if r.id in rule_ids]
    assert sorted(r.id for r in rules) == sorted(rule_ids)
    kept = {n for (n,) in con.execute("SELECT record_id FROM events").fetchall()}
    return matches_by(con, ruleset, rules), kept


def _signin_success(doc: dict[str, Any]) -> bool:
    props = doc.get("properties") or {}
    return (
        doc.get("category") in SIGNIN_CATEGORIES and str((props.get("status") or {}).get("errorCode")) == "0"
    )


def test_entra_rules_on_the_diagnostic_export(tmp_path):
    path = corpus("identity-cloud", "entra-signin", "panther_azure_audit.jsonl")
    docs = _lines(path)
    ours, kept = _matched(tmp_path, path, [SINGLE_FACTOR, UNKNOWN_DEVICES, LEGACY_MFA_BYPASS, ADMIN_ROLE])
    assert kept == set(docs)  # every record of this export is an event

    single = {
        n
        for n, d in docs.items()
        if _signin_success(d)
        and (d.get("properties") or {}).get("authenticationRequirement") == "singleFactorAuthentication"
    }
    # ResultType is the sign-in's error code: Log Analytics' ResultType, the envelope's resultType,
    # and properties.status.errorCode are one value (Microsoft's sign-in log schema)
    unknown = {
        n
        for n in single
        if str(docs[n].get("resultType", docs[n]["properties"]["status"].get("errorCode"))) == "0"
        and docs[n]["properties"].get("networkLocationDetails") == []
        and (docs[n]["properties"].get("deviceDetail") or {}).get("deviceId") == ""
    }
    legacy = {
        n
        for n, d in docs.items()
        if _signin_success(d)
        and any(
            k in str((d.get("properties") or {}).get("userAgent") or "")
            for k in ("BAV2ROPC", "CBAinPROD", "CBAinTAR")
        )
    }
    admin = {
        n
        for n, d in docs.items()
        if d.get("operationName") == "Add member to role"
        and any(
            k in json.dumps((d.get("properties") or {}).get("targetResources")).lower()
            for k in ("admins", "administrator")
        )
    }
    assert ours == {
        SINGLE_FACTOR: single,
        UNKNOWN_DEVICES: unknown,
        LEGACY_MFA_BYPASS: legacy,
        ADMIN_ROLE: admin,
    }
    # the samples hold each behaviour (not a comparison of empty sets)
    assert single and unknown and legacy and admin


def test_workspace_admin_rule_on_reports_api_activities(tmp_path):
    path = corpus("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl")
    docs = _lines(path)
    ours, kept = _matched(tmp_path, path, [GWS_ROLE])

    def event_names(doc: dict[str, Any]) -> set[str]:
        # the Reports API nests events; the Panther export flattens one event to ``name``/``type``
        names = {e.get("name") for e in doc.get("events") or []}
        return names | ({doc["name"]} if "name" in doc else set())

    expected = {
        n
        for n, d in docs.items()
        if n in kept
        and (d.get("id") or {}).get("applicationName") == "admin"
        and event_names(d) & {"DELETE_ROLE", "RENAME_ROLE", "UPDATE_ROLE"}
    }
    assert ours == {GWS_ROLE: expected}
    assert expected
