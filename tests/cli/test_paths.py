"""``sekimori paths …``: JSON that scripts read, and clear errors."""

import json

from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import build_demo_store, demo_model_path

runner = CliRunner()
MODEL = str(demo_model_path())


def test_blast_attack_choke_whatif_json_model_only():
    result = runner.invoke(app, ["paths", "blast", "org:contractor-kr", "-m", MODEL, "--json"])
    assert result.exit_code == 0, result.output
    blast = json.loads(result.stdout)
    assert blast["entry"]["kind"] == "organisation" and blast["exposure"]["total"] > 0
    assert set(blast["exposure"]) == {"people", "secrecy_of_communications", "sensitive", "total"}

    result = runner.invoke(app, ["paths", "attack", "org:contractor-kr", "-m", MODEL, "-k", "3", "--json"])
    paths = json.loads(result.stdout)
    assert 1 <= len(paths) <= 3 and all(p["hops"] and p["controls"] for p in paths)
    assert all(
        {"src", "dst", "kind", "text", "controls", "allowed", "network"} <= set(h) for h in paths[0]["hops"]
    )

    result = runner.invoke(app, ["paths", "choke", "org:contractor-kr", "-m", MODEL, "--json"])
    choke = json.loads(result.stdout)
    assert choke["cut"]["cuts_off"] and choke["cut"]["people_protected"] == blast["exposure"]["total"]

    result = runner.invoke(
        app,
        [
            "paths",
            "whatif",
            "org:contractor-kr",
            "-m",
            MODEL,
            "--json",
            "-c",
            "separate realm example-ad",
            "-c",
            "block flows affiliate-kr -> parent",
        ],
    )
    change = json.loads(result.stdout)
    assert change["after"]["exposure"]["total"] == 0
    assert change["people_protected"] == blast["exposure"]["total"]


def test_store_logons_and_drawing(tmp_path):
    store, _ = build_demo_store(tmp_path / "store")
    result = runner.invoke(app, ["paths", "summary", "-m", MODEL, "-s", str(store.root)])
    summary = json.loads(result.stdout)
    assert summary["node_kinds"]["account"] >= 3 and summary["edge_kinds"]["logon"] >= 3
    out = tmp_path / "paths.json"
    result = runner.invoke(
        app, ["paths", "draw", "host:PC02", "-m", MODEL, "-s", str(store.root), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    elements = json.loads(out.read_text())["elements"]
    ids = {n["data"]["id"] for n in elements["nodes"]}
    assert "host:pc02" in ids and any(e["data"]["on_path"] for e in elements["edges"])


def test_errors(tmp_path):
    result = runner.invoke(app, ["paths", "blast", "org:nobody", "-m", MODEL])
    assert result.exit_code == 2 and "unknown organisation" in result.output
    result = runner.invoke(
        app, ["paths", "whatif", "org:contractor-kr", "-m", MODEL, "-c", "separate realm x"]
    )
    assert result.exit_code == 2 and "unknown realm 'x'" in result.output
    result = runner.invoke(app, ["paths", "blast", "org:parent", "-m", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "none.yaml" in result.output
    result = runner.invoke(app, ["paths", "draw", "org:parent", "-m", MODEL, "-o", str(tmp_path / "x.gif")])
    assert result.exit_code == 2 and ".gif" in result.output


# A contractor whose only way in is an application grant with a last day: by hand, the shop's 500 users
# up to 2024-03-31 (its last valid day) and nobody from 2024-04-01.
EXPIRING = """
version: 1
group: Expiring
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: c, name: Contractor, kind: contractor, country: JP}
realms:
  - {id: pnet, kind: ad_domain, name: P, owner: p, shared_by: [p]}
  - {id: cnet, kind: ad_domain, name: C, owner: c, shared_by: [c]}
zones:
  - {id: cz, name: contractor, org: c}
  - {id: pz, name: parent, org: p}
hosts:
  - {org: c, zone: cz, name_pattern: '^c-'}
  - {org: p, zone: pz, name_pattern: '^p-'}
systems:
  - {id: web, name: Web shop, owner: p, zone: pz, hosts: [p-web1]}
data_stores:
  - {id: shop-db, name: Shop DB, system: web, owner: p, kind: database,
     personal_data: [{category: user, items: [name], records: 500}]}
flows: [{id: f-https, from: cz, to: pz, ports: [443], protocol: tcp}]
grants: [{id: g-app, org: c, systems: [web], access: [application], expires: 2024-03-31, owner: IT}]
"""


def test_as_of_drops_the_grants_expired_before_the_day(tmp_path):
    model = tmp_path / "expiring.yaml"
    model.write_text(EXPIRING, encoding="utf-8")

    def total(*extra: str) -> int:
        result = runner.invoke(app, ["paths", "blast", "org:c", "-m", str(model), "--json", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["exposure"]["total"]

    assert total() == 500  # every grant as the model states it
    assert total("--as-of", "2024-03-31") == 500  # its last day
    assert total("--as-of", "2024-04-01") == 0
    attack = ["paths", "attack", "org:c", "-m", str(model), "--json", "--as-of"]
    assert len(json.loads(runner.invoke(app, [*attack, "2024-03-31"]).stdout)) == 1
    assert json.loads(runner.invoke(app, [*attack, "2024-04-01"]).stdout) == []
    choke = runner.invoke(
        app, ["paths", "choke", "org:c", "-m", str(model), "--json", "--as-of", "2024-04-01"]
    )
    assert json.loads(choke.stdout)["status"] == "nothing to cut"
    for bad in ("2024-13-01", "01/04/2024", "tomorrow", "2024-4-1"):
        result = runner.invoke(app, ["paths", "blast", "org:c", "-m", str(model), "--as-of", bad])
        assert result.exit_code == 2 and "--as-of" in result.output and bad in result.output, bad
