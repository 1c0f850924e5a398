"""Access that says what it gives, gated by ports and hosts (issue 10, findings 3-5); hand-computed."""

from __future__ import annotations

import datetime
import textwrap

from sekimori.graph import blast_radius, build_graph
from sekimori.model import load_model_text

BASE = """
version: 1
group: Access
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: c, name: Contractor, kind: contractor, country: JP}
realms:
  - {id: pnet, kind: ad_domain, name: P.EXAMPLE, owner: p, shared_by: [p]}
  - {id: cnet, kind: ad_domain, name: C.EXAMPLE, owner: c, shared_by: [c]}
accounts:
  - {org: p, realm: pnet, domain: P}
  - {org: c, realm: cnet, domain: C}
zones:
  - {id: cz, name: contractor, org: c}
  - {id: pz, name: parent, org: p}
hosts:
  - {org: c, zone: cz, name_pattern: '^c-'}
  - {org: p, zone: pz, name_pattern: '^p-'}
systems:
  - {id: web, name: Web shop, owner: p, zone: pz, hosts: [p-web1]}
  - {id: hr, name: HR, owner: p, zone: pz, hosts: [p-hr1]}
data_stores:
  - {id: shop-db, name: Shop DB, system: web, owner: p, kind: database, engine: mssql,
     personal_data: [{category: user, items: [name, card_number], records: 500, financial: true}]}
  - {id: hr-db, name: HR DB, system: hr, owner: p, kind: database,
     personal_data: [{category: employee, items: [name], records: 70}]}
"""


def graph(extra: str, as_of: datetime.date | None = None):
    model = load_model_text(textwrap.dedent(BASE) + textwrap.dedent(extra), "access.yaml")
    return build_graph(model, as_of=as_of)


def test_using_an_application_gives_its_data_not_its_hosts():
    g = graph(
        """
        flows: [{id: f-https, from: cz, to: pz, ports: [443], protocol: tcp}]
        grants: [{id: g-app, org: c, systems: [web], access: [application], owner: IT}]
        """
    )
    blast = blast_radius(g, "org:c")
    assert [d.id for d in blast.data_stores] == ["shop-db"]
    assert blast.systems == [] and blast.hosts == 0  # not the web server, nor what is cached on it
    assert blast.exposure.people == {"user": 500}


def test_a_flow_opens_only_the_access_its_ports_carry():
    grant = "grants: [{id: g-app, org: c, systems: [web], access: [application], owner: IT}]\n"
    sql_only = graph("flows: [{id: f-sql, from: cz, to: pz, ports: [1433], protocol: tcp}]\n" + grant)
    assert blast_radius(sql_only, "org:c").exposure.people == {}  # SQL open, the web login is not
    udp = graph("flows: [{id: f-udp, from: cz, to: pz, ports: [443], protocol: udp}]\n" + grant)
    assert blast_radius(udp, "org:c").exposure.people == {}
    db = graph(
        """
        flows: [{id: f-sql, from: cz, to: pz, ports: [1433], protocol: tcp}]
        grants: [{id: g-db, org: c, systems: [web], access: [database], owner: IT}]
        """
    )
    assert blast_radius(db, "org:c").exposure.people == {"user": 500}
    wrong_engine = graph(
        """
        flows: [{id: f-pg, from: cz, to: pz, ports: [5432], protocol: tcp}]
        grants: [{id: g-db, org: c, systems: [web], access: [database], owner: IT}]
        """
    )
    assert blast_radius(wrong_engine, "org:c").exposure.people == {}  # the shop DB is MSSQL


