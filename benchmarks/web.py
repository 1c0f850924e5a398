"""Server time of each page of the web face (``sekimori.web``) on a store of ~1,000,000 events and the
graph benchmark's group, against the goals: every page under 300 ms at the 95th percentile, the alert
queue's paging under 100 ms.

    python benchmarks/web.py [--scale 1.0] [--seed 7] [--events N] [--requests 20] [--budget 30]
                             [--keep DIR]

1. Builds the graph benchmark's group (``benchmarks/graph.py``'s generator, imported; ``--scale`` shrinks
   its sizes but the organisations, as ``benchmarks/govern.py`` does) and writes its model as a JSON
   model file (what ``WebSettings.model`` loads).
2. Writes ``--events`` (default 1,000,000 × scale) Windows Security 4624 records in the NXLog flat JSON
   shape of OTRF Security-Datasets, drawn from the group's observed logons (weighted by their counts,
   times spread between their first and last sight), ingests them with ``Store.ingest`` and runs the
   boundary and behaviour detectors with the model (Sigma is not run: on logon records alone it finds
   little and its time is ``benchmarks/detect_scale.py``'s subject). Opens cases over in-scope and
   out-of-scope alerts in a SQLite case database beside the store.
3. In a fresh process (its own peak RSS is the web face's), opens the app in process (Starlette's
   TestClient) signed in as an admin and as an analyst scoped to the contractor with the most alerts,
   discovers every GET route of ``create_app(...).routes`` at run time, fills path parameters it knows
   (an alert, a case, a user, an organisation of the data) and times ``--requests`` requests of each
   (after one first request, shown apart: caches fill there; fewer, at least one, when a page's requests
   pass ``--budget`` seconds) with ``perf_counter`` around the request;
   ``/api`` routes with each user's bearer token. Routes whose parameters it cannot fill are listed as
   not measured.
4. Prints a table per page and user (status, first, p50, p95, max, goal) and one JSON line with every
   figure. ``--keep DIR``: build the store in DIR (or reuse the one there) instead of a temporary folder.
   Before the first request the caches are warmed as ``sekimori serve`` warms them at start (the time
   of each part is printed); ``--cold`` leaves them to the first requests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Not this folder: its sigma.py would stand in for the pySigma package the detectors import.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sekimori.detect import alerts_from_table, run_detectors  # noqa: E402
from sekimori.respond import CaseStore, Principal  # noqa: E402
from sekimori.store import Store  # noqa: E402

PAGE_GOAL_MS = 300.0  # every page, 95th percentile
QUEUE_GOAL_MS = 100.0  # the alert queue's paging, 95th percentile
PASSWORD = "bench horse battery staple!"
SETUP = Principal("bench", "setup", "setup")
FILES = 4  # log files written (ingest reads them in parallel)
QUEUE_PATHS = ("/alerts", "/api/v1/alerts")  # held to QUEUE_GOAL_MS
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _graph_benchmark() -> Any:
    """benchmarks/graph.py as a module (its generator and sizes); registered before it runs, as its
    dataclasses need."""
    spec = importlib.util.spec_from_file_location("graph_benchmark", REPO / "benchmarks" / "graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the store -------------------------------------------------------------------------------------


def scaled(gb: Any, scale: float) -> Any:
    base = gb.Sizes()
    return gb.Sizes(
        orgs=base.orgs,
        hosts=max(2_000, round(base.hosts * scale)),
        accounts=max(5_000, round(base.accounts * scale)),
        logons=max(10_000, round(base.logons * scale)),
        systems=max(100, round(base.systems * scale)),
        stores=max(50, round(base.stores * scale)),
    )


def write_logs(gen: Any, events: int, seed: int, folder: Path) -> None:
    """``events`` 4624 records in the flat JSON shape, drawn from ``gen``'s observed logons."""
    logons = gen.logons
    rng = np.random.default_rng(seed + 2)
    weight = logons["count"].to_numpy().astype(float)
    pick = rng.choice(logons.num_rows, size=events, p=weight / weight.sum())
    first = logons["first_seen"].cast("int64").to_numpy()[pick]
    last = logons["last_seen"].cast("int64").to_numpy()[pick]
    micros = first + (rng.random(events) * (last - first)).astype(np.int64)
    order = np.argsort(micros, kind="stable")  # in time order, as a log is written
    labels = dict(zip(gen.hosts["host"].to_pylist(), gen.hosts["label"].to_pylist(), strict=True))
    accounts = logons["account_label"].to_pylist()
    sources, targets = logons["src"].to_pylist(), logons["dst"].to_pylist()
    types = logons["logon_type"].to_pylist()
    folder.mkdir(parents=True)
    per = -(-events // FILES)
    for f in range(FILES):
        with open(folder / f"security-{f}.json", "wb") as out:
            for n in range(f * per, min(events, (f + 1) * per)):
                i = int(pick[order[n]])
                domain, _, user = accounts[i].partition("\\")
                stamp = datetime.fromtimestamp(int(micros[order[n]]) / 1e6, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"
                )
                record = {
                    "EventID": 4624,
                    "Channel": "Security",
                    "SourceName": "Microsoft-Windows-Security-Auditing",
                    "Hostname": labels.get(targets[i], targets[i]),
                    "EventRecordID": n + 1,
                    "TimeCreated": stamp,
                    "TargetUserName": user,
                    "TargetDomainName": domain,
                    "LogonType": types[i],
                    "WorkstationName": sources[i].upper() if sources[i] else "-",
                    "IpAddress": "-",
                }
                out.write(orjson.dumps(record) + b"\n")


def build(root: Path, scale: float, events: int, seed: int, console: Console) -> dict[str, Any]:
    """The store, model and case database under ``root``; what the measuring process needs to know."""
    gb = _graph_benchmark()
    figures: dict[str, Any] = {}

    def stage(name: str, text: str, fn: Any) -> Any:
        started = time.perf_counter()
        result = fn()
        figures[f"{name}_s"] = round(time.perf_counter() - started, 2)
        console.print(f"  {text}: {figures[f'{name}_s']:.1f} s")
        return result

    gen = stage(
        "generate_group", "generate the group (graph benchmark)", lambda: gb.generate(scaled(gb, scale), seed)
    )
    model_path = root / "model.json"
    model_path.write_text(json.dumps(gen.model))
    from sekimori.model import load_model

    model = load_model(model_path)
    stage(
        "write_logs",
        f"write {events:,} 4624 records (flat JSON)",
        lambda: write_logs(gen, events, seed, root / "logs"),
    )
    store = Store(root / "store")
    report = stage("ingest", "Store.ingest", lambda: store.ingest([str(root / "logs")]))
    figures["events"] = report.events
    stage(
        "detect",
        "run_detectors (boundary, behaviour)",
        lambda: run_detectors(store, model, only=["boundary", "behaviour"]),
    )
    table = store.sql("SELECT * FROM alerts WHERE source = 'boundary' ORDER BY time, alert_id")
    boundary = alerts_from_table(table)
    counts = Counter(o for a in boundary for o in a.organisations if o.startswith("o"))
    contractors = {o["id"] for o in gen.model["organisations"] if o["kind"] == "contractor"}
    scope = max((o for o in counts if o in contractors), key=lambda o: counts[o])
    inside = [a for a in boundary if scope in a.organisations]
    outside = [a for a in boundary if scope not in a.organisations]
    database = f"sqlite:///{root / 'cases.db'}"
    with CaseStore(database) as cases:
        in_cases = [cases.open_case(f"{scope} {n}", inside[2 * n : 2 * n + 2], SETUP).id for n in range(20)]
        out_cases = [cases.open_case(f"other {n}", outside[2 * n : 2 * n + 2], SETUP).id for n in range(20)]
    figures["alerts"] = int(store.sql("SELECT count(*) AS n FROM alerts").column("n")[0].as_py())
    info = {
        "model": str(model_path),
        "store": str(root / "store"),
        "database": database,
        "scope": scope,
        "alert": inside[0].alert_id,
        "case": in_cases[0],
        "out_case": out_cases[0],
        "host": inside[0].host,
        "account": inside[0].account,
        "build": figures,
    }
    (root / "bench.json").write_text(json.dumps(info))
    return info


# --- the measuring process -------------------------------------------------------------------------


def _sign_in(client: Any, login: str) -> None:
    client.cookies.clear()
    form = client.get("/signin")
    found = CSRF.search(form.text)
    assert found, "no CSRF token in the sign-in page"
    data = {"login": login, "password": PASSWORD, "csrf": found.group(1), "next": "/"}
    response = client.post("/signin", data=data)
    assert response.status_code == 303, response.text


def _fill(path: str, params: list[str], values: dict[str, str]) -> str | None:
    for name in params:
        if name not in values:
            return None
        path = re.sub(r"\{" + name + r"(:[^}]*)?\}", values[name], path)
    return path


def measure(root: Path, requests: int, budget_s: float, warm_first: bool = True) -> dict[str, Any]:
    """Every GET page, timed, as the admin and the scoped analyst (run in its own process)."""
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from sekimori.web import WebSettings, create_app, open_state

    info = json.loads((root / "bench.json").read_text())
    settings = WebSettings(store=Path(info["store"]), database=info["database"], model=Path(info["model"]))
    started = time.perf_counter()
    state = open_state(settings)
    open_s = time.perf_counter() - started
    rss_open = peak_rss_mb()
    app = create_app(settings, state)
    warm: dict[str, float] = {}
    if warm_first:
        from sekimori.web.warm import warm_caches

        warm = {part: round(seconds, 2) for part, seconds in warm_caches(app).items()}
    users: dict[str, dict[str, Any]] = {}
    for login, roles, orgs in (("admin", {"admin"}, set()), ("analyst", {"analyst"}, {info["scope"]})):
        if state.accounts.authenticate(login, PASSWORD) is None:
            one_time = state.accounts.create_user(SETUP, login, roles, orgs)
            account = state.accounts.authenticate(login, one_time)
            assert account is not None
            state.accounts.set_password(account.principal, account, one_time, PASSWORD)
        account = state.accounts.authenticate(login, PASSWORD)
        assert account is not None
        users[login] = {"account": account, "token": state.accounts.create_token(account, "bench")}
    values = {
        "alert_id": info["alert"],
        "case_id": info["case"],
        "user_id": str(users["analyst"]["account"].id),
        "org": info["scope"],
        "org_id": info["scope"],
        "organisation": info["scope"],
        "host": info["host"] or "",
        "account": info["account"] or "",
    }
    values = {k: v for k, v in values.items() if v}
    targets: list[tuple[str, str]] = []  # (label, url)
    not_measured: list[str] = []
    for route in app.routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or ()):
            continue
        url = _fill(route.path, list(route.param_convertors), values)
        if url is None:
            not_measured.append(route.path)
        elif (route.path, url) not in targets:
            targets.append((route.path, url))
    rows: list[dict[str, Any]] = []
    with TestClient(app, follow_redirects=False) as client:
        pages = client.get("/api/v1/alerts", headers={"authorization": f"Bearer {users['admin']['token']}"})
        total = pages.json()["total"] if pages.status_code == 200 else 0
        deep = max(1, int(0.9 * -(-total // settings.page_size)))
        # The queue's first pages are the discovered /alerts and /api/v1/alerts routes.
        queue = [
            (f"queue: deep page ({deep})", f"/alerts?page={deep}"),
            ("queue: filtered", f"/alerts?source=boundary&level=high&org={info['scope']}"),
            ("queue: text search", "/alerts?q=logon"),
            (f"api queue: deep page ({deep})", f"/api/v1/alerts?page={deep}"),
            ("api queue: filtered", f"/api/v1/alerts?source=boundary&level=high&org={info['scope']}"),
        ]
        for login, user in users.items():
            _sign_in(client, login)
            bearer = {"authorization": f"Bearer {user['token']}"}
            for label, url in [*targets, *queue]:
                print(f"  {login}: {url}", file=sys.stderr, flush=True)
                headers = bearer if url.startswith("/api/") else {}
                t0 = time.perf_counter()
                first = client.get(url, headers=headers)
                first_ms = (time.perf_counter() - t0) * 1000
                response, times = first, list[float]()
                # one timed request at least; more, up to ``requests``, while the page's budget lasts
                while len(times) < requests and (not times or first_ms + sum(times) < budget_s * 1000):
                    t0 = time.perf_counter()
                    response = client.get(url, headers=headers)
                    times.append((time.perf_counter() - t0) * 1000)
                rows.append(
                    {
                        "page": label,
                        "url": url,
                        "user": login,
                        "status": response.status_code
                        if response.status_code == first.status_code
                        else f"{first.status_code}/{response.status_code}",
                        "requests": len(times),
                        "first_ms": round(first_ms, 1),
                        "p50_ms": round(float(np.percentile(times, 50)), 1),
                        "p95_ms": round(float(np.percentile(times, 95)), 1),
                        "max_ms": round(max(times), 1),
                        "queue": url in QUEUE_PATHS or label.startswith(("queue:", "api queue:")),
                    }
                )
    state.close()
    return {
        "alerts_total": total,
        "open_state_s": round(open_s, 2),
        "warm_s": warm,
        "rss_after_open_mb": round(rss_open, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "pages": rows,
        "not_measured": not_measured,
    }


# --- main ------------------------------------------------------------------------------------------


def report(console: Console, info: dict[str, Any], result: dict[str, Any], requests: int) -> dict[str, Any]:
    table = Table(title=f"web: server time per page (ms), n timed requests (up to {requests}) after a first")
    for column in ("page", "url", "user", "status", "n", "first", "p50", "p95", "max", "goal", ""):
        table.add_column(column, justify="left" if column in ("page", "url", "user") else "right")
    met_all = True
    for row in result["pages"]:
        goal = QUEUE_GOAL_MS if row["queue"] else PAGE_GOAL_MS
        met = row["p95_ms"] < goal
        met_all &= met
        row["goal_ms"], row["met"] = goal, met
        table.add_row(
            row["page"],
            "" if row["page"] == row["url"] else row["url"],
            row["user"],
            str(row["status"]),
            str(row["requests"]),
            f"{row['first_ms']:.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            f"{row['max_ms']:.1f}",
            f"< {goal:.0f}",
            "[green]met[/]" if met else "[red]not met[/]",
        )
    console.print(table)
    if result["warm_s"]:
        parts = ", ".join(f"{part} {seconds:.1f} s" for part, seconds in result["warm_s"].items())
        console.print(f"  warmed before the first request (as sekimori serve does at start): {parts}")
    if result["not_measured"]:
        console.print(f"  not measured (path parameters not filled): {', '.join(result['not_measured'])}")
    console.print(
        f"  {info['build'].get('events', 0):,} events, {result['alerts_total']:,} alerts (admin's queue); "
        f"open_state {result['open_state_s']:.1f} s; peak RSS of the web process "
        f"{result['peak_rss_mb']:.0f} MB ({result['rss_after_open_mb']:.0f} MB after open_state); "
        f"every goal {'met' if met_all else 'NOT met'}"
    )
    return {"build": info["build"], "scope": info["scope"], **result, "goals_met": met_all}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="share of the full sizes (0.05: a quick run)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--events", type=int, help="events in the store (default 1,000,000 × scale)")
    ap.add_argument("--requests", type=int, default=20, help="timed requests per page and user")
    ap.add_argument(
        "--budget", type=float, default=30.0, help="seconds of timed requests per page before fewer are taken"
    )
    ap.add_argument("--keep", help="build the store in this folder, or reuse the one built there")
    ap.add_argument(
        "--cold", action="store_true", help="do not warm the caches first (the first requests fill them)"
    )
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # the measuring child: the built folder
    args = ap.parse_args()
    if args.measure:
        sys.stdout.write(
            json.dumps(measure(Path(args.measure), args.requests, args.budget, not args.cold), default=str)
            + "\n"
        )
        return 0
    events = args.events or max(10_000, round(1_000_000 * args.scale))
    console = Console(width=170)
    console.print(
        f"[bold]sekimori web benchmark[/]  (scale {args.scale:g}, {events:,} events, seed {args.seed}, "
        f"cpus {os.cpu_count()}, python {sys.version.split()[0]})"
    )
    with tempfile.TemporaryDirectory(prefix="sekimori-web-bench-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        if (root / "bench.json").exists():
            info = json.loads((root / "bench.json").read_text())
            console.print(f"  reusing the store built in {root}")
        else:
            root.mkdir(parents=True, exist_ok=True)
            info = build(root, args.scale, events, args.seed, console)
        console.print(f"  {info['build'].get('alerts', 0):,} alerts stored; scoped analyst: {info['scope']}")
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(root),
                *("--requests", str(args.requests)),
                *("--budget", str(args.budget)),
                *(("--cold",) if args.cold else ()),
            ],
            stdout=subprocess.PIPE,  # its progress goes to stderr, shown as it comes
            text=True,
            cwd=REPO,
        )
        if child.returncode != 0:
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])
        figures = report(console, info, result, args.requests)
    figures.update(scale=args.scale, seed=args.seed, requests=args.requests)
    sys.stdout.write(json.dumps(figures, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
