"""Identity-provider tenants and cloud accounts in the graph (issue 12, item 2): guests, a tenant shared
by several organisations, observed sign-ins and cross-account role assumptions. Expectations are counted
by hand from the group below (each says how); one check is brute force over every set of grants."""

from __future__ import annotations

import datetime
import itertools
import textwrap
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sekimori.graph import (
    attack_paths,
    blast_radius,
    build_graph,
    choke_points,
    graph_from_store,
    observed_signins,
    what_if,
)
from sekimori.graph.cloud_signins import classify_signins
from sekimori.graph.group_graph import EDGE_KIND, EDGE_KIND_NAMES, edge_text
from sekimori.model import load_model_text
from sekimori.store import Store
from tests.graph.groups import AS_OF, groups
from tests.graph.oracle import DOCUMENTED, Oracle

# p (parent) and a (affiliate) share one IdP tenant, grp (the seed's shared authentication platform);
# c (contractor) has its own tenant ctn and AWS account aws-c; p has the AWS account aws-p; x has only
# the local accounts of its machines. Every system but onprem is a cloud service (no hosts).
BASE = """
version: 1
group: Tenants
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: a, name: Affiliate, kind: affiliate, country: KR}
  - {id: c, name: Contractor, kind: contractor, country: KR}
  - {id: x, name: Outsider, kind: contractor, country: JP}
realms:
  - {id: grp, kind: idp_tenant, name: group.example, owner: p, shared_by: [p, a], tenant_ids: [t-grp]}
  - {id: ctn, kind: idp_tenant, name: ctr.example, owner: c, shared_by: [c], tenant_ids: [t-ctr]}
  - {id: aws-p, kind: cloud_account, name: parent-prod, owner: p, shared_by: [p], org_unit: prod,
     tenant_ids: ['111111111111']}
  - {id: aws-c, kind: cloud_account, name: ctr-dev, owner: c, shared_by: [c], tenant_ids: ['222222222222']}
  - {id: x-local, kind: local, name: X-PC, owner: x, shared_by: [x]}
accounts:
  - {org: c, realm: ctn, upn_suffix: '@ctr.example'}
  - {org: a, realm: grp, upn_suffix: '@aff.example'}
  - {org: p, realm: grp, upn_suffix: '@par.example'}
zones:
  - {id: pz, name: parent, org: p}
  - {id: az, name: affiliate, org: a}
  - {id: cz, name: contractor, org: c}
systems:
  - {id: mail, name: Mail, owner: p, zone: pz, tenant: grp, applications: [Mail App]}
  - {id: crm, name: CRM, owner: p, zone: pz, tenant: grp, applications: [CRM]}
  - {id: hr, name: HR, owner: a, zone: az, tenant: grp, applications: [HR App]}
  - {id: onprem, name: Intranet, owner: p, zone: pz, hosts: [p-web1], tenant: grp, applications: [Intranet]}
  - {id: s3, name: Buckets, owner: p, zone: pz, tenant: aws-p, applications: [s3.amazonaws.com]}
data_stores:
  - {id: mail-box, name: Mailboxes, system: mail, owner: p, kind: saas,
     personal_data: [{category: employee, items: [name, email], records: 300, population: p-staff}]}
  - {id: crm-db, name: CRM DB, system: crm, owner: p, kind: saas,
     personal_data: [{category: business_partner, items: [name], records: 2000}]}
  - {id: hr-db, name: HR DB, system: hr, owner: a, kind: saas,
     personal_data: [{category: employee, items: [name], records: 50}]}
  - {id: intranet-db, name: Intranet DB, system: onprem, owner: p, kind: database,
     personal_data: [{category: employee, items: [name], records: 120, population: p-staff}]}
  - {id: bucket, name: Bucket, system: s3, owner: p, kind: object_store,
     personal_data: [{category: user, items: [name], records: 5000}]}
"""


def model_of(extra: str = "") -> Any:
    return load_model_text(textwrap.dedent(BASE) + textwrap.dedent(extra), "tenants.yaml")


def graph(extra: str = "", as_of: datetime.date | None = None, signins: pa.Table | None = None) -> Any:
    return build_graph(model_of(extra), as_of=as_of, signins=signins)