def test_only_an_interactive_or_admin_logon_controls_the_hosts():
    flows = "flows: [{id: f-any, from: cz, to: pz, ports: any, protocol: any}]\n"
    session = graph(
        flows + "grants: [{id: g-n, org: c, systems: [web], logon_types: [network], owner: IT}]\n"
    )
    blast = blast_radius(session, "org:c")
    assert blast.systems == [] and [d.id for d in blast.data_stores] == ["shop-db"]
    rdp = graph(flows + "grants: [{id: g-r, org: c, systems: [web], logon_types: [10], owner: IT}]\n")
    blast = blast_radius(rdp, "org:c")
    # the web server's hosts: and the parent's credentials cached there, hence HR too
    assert [s.id for s in blast.systems] == ["web"]
    assert blast.exposure.people == {"user": 500}  # no grant gives the parent's people HR's hosts
    admin = graph(
        flows
        + "grants: [{id: g-n, org: c, systems: [web], logon_types: [network], owner: IT}]\n"
        + "admin_rights: [{id: a-web, org: c, systems: [web]}]\n"
    )
    assert [s.id for s in blast_radius(admin, "org:c").systems] == ["web"]


def test_an_account_rules_realm_is_informative():
    # the contractor's accounts live in the parent's domain, but nothing grants them anything
    g = graph(
        """
        flows: [{id: f-any, from: cz, to: pz, ports: any, protocol: any}]
        grants: [{id: g-staff, org: p, systems: [web], logon_types: [network], owner: IT}]
        """
    ).model
    data = g.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["realms"][0]["shared_by"] = ["p", "c"]
    data["accounts"][1]["realm"] = "pnet"
    data["flows"][0]["ports"] = "any"
    from sekimori.model import GroupModel

    blast = blast_radius(build_graph(GroupModel.model_validate(data)), "org:c")
    assert blast.exposure.people == {}  # (before: HR and the shop through the shared realm)


def test_a_service_credential_on_a_host_opens_its_system_database():
    g = graph(
        """
        flows:
          - {id: f-rdp, from: cz, to: pz, ports: [3389], protocol: tcp, to_hosts: [p-hr1]}
          - {id: f-sql, from: pz, to: pz, ports: [1433], protocol: tcp}
        systems_extra: []
        """.replace("        systems_extra: []\n", "")
        + """
        grants: [{id: g-hr, org: c, systems: [hr], logon_types: [remote_interactive], owner: IT}]
        credentials: [{id: k-shop, on_host: p-hr1, for_system: web, kind: database}]
        """
    )
    # no store shows p-hr1: the credential's host is a literal model name, a node of its own. By hand:
    # RDP to p-hr1 (f-rdp, g-hr) controls HR's host, hence HR's database; the shop's database credential
    # on it is used from inside pz, where f-sql carries 1433 to the shop's MSSQL: both stores.
    blast = blast_radius(g, "org:c")
    assert [d.id for d in blast.data_stores] == ["shop-db", "hr-db"]
    assert blast.exposure.people == {"employee": 70, "user": 500}


def test_a_flow_restricted_to_a_source_host_opens_only_from_it():
    # c-jump and c-pc are named by the model only (a flow's source, a credential's holder): each is a
    # host node. RDP to the web shop is open from c-jump only; c-pc holds an application credential for
    # HR, usable only from where HR's application is reachable (inside pz: no flow carries HTTPS to it).
    extra = """
        flows: [{{id: f-rdp, from: cz, to: pz, ports: [3389], protocol: tcp, from_hosts: [{source}]}}]
        grants: [{{id: g-web, org: c, systems: [web], logon_types: [remote_interactive], owner: IT}}]
        credentials: [{{id: k-hr, on_host: c-pc, for_system: hr, kind: application}}]
        """
    g = graph(extra.format(source="c-jump"))
    pc_alone, jump = blast_radius(g, "host:c-pc"), blast_radius(g, "host:c-jump")
    assert (pc_alone.systems, pc_alone.exposure.people) == ([], {})
    assert ([s.id for s in jump.systems], jump.exposure.people) == (["web"], {"user": 500})
    # the organisation holds both: RDP from c-jump into pz, then c-pc's credential from inside pz
    assert blast_radius(g, "org:c").exposure.people == {"employee": 70, "user": 500}
    from_pc = graph(extra.format(source="c-pc"))
    assert blast_radius(from_pc, "host:c-pc").exposure.people == {"employee": 70, "user": 500}
    assert blast_radius(from_pc, "host:c-jump").exposure.people == {}


