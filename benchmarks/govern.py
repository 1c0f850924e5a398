"""Speed and memory of the govern stage's findings and group posture (``sekimori.govern``) on a large
register beside the graph benchmark's group.

    python benchmarks/govern.py [--scale 1.0] [--seed 7] [--parties 1000] [--grants 50000] [--no-review]
                                [--profile N]

1. Builds the graph benchmark's group (``benchmarks/graph.py``'s generator, imported: 50 organisations,
   100,000 hosts, 1,000,000 accounts, 2,000,000 logons at scale 1; ``--scale`` shrinks every size but the
   organisations) and its graph (``build_graph`` with the logons).
2. Generates (seeded, deterministic) a register of ``--parties`` parties (the group's organisations, then
   contractors and sub-contractors, some re-entrusted without approval), a contract per outside party and
   per model contract (some ended, suspended or without personal data) and ``--grants`` grants (accounts,
   groups, organisations and IdP guests on the group's systems, hosts, applications and data stores; some
   expired, some outliving their contract).
3. Imports the register into a temporary SQLite case database (one transaction) and, unless
   ``--no-review``, starts an access review over every grant in force whose deadline has passed (so the
   review check has work).
4. Times ``findings(register, model, graph=graph, as_of=...)`` and ``group_posture(...)`` and prints them
   beside the import, their total and the peak RSS, against the goal (findings + posture < 10 s), then
   one JSON line with every figure. ``--profile N``: the N most expensive functions of ``findings``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sekimori.govern import (  # noqa: E402
    ContractRecord,
    GrantRecord,
    PartyRecord,
    Register,
    findings,
    group_posture,
    located,
    start_review,
)
from sekimori.graph import build_graph  # noqa: E402
from sekimori.model import GroupModel  # noqa: E402
from sekimori.respond import Principal  # noqa: E402


def _graph_benchmark() -> Any:
    """benchmarks/graph.py as a module (its generator and sizes); registered before it runs, as its
    dataclasses need."""
    spec = importlib.util.spec_from_file_location("graph_benchmark", REPO / "benchmarks" / "graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gb = _graph_benchmark()

T = TypeVar("T")
GOAL_S = 10.0  # findings + posture
GB = 1024**3
AS_OF: date = gb.END.date()
ADMIN = Principal("os", "bench-admin", "bench-admin")
OWNERS = [f"owner{i:02d}" for i in range(40)]
ACCESS = ["interactive", "remote_interactive", "network", "batch", "service", "application", "database"]
CATEGORIES = ["customers", "employees", "business_partners"]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB  # KiB on Linux


def scaled(scale: float) -> Any:
    base = gb.Sizes()
    return gb.Sizes(
        orgs=base.orgs,
        hosts=max(2_000, round(base.hosts * scale)),
        accounts=max(5_000, round(base.accounts * scale)),
        logons=max(10_000, round(base.logons * scale)),
        systems=max(100, round(base.systems * scale)),
        stores=max(50, round(base.stores * scale)),
    )


def _day(rng: np.random.Generator, start: date, days: int, size: int) -> list[date]:
    return [start + timedelta(days=int(d)) for d in rng.integers(0, days, size)]


def generate_register(model: dict[str, Any], hosts: list[str], parties: int, grants: int, seed: int) -> dict:
    """The register's records (see the module docstring), deterministic for ``seed``."""
    rng = np.random.default_rng(seed + 1)
    orgs = model["organisations"]
    group = [o["id"] for o in orgs if o["kind"] != "contractor"]
    out_parties: list[PartyRecord] = []
    for o in orgs:
        out_parties.append(
            PartyRecord(id=o["id"], name=o["name"], kind=o["kind"], country=o["country"], risk_tier="medium")
        )
    outside = [o["id"] for o in orgs if o["kind"] == "contractor"]
    tiers = ["low", "medium", "high", "critical"]
    for n in range(max(0, parties - len(orgs))):
        pid = f"p{n:05d}"
        sub = bool(outside) and rng.random() < 0.3
        parent = outside[int(rng.integers(0, len(outside)))] if sub else None
        approved = sub and rng.random() < 0.8
        out_parties.append(
            PartyRecord(
                id=pid,
                name=f"Party {n}",
                kind="subcontractor" if sub else "contractor",
                country="JP" if rng.random() < 0.8 else str(rng.choice(["VN", "CN", "KR", "PH", "IN"])),
                parent=parent,
                reentrustment_approved_by=str(rng.choice(OWNERS)) if approved else None,
                reentrustment_approved_on=date(2025, 4, 1) if approved else None,
                contacts=[f"it@{pid}.example.com"],
                risk_tier=str(rng.choice(tiers)),
            )
        )
        if not sub:
            outside.append(pid)

    systems = [s["id"] for s in model["systems"]]
    stores = [d["id"] for d in model["data_stores"]]
    contracts: list[ContractRecord] = []

    def contract(cid: str, party: str, entrusting: str, picked: list[str]) -> None:
        r = rng.random()
        status = "active" if r < 0.8 else "ended" if r < 0.9 else "suspended" if r < 0.95 else "draft"
        start = date(2023, 4, 1) + timedelta(days=int(rng.integers(0, 700)))
        end = start + timedelta(days=int(rng.integers(365, 1500))) if rng.random() < 0.7 else None
        personal = rng.random() < 0.85
        contracts.append(
            ContractRecord(
                id=cid,
                party=party,
                entrusting=entrusting,
                purpose="operation and support",
                data_categories=[str(rng.choice(CATEGORIES))] if personal else [],
                data_items=["name", "email"] if personal else [],
                people=int(10 ** rng.uniform(2, 6)),
                start=start,
                end=end,
                reentrustment_allowed=bool(rng.random() < 0.6),
                safety_clauses=["access control", "logging"],
                audit_rights=bool(rng.random() < 0.7),
                status=status,
                systems=picked,
            )
        )

    for c in model["contracts"]:
        contract(c["id"], c["entrusted"], c["entrusting"], list(c["systems"]))
    for p in out_parties[len(orgs) :]:
        entrusting = p.parent or group[int(rng.integers(0, len(group)))]
        picked = [str(s) for s in rng.choice(systems, size=int(rng.integers(1, 4)), replace=False)]
        contract(f"ct-{p.id}", p.id, entrusting, picked)
    of_party: dict[str, list[str]] = {}
    for c in contracts:
        of_party.setdefault(c.party, []).append(c.id)

    ids = [p.id for p in out_parties]
    weight = np.array([0.3 if p.kind in ("parent", "subsidiary", "affiliate") else 1.0 for p in out_parties])
    who = rng.choice(len(ids), size=grants, p=weight / weight.sum())
    subject_kind = rng.choice(
        ["account", "group", "organisation", "idp_guest"], size=grants, p=[0.6, 0.15, 0.15, 0.1]
    )
    object_kind = rng.choice(
        ["system", "host", "application", "data_store"], size=grants, p=[0.5, 0.25, 0.15, 0.1]
    )
    pick = rng.random(grants)
    created = _day(rng, date(2023, 1, 1), 1100, grants)
    lasts = rng.integers(30, 1000, grants)
    forever = rng.random(grants) < 0.2
    with_contract = rng.random(grants) < 0.7
    out_grants: list[GrantRecord] = []
    for g in range(grants):
        party = ids[who[g]]
        sk, ok = str(subject_kind[g]), str(object_kind[g])
        subject = {
            "account": f"u{g:06d}@{party}.example.com",
            "group": f"{party}-ops",
            "organisation": f"{party}.example.com",
            "idp_guest": f"guest{g:06d}@{party}.example.com",
        }[sk]
        pool = {"system": systems, "host": hosts, "application": systems, "data_store": stores}[ok]
        obj = pool[int(pick[g] * len(pool))]
        if ok == "application":
            obj = f"app-{obj}"
        mine = of_party.get(party, [])
        out_grants.append(
            GrantRecord(
                id=f"G{g:06d}",
                party=party,
                subject_kind=sk,
                subject=subject,
                object_kind=ok,
                object=obj,
                access=ACCESS[g % len(ACCESS)],
                justification="contracted work",
                owner=OWNERS[g % len(OWNERS)],
                contract=mine[g % len(mine)] if mine and with_contract[g] else None,
                created=created[g],
                expires=None if forever[g] else created[g] + timedelta(days=int(lasts[g])),
            )
        )
    return {
        "parties": located(out_parties, "parties"),
        "contracts": located(contracts, "contracts"),
        "grants": located(out_grants, "grants"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="share of the full sizes (0.05: a quick run)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--parties", type=int, help="register parties (default 1,000 × scale, at least 100)")
    ap.add_argument("--grants", type=int, help="register grants (default 50,000 × scale, at least 1,000)")
    ap.add_argument("--no-review", action="store_true", help="no review campaign in the register")
    ap.add_argument("--profile", type=int, default=0, help="show the N most expensive functions of findings")
    args = ap.parse_args()
    sizes = scaled(args.scale)
    n_parties = args.parties or max(100, round(1_000 * args.scale))
    n_grants = args.grants or max(1_000, round(50_000 * args.scale))

    console = Console()
    console.print(
        f"[bold]sekimori govern benchmark[/]  (scale {args.scale:g}, seed {args.seed}, "
        f"cpus {os.cpu_count()}, python {sys.version.split()[0]})"
    )
    figures: dict[str, Any] = {
        "seed": args.seed,
        "scale": args.scale,
        "sizes": asdict(sizes),
        "register": {"parties": n_parties, "grants": n_grants},
    }

    def stage(name: str, text: str, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
        figures[f"{name}_s"] = round(seconds, 3)
        console.print(f"  {text}: {seconds:.2f} s")
        return result

    gen = stage(
        "generate_group", "generate the group (graph benchmark)", lambda: gb.generate(sizes, args.seed)
    )
    model = stage("validate", "GroupModel.model_validate", lambda: GroupModel.model_validate(gen.model))
    graph = stage(
        "build_graph", "build_graph (with the logons)", lambda: build_graph(model, gen.logons, gen.hosts)
    )
    console.print(
        f"  group: {len(gen.logons):,} logon rows, {len(gen.hosts):,} hosts, "
        f"{gen.facts['accounts']:,} accounts"
    )
    hosts = gen.hosts.column("host").to_pylist()
    data = stage(
        "generate_register",
        "generate the register",
        lambda: generate_register(gen.model, hosts, n_parties, n_grants, args.seed),
    )
    rss_before = peak_rss_gb()

    with tempfile.TemporaryDirectory(prefix="sekimori-govern-bench-") as tmp:
        register = Register(f"sqlite:///{Path(tmp) / 'cases.db'}")
        try:
            report = stage(
                "import", "import into SQLite (one transaction)", lambda: register.import_records(data, ADMIN)
            )
            figures["imported"] = {k: len(v) for k, v in report.inserted.items()}
            if not args.no_review:
                start = AS_OF - timedelta(days=60)
                status = stage(
                    "review_start",
                    "start a review (every grant in force)",
                    lambda: start_review(
                        register, "R-bench", "benchmark", AS_OF - timedelta(days=30), ADMIN, today=start
                    ),
                )
                figures["review_items"] = status.total
            found = stage("findings", "findings", lambda: findings(register, model, graph=graph, as_of=AS_OF))
            parties = [p.record.row()["id"] for p in data["parties"]]
            posture = stage(
                "posture", "group_posture", lambda: group_posture(found, AS_OF, organisations=parties)
            )
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                findings(register, model, graph=graph, as_of=AS_OF)
                profiler.disable()
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(args.profile)
                console.print(text.getvalue(), highlight=False, markup=False)
            audit_ok = register.verify().ok
        finally:
            register.close()
    figures["peak_rss_gb"] = round(peak_rss_gb(), 3)
    figures["rss_before_import_gb"] = round(rss_before, 3)
    figures["findings"] = {"total": len(found), **dict(sorted(Counter(str(f.kind) for f in found).items()))}
    figures["posture"] = {"group_score": posture.group.score, "organisations": len(posture.organisations)}
    figures["audit_chain_ok"] = audit_ok
    measured = figures["findings_s"] + figures["posture_s"]
    figures["findings_posture_s"] = round(measured, 3)
    figures["total_s"] = round(figures["import_s"] + figures.get("review_start_s", 0.0) + measured, 3)
    figures["goal_met"] = measured < GOAL_S

    console.print(f"  findings by kind: {figures['findings']}")
    console.print(f"  posture: group score {posture.group.score}, {len(posture.organisations)} organisations")
    table = Table(title=f"govern: findings and posture against the {GOAL_S:g} s goal")
    for column in ("figure", "value", "goal", "status"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    table.add_row("build_graph (not in the goal)", f"{figures['build_graph_s']:.2f} s", "", "")
    table.add_row(
        f"import ({n_parties:,} parties, {n_grants:,} grants)", f"{figures['import_s']:.2f} s", "", ""
    )
    if "review_start_s" in figures:
        table.add_row(
            f"review start ({figures['review_items']:,} items)", f"{figures['review_start_s']:.2f} s", "", ""
        )
    table.add_row("findings", f"{figures['findings_s']:.2f} s", "", "")
    table.add_row("group_posture", f"{figures['posture_s']:.2f} s", "", "")
    met = "[green]met[/]" if measured < GOAL_S else "[red]not met[/]"
    table.add_row("findings + posture", f"{measured:.2f} s", f"< {GOAL_S:g} s", met)
    table.add_row("total (import, review, findings, posture)", f"{figures['total_s']:.2f} s", "", "")
    table.add_row("peak RSS (ru_maxrss)", f"{figures['peak_rss_gb']:.2f} GB", "", "")
    console.print(table)
    sys.stdout.write(json.dumps(figures, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