def edges_of(g: Any, kind: str) -> list[tuple[str, str]]:
    mine = np.flatnonzero(g.kind == EDGE_KIND[kind])
    return sorted((g.keys[int(g.src[i])].as_py(), g.keys[int(g.dst[i])].as_py()) for i in mine)


# --- a tenant shared by several organisations ---


def test_a_shared_tenant_lets_each_organisation_sign_in_to_the_others_applications():
    g = graph()
    # p's three cloud applications of grp hold stores; a is in grp and owns none of them: one edge per
    # store (onprem included, gated), and p reaches a's HR the same way. Nothing from aws-p (p alone).
    assert edges_of(g, "shared_tenant") == [
        ("credential:a@grp", "data_store:crm-db"),
        ("credential:a@grp", "data_store:intranet-db"),
        ("credential:a@grp", "data_store:mail-box"),
        ("credential:p@grp", "data_store:hr-db"),
    ]
    blast = blast_radius(g, "org:a")
    # crm-db and mail-box (no gate); intranet-db needs HTTPS into pz and no flow leads there
    assert [d.id for d in blast.data_stores] == ["mail-box", "crm-db"]  # in the model's order
    assert blast.systems == []  # the applications' data, not the systems
    assert blast.exposure.people == {"business_partner": 2000, "employee": 300}


def test_an_application_with_hosts_needs_the_network_and_people_are_counted_once():
    g = graph("flows: [{id: f-https, from: az, to: pz, ports: [443], protocol: tcp}]\n")
    blast = blast_radius(g, "org:a")
    assert [d.id for d in blast.data_stores] == ["mail-box", "crm-db", "intranet-db"]
    # intranet-db's 120 are of population p-staff, as mail-box's 300: max(300, 120) = 300, not 420
    assert blast.exposure.people == {"business_partner": 2000, "employee": 300}
    ssh_only = graph("flows: [{id: f-ssh, from: az, to: pz, ports: [22], protocol: tcp}]\n")
    assert "intranet-db" not in [d.id for d in blast_radius(ssh_only, "org:a").data_stores]


def test_separating_the_shared_tenant_cuts_it_and_is_the_one_choke_point():
    g = graph()
    result = what_if(g, "org:a", ["separate realm grp"])
    assert result.before.exposure.total == 2300  # 2000 partners + 300 staff
    assert result.after.exposure.total == 0
    choke = choke_points(g, "org:a")
    assert choke.cut is not None and choke.cut.controls == ["realm:grp"]
    assert choke.cut.people_protected == 2300


def test_an_application_grant_replaces_the_shared_tenant_edge():
    g = graph("grants: [{id: g-crm, org: a, systems: [crm], access: [application], owner: IT}]\n")
    assert ("credential:a@grp", "data_store:crm-db") not in edges_of(g, "shared_tenant")
    assert edges_of(g, "app_use") == [("credential:a@grp", "data_store:crm-db")]
    # the grant, not the tenant, now gives the CRM: separating grp leaves its 2,000 partners
    after = blast_radius(g, "org:a", ["separate realm grp"])
    assert after.exposure.people == {"business_partner": 2000}
    assert blast_radius(g, "org:a", ["separate realm grp", "remove grant g-crm"]).exposure.people == {}


def test_a_logon_grant_does_not_cover_signing_in():
    # a may log on to onprem's hosts; signing in to its application is still only the shared tenant's
    g = graph("grants: [{id: g-rdp, org: a, systems: [onprem], logon_types: [10], owner: IT}]\n")
    assert ("credential:a@grp", "data_store:intranet-db") in edges_of(g, "shared_tenant")


# --- guests ---


GUEST = (
    "grants: [{id: g-guest, org: c, systems: [mail], access: [application], owner: IT,"
    " expires: 2024-03-31}]\n"
)