def test_a_flow_restricted_to_a_destination_host_opens_only_that_hosts_systems():
    g = graph(
        """
        flows: [{id: f-rdp, from: cz, to: pz, ports: [3389], protocol: tcp, to_hosts: [p-hr1]}]
        grants: [{id: g-web, org: c, systems: [web], logon_types: [remote_interactive], owner: IT}]
        """
    )
    assert blast_radius(g, "org:c").systems == []  # RDP is open to p-hr1 only, not to p-web1
    to_web = graph(
        """
        flows: [{id: f-rdp, from: cz, to: pz, ports: [3389], protocol: tcp, to_hosts: [P-WEB1.p.example]}]
        grants: [{id: g-web, org: c, systems: [web], logon_types: [remote_interactive], owner: IT}]
        """
    )
    assert [s.id for s in blast_radius(to_web, "org:c").systems] == ["web"]


def test_expired_grants_give_nothing_as_of_a_later_day():
    extra = """
        flows: [{id: f-https, from: cz, to: pz, ports: [443], protocol: tcp}]
        grants: [{id: g-app, org: c, systems: [web], access: [application], expires: 2024-03-31, owner: IT}]
        """
    assert blast_radius(graph(extra), "org:c").exposure.people == {"user": 500}
    on_day = graph(extra, as_of=datetime.date(2024, 3, 31))
    assert blast_radius(on_day, "org:c").exposure.people == {"user": 500}
    after = graph(extra, as_of=datetime.date(2024, 4, 1))
    assert blast_radius(after, "org:c").exposure.people == {}


def test_a_stores_people_count_every_population_once():
    # hr-db holds 80,000 users of its own, 40,000 shared with the shop (population 'shop'), and a call
    # log of 5,000 of its own 80,000: by hand, 120,000 people, in the store's own line as in the total
    text = textwrap.dedent(BASE).replace(
        "personal_data: [{category: employee, items: [name], records: 70}]",
        "personal_data: [{category: user, items: [name], records: 80000},"
        " {category: user, items: [name], records: 40000, population: shop},"
        " {category: user, items: [call_log], records: 5000}]",
    )
    text += textwrap.dedent(
        """
        flows: [{id: f-https, from: cz, to: pz, ports: [443], protocol: tcp}]
        grants: [{id: g-app, org: c, systems: [hr], access: [application], owner: IT}]
        """
    )
    model = load_model_text(text, "p.yaml")
    assert model.data_stores[1].people() == {"user": 120_000}
    blast = blast_radius(build_graph(model), "org:c")
    assert [(d.id, d.people) for d in blast.data_stores] == [("hr-db", {"user": 120_000})]
    assert blast.exposure.people == {"user": 120_000}


def test_a_bidirectional_flow_comes_back_from_its_destination_hosts_to_its_source_hosts():
    # f-admin: from c-jump (cz) to p-web1 (pz), RDP, both ways. Going back it runs from p-web1 to
    # c-jump: the parent's web host can RDP to the contractor's jump host (c's system), nothing else.
    extra = """
        systems_extra: []
        flows: [{id: f-admin, from: cz, to: pz, ports: [3389], protocol: tcp, bidirectional: true,
                 from_hosts: [c-jump], to_hosts: [p-web1]}]
        grants: [{id: g-p, org: p, systems: [cjump], logon_types: [remote_interactive], owner: IT}]
        """
    model = load_model_text(
        textwrap.dedent(BASE).replace(
            "systems:\n",
            "systems:\n  - {id: cjump, name: Jump, owner: c, zone: cz, hosts: [c-jump]}\n  "
            "- {id: cpc, name: Desk, owner: c, zone: cz, hosts: [c-pc]}\n",
        )
        + textwrap.dedent(extra).replace("systems_extra: []\n", ""),
        "b.yaml",
    )
    g = build_graph(model)
    # the parent's people hold RDP onto c's jump host; from p-web1 the way back reaches it
    from_web = blast_radius(g, "host:p-web1")
    assert [s.id for s in from_web.systems] == ["cjump", "web"]
    # from p-hr1 it does not: the way back starts at p-web1 only
    assert [s.id for s in blast_radius(g, "host:p-hr1").systems] == ["hr"]
