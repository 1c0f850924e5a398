"""SigmaHQ rules against the labels of the samples they are run on: each Panther rule test in
``identity-cloud/`` says, for one event, whether Panther's rule fires. Where a SigmaHQ rule covers the
same behaviour (paired here by reading both rules), it must fire on exactly the events labelled true
among those labelled for that Panther rule. The labels are the oracle: written by Panther's authors, not
derived from sekimori. (Pairs whose rules differ in scope, e.g. Panther's "login without MFA" leaves out
SSO sign-ins, are not held to each other.)"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from sekimori.detect.sigma.rules import load_ruleset
from sekimori.store import Store
from tests.conftest import corpus
from tests.detect.sigma.matching import matches_by

pytestmark = pytest.mark.corpus

# Panther rule id → SigmaHQ rule title, per sample file
PAIRS: dict[tuple[str, str], dict[str, str]] = {
    ("okta", "panther_okta_systemlog"): {
        "Okta.APIKeyCreated": "Okta API Token Created",
        "Okta.APIKeyRevoked": "Okta API Token Revoked",
        "Okta.AdminRoleAssigned": "Okta Admin Role Assigned to an User or Group",
        "Okta.Group.Admin.Role.Assigned": "Okta Admin Role Assigned to an User or Group",
        "Okta.Anonymizing.VPN.Login": "Okta User Session Start Via An Anonymising Proxy Service",
        "Okta.App.Unauthorized.Access.Attempt": "Okta Unauthorized Access to App",
        "Okta.Identity.Provider.Created.Modified": "Okta Identity Provider Created",
        "Okta.Phishing.Attempt.Blocked.FastPass": "Okta FastPass Phishing Detection",
        "Okta.ThreatInsight.Security.Threat.Detected": "Okta Security Threat Detected",
        "Okta.User.MFA.Reset.All": "Okta MFA Reset or Deactivated",
        "Okta.User.Reported.Suspicious.Activity": "Okta Suspicious Activity Reported by End-user",
    },
    ("cloudtrail", "panther_aws_cloudtrail"): {
        "AWS.Console.GetSigninToken.Abuse": "AWS Console GetSigninToken Potential Abuse",
        "AWS.EC2.EBS.Encryption.Disabled": "AWS EC2 Disable EBS Encryption",
        "AWS.Console.RootLogin": "AWS Root Credentials",
    },
}


@pytest.mark.parametrize(("folder", "stem"), sorted(PAIRS))
def test_sigma_rules_fire_where_the_labels_say(tmp_path, folder, stem):
    events = corpus("identity-cloud", folder, f"{stem}.jsonl")
    labels: dict[str, dict[int, bool]] = defaultdict(dict)
    for line in Path(str(events).replace(".jsonl", ".labels.jsonl")).read_text().splitlines():
        label = json.loads(line)
        labels[label["rule_id"]][label["line"]] = bool(label["expected_result"])
    store = Store(tmp_path)
    store.ingest([str(events)])
    con = store.connect()
    ruleset = load_ruleset()
    titles = set(PAIRS[(folder, stem)].values())
    rules = [r for r in ruleset.rules if r.title in titles]
    assert {r.title for r in rules} == titles
    fired = matches_by(con, ruleset, rules, by=lambda r: r.title)
    for panther, title in PAIRS[(folder, stem)].items():
        labelled = labels[panther]
        assert any(labelled.values()), panther
        expected = {n for n, hit in labelled.items() if hit}
        assert fired[title] & set(labelled) == expected, (panther, title)