def test_a_guest_reaches_the_applications_it_is_assigned_with_its_home_identity():
    g = graph(GUEST)
    # c is not in grp: a guest, signing in with its IdP tenant ctn (the tenant's kind), not aws-c
    assert edges_of(g, "guest_app") == [("credential:c@ctn", "data_store:mail-box")]
    assert edges_of(g, "app_use") == []  # no HTTPS-gated copy of it
    blast = blast_radius(g, "org:c")
    assert [d.id for d in blast.data_stores] == ["mail-box"]  # the CRM of the same tenant is not assigned
    assert blast.exposure.people == {"employee": 300}
    hop = int(np.flatnonzero(g.kind == EDGE_KIND["guest_app"])[0])
    assert edge_text(g, hop) == (
        "grant g-guest lets c's principals sign in as guests to the application of p: "
        "the data of Mailboxes as them"
    )
    assert blast_radius(g, "org:c", ["remove grant g-guest"]).exposure.people == {}
    expired = graph(GUEST, as_of=datetime.date(2024, 4, 1))
    assert blast_radius(expired, "org:c").exposure.people == {}


def test_a_guest_with_no_identity_but_machine_accounts_signs_in_nowhere():
    g = graph("grants: [{id: g-x, org: x, systems: [crm], access: [application], owner: IT}]\n")
    assert edges_of(g, "guest_app") == []
    assert blast_radius(g, "org:x").exposure.people == {}


def test_a_guest_of_a_cloud_account_comes_from_its_cloud_account():
    g = graph("grants: [{id: g-s3, org: c, systems: [s3], access: [application], owner: IT}]\n")
    assert edges_of(g, "guest_app") == [("credential:c@aws-c", "data_store:bucket")]
    assert blast_radius(g, "org:c").exposure.people == {"user": 5000}


# --- observed sign-ins and role assumptions ---

T0 = datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.UTC)
T1 = datetime.datetime(2024, 5, 2, 9, 0, tzinfo=datetime.UTC)


def row(principal: str, domain: str | None, tenant: str | None, resource_tenant: str | None, **kw: Any):
    return {
        "principal": principal,
        "domain": domain,
        "tenant": tenant,
        "resource_tenant": resource_tenant,
        "application": kw.get("application"),
        "role": kw.get("role"),
        "count": kw.get("count", 1),
        "first_seen": kw.get("first_seen", T0),
        "last_seen": kw.get("last_seen", T1),
    }


SIGNIN_ROWS = [
    # eve, the contractor's (by the UPN suffix), into p's CRM: as a guest, no grant
    row("eve", "ctr.example", "t-ctr", "t-grp", application="crm", count=2),
    row("eve", "ctr.example", "t-ctr", "t-grp", application="CRM ", count=3, first_seen=T1),
    # homer, the affiliate's, into p's mail through the tenant they share
    row("homer", "aff.example", "t-grp", "t-grp", application="Mail App"),
    # an application the model does not name: nothing at stake, left out
    row("homer", "aff.example", "t-grp", "t-grp", application="Teams"),
    # the contractor's deployer (aws-c has c alone) assumes a role in the parent's account
    row(
        "deployer",
        None,
        "222222222222",
        "111111111111",
        application="sts.amazonaws.com",
        role="arn:aws:iam::111111111111:role/Deploy",
    ),
]


def test_sign_ins_are_classified_once_per_account_and_what_they_reach():
    table = classify_signins(model_of(), SIGNIN_ROWS)
    got = [
        (r["account"], r["account_org"], r["account_realm"], r["system"], r["role_realm"], r["count"])
        for r in table.to_pylist()
    ]
    assert got == [
        ("aff\\homer", "a", "grp", "mail", None, 1),
        ("ctr\\eve", "c", "ctn", "crm", None, 5),  # 2 + 3: 'crm' and 'CRM ' are one application
        ("deployer", "c", "aws-c", None, "aws-p", 1),  # STS is not a modelled application; the role is
    ]


