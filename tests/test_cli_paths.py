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