def test_observed_sign_ins_reach_the_data_and_are_judged():
    model = model_of("grants: [{id: g-p-s3, org: p, systems: [s3], access: [application], owner: IT}]\n")
    g = build_graph(model, signins=classify_signins(model, SIGNIN_ROWS))
    assert edges_of(g, "signin") == [
        ("account:aff\\homer", "data_store:mail-box"),
        ("account:ctr\\eve", "data_store:crm-db"),
    ]
    assert edges_of(g, "assume_role") == [("account:deployer", "credential:p@aws-p")]
    by_kind = {
        (EDGE_KIND_NAMES[int(g.kind[i])], g.keys[int(g.src[i])].as_py()): (
            bool(g.allowed[i]),
            [g.controls[c] for c in (int(g.control1[i]), int(g.control2[i])) if c >= 0],
        )
        for i in np.flatnonzero(np.isin(g.kind, [EDGE_KIND["signin"], EDGE_KIND["assume_role"]]))
    }
    assert by_kind == {
        ("signin", "account:ctr\\eve"): (False, []),  # a guest with no grant
        ("signin", "account:aff\\homer"): (False, ["realm:grp"]),  # crossed through the shared tenant
        ("assume_role", "account:deployer"): (False, []),  # c has no accounts in aws-p
    }
    assert g.summary().observed_not_allowed == 3
    # eve alone: the CRM she signed in to (2,000 partners); nothing else of c's reaches anything
    assert blast_radius(g, "account:ctr\\eve").exposure.people == {"business_partner": 2000}
    # the deployer acts as p's principals in aws-p, whose grant g-p-s3 opens the bucket (5,000 users)
    assert blast_radius(g, "account:deployer").exposure.people == {"user": 5000}
    # homer: the mail he signed in to, and (as an affiliate account in grp) what the shared tenant gives
    assert blast_radius(g, "account:aff\\homer").exposure.people == {
        "business_partner": 2000,
        "employee": 300,
    }
    # separating grp leaves homer nothing: his sign-in and the tenant's edges both went through it
    assert blast_radius(g, "account:aff\\homer", ["separate realm grp"]).exposure.people == {}
    # the sign-ins survive a what-if that rebuilds the graph
    rebuilt = blast_radius(g, "account:ctr\\eve", ["add flow cz -> pz"])
    assert rebuilt.exposure.people == {"business_partner": 2000}


def test_a_sign_in_the_model_grants_is_allowed():
    model = model_of("grants: [{id: g-crm, org: c, systems: [crm], access: [application], owner: IT}]\n")
    g = build_graph(model, signins=classify_signins(model, SIGNIN_ROWS[:1]))
    i = int(np.flatnonzero(g.kind == EDGE_KIND["signin"])[0])
    assert bool(g.allowed[i]) and g.summary().observed_not_allowed == 0


def test_a_sign_in_without_a_time_is_allowed_only_by_a_grant_that_never_expires():
    untimed = [{**SIGNIN_ROWS[0], "first_seen": None, "last_seen": None}]
    allowed = {}
    for expires in ("", ", expires: 2099-12-31", ", expires: 2000-01-01"):
        grant = (
            f"grants: [{{id: g-crm, org: c, systems: [crm], access: [application], owner: IT{expires}}}]\n"
        )
        model = model_of(grant)
        g = build_graph(model, signins=classify_signins(model, untimed))
        allowed[expires] = bool(g.allowed[int(np.flatnonzero(g.kind == EDGE_KIND["signin"])[0])])
    # by hand: no time to check an expiry against, so only the grant without one covers the sign-in
    assert allowed == {"": True, ", expires: 2099-12-31": False, ", expires: 2000-01-01": False}


# --- brute force: every set of application grants, against the model read directly ---

CANDIDATE_GRANTS = [
    ("a", "crm"),  # a member of grp: its grant replaces the shared-tenant edge
    ("c", "mail"),  # a guest
    ("x", "hr"),  # a guest with machine accounts only: nothing
    ("c", "s3"),  # a guest of the cloud account
]
CLOUD_SYSTEMS = {"mail": "grp", "crm": "grp", "hr": "grp", "s3": "aws-p"}  # onprem left out (gated)
OWNER = {"mail": "p", "crm": "p", "hr": "a", "s3": "p"}
MEMBERS = {"grp": {"p", "a"}, "aws-p": {"p"}}
STORES = {"mail": "mail-box", "crm": "crm-db", "hr": "hr-db", "s3": "bucket"}
# (category, population, records) of each store
PEOPLE = {
    "mail-box": ("employee", "p-staff", 300),
    "crm-db": ("business_partner", "crm-db", 2000),
    "hr-db": ("employee", "hr-db", 50),
    "bucket": ("user", "bucket", 5000),
    "intranet-db": ("employee", "p-staff", 120),
}
HAS_SIGN_IN_IDENTITY = {"p", "a", "c"}  # x has only local accounts


def expected_stores(org: str, grants: set[tuple[str, str]]) -> set[str]:
    """The rule read off the model: a grant with application access (and a way to sign in), or a tenant
    shared with the system's owner that no such grant covers."""
    out = set()
    for system, tenant in CLOUD_SYSTEMS.items():
        granted = (org, system) in grants and org in HAS_SIGN_IN_IDENTITY
        shared = len(MEMBERS[tenant]) > 1 and org in MEMBERS[tenant] and org != OWNER[system]
        if granted or shared:
            out.add(STORES[system])
    return out


def expected_people(stores: set[str]) -> dict[str, int]:
    largest: dict[tuple[str, str], int] = {}
    for store in stores:
        category, population, records = PEOPLE[store]
        largest[(category, population)] = max(largest.get((category, population), 0), records)
    people: dict[str, int] = {}
    for (category, _), records in largest.items():
        people[category] = people.get(category, 0) + records
    return people


def bfs(g: Any, start: str) -> set[str]:
    """Plain breadth-first search over the listed edges, none of them gated on these groups."""
    out: dict[str, list[str]] = {}
    for s, d in zip(g.src.tolist(), g.dst.tolist(), strict=True):
        out.setdefault(g.keys[s].as_py(), []).append(g.keys[d].as_py())
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in out.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_every_set_of_application_grants_against_the_model_read_directly():
    checked = 0
    for n in range(len(CANDIDATE_GRANTS) + 1):
        for chosen in itertools.combinations(CANDIDATE_GRANTS, n):
            grants = "grants:\n" + "".join(
                f"  - {{id: g-{o}-{s}, org: {o}, systems: [{s}], access: [application], owner: IT}}\n"
                for o, s in chosen
            )
            g = graph(grants if chosen else "")
            # only onprem's edges are gated (no flows, and onprem's host is no one's: nobody is in pz)
            gated = {g.keys[int(g.dst[i])].as_py() for i in np.flatnonzero(g.gate >= 0)}
            assert gated <= {"data_store:intranet-db"}
            for org in ("p", "a", "c", "x"):
                blast = blast_radius(g, f"org:{org}")
                stores = {d.id for d in blast.data_stores}
                expected = expected_stores(org, set(chosen))
                assert stores == expected, (org, chosen)
                assert blast.exposure.people == expected_people(expected), (org, chosen)
                ungated = {
                    k.split(":", 1)[1] for k in bfs(g, f"organisation:{org}") if k.startswith("data_store:")
                }
                assert ungated - {"intranet-db"} == expected, (org, chosen)
                checked += 1
    assert checked == 16 * 4


# --- the demo group: the seed's shared authentication platform, and its real sign-in records ---

DEMO = Path(__file__).resolve().parents[2] / "sekimori" / "demo" / "data"
MAILBOX = {
    "id": "ds-mailboxes",
    "name": "Parent mailboxes",
    "system": "parent-mail",
    "owner": "parent",
    "kind": "saas",
    "personal_data": [{"category": "employee", "items": ["name", "email"], "records": 500}],
}


def demo_model(mailbox: bool) -> Any:
    group = yaml.safe_load((DEMO / "group.yaml").read_text(encoding="utf-8"))
    if mailbox:
        group["data_stores"].append(MAILBOX)
    return load_model_text(yaml.safe_dump(group), "group.yaml")


def test_the_demo_contractor_reaches_the_parents_mail_through_the_shared_tenant():
    without = blast_radius(build_graph(demo_model(False)), "org:contractor-kr").exposure.people
    g = build_graph(demo_model(True))
    # parent-mail signs in through group-entra, which the affiliate shares with the parent: the
    # affiliate's credentials there (cached on PC01, which the contractor's RDP grant reaches) open it
    assert edges_of(g, "shared_tenant") == [
        ("credential:affiliate-kr@group-entra", "data_store:ds-mailboxes")
    ]
    with_mail = blast_radius(g, "org:contractor-kr").exposure.people
    # the mailboxes' 500 people are their own population: employees + 500, nothing else changes
    assert with_mail == {**without, "employee": without["employee"] + 500}
    separated = blast_radius(g, "org:contractor-kr", ["separate realm group-entra"]).exposure.people
    assert separated == without
    path = next(
        p for p in attack_paths(g, "org:contractor-kr", k=20) if p.target == "data_store:ds-mailboxes"
    )
    assert path.hops[-1].kind == "shared_tenant" and path.hops[-1].controls == ["realm:group-entra"]


def test_the_demo_sign_ins_from_the_store(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([str(DEMO / "logs" / "entra-signins.json")], reader="entra")
    model = demo_model(True)
    signins = observed_signins(store, model)
    # the two records of logs/entra-signins.json: eve@lexcorp.com and homer.simpson@springfield.org
    # signing in to 'Office 365 Exchange Online' (parent-mail); whose by the demo's UPN-suffix rules
    assert [
        (r["account"], r["account_org"], r["account_realm"], r["system"]) for r in signins.to_pylist()
    ] == [
        ("lexcorp\\eve", "contractor-kr", "contractor-entra", "parent-mail"),
        ("springfield\\homer.simpson", "affiliate-kr", "group-entra", "parent-mail"),
    ]
    g = graph_from_store(store, model)
    judged = {
        g.keys[int(g.src[i])].as_py(): (
            g.keys[int(g.dst[i])].as_py(),
            bool(g.allowed[i]),
            [g.controls[c] for c in (int(g.control1[i]), int(g.control2[i])) if c >= 0],
        )
        for i in np.flatnonzero(g.kind == EDGE_KIND["signin"])
    }
    assert judged == {
        # the contractor's guest: no grant, no shared tenant
        "account:lexcorp\\eve": ("data_store:ds-mailboxes", False, []),
        # the affiliate's account through the tenant it shares with the parent
        "account:springfield\\homer.simpson": ("data_store:ds-mailboxes", False, ["realm:group-entra"]),
    }


# --- random groups with tenants, against the independent oracle (tests/graph/oracle.py, rule 9) ---


@settings(max_examples=150, deadline=None)
@given(groups(tenants=True), st.sampled_from(["c", "a"]))
def test_blast_radius_with_tenants_equals_the_oracle(group, org):
    for as_of in (None, AS_OF):
        blast = blast_radius(build_graph(group, as_of=as_of), f"org:{org}")
        expected = Oracle(group, as_of, DOCUMENTED).answer(("org", org))
        assert sorted(d.id for d in blast.data_stores) == expected.stores, as_of
        assert blast.exposure.people == expected.people, as_of
        assert sorted(blast.crown_jewels) == expected.crown_jewels, as_of


@settings(max_examples=100, deadline=None)
@given(groups(tenants=True), st.sampled_from([None, AS_OF]))
def test_choke_points_with_tenants_equal_the_oracles_brute_force(group, as_of):
    oracle = Oracle(group, as_of, DOCUMENTED)
    entry = ("org", "c")
    assume(len(oracle.relevant_controls(entry)) <= 14)  # every set of up to 3: at most 469 fixed points
    size, optimal, _ = oracle.minimum_cuts(entry, max_size=3)
    report = choke_points(build_graph(group, as_of=as_of), "org:c", top=100)
    if size == 0:
        assert report.status == "nothing to cut" and report.cut is None
    elif size == -1:
        assert report.status == "impossible" and report.cut is None
    elif size is None:
        assert report.cut is None or len(report.cut.controls) > 3
    else:
        assert report.status == "minimal" and report.cut is not None
        assert len(report.cut.controls) == size
        listed = {frozenset(p.controls) for p in [report.cut, *report.alternatives]}
        assert listed <= optimal
        assert listed == optimal if report.complete else len(optimal) > len(listed)
