"""``sekimori paths …``: blast radius, attack paths, choke points and what-if over the group graph.

Thin: it loads the model (and the store's logons, when given), asks :mod:`sekimori.graph`, and prints
rich tables on stderr, or JSON on stdout with ``--json``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sekimori import graph as g  # the stage's names load when first used: a quick start for other commands
from sekimori.cli.common import console, emit, fail, load_model_or_fail

if TYPE_CHECKING:
    from sekimori.graph import AttackPath, BlastRadius, ChokeReport, GroupGraph, WhatIf

paths_app = typer.Typer(
    help="The group as a graph: blast radius, attack paths, choke points, what-if.", no_args_is_help=True
)

ModelOption = Annotated[
    Path, typer.Option("--model", "-m", envvar="SEKIMORI_MODEL", help="Group model YAML.")
]
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store", "-s", envvar="SEKIMORI_STORE", help="Store whose logons join the model (optional)."
    ),
]
EntryArgument = Annotated[
    str, typer.Argument(help="Entry point: org:ID, host:NAME, account:NAME, zone:ID or system:ID.")
]
ChangeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--change",
        "-c",
        help="A what-if change, repeatable: 'separate realm R', 'block flow F', 'block flows ORG -> ORG', "
        "'remove grant G', 'end contract C', 'disable account A', 'isolate host H', 'add flow Z -> Z'.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Judge the grants as of this day: those expired before it give nothing (default: all grants).",
    ),
]


def parse_as_of(value: str | None) -> datetime.date | None:
    """The ``--as-of`` day, or a clear error (exit 2) naming the option."""
    if value is None:
        return None
    try:
        if len(value.strip()) != 10:
            raise ValueError(value)
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"--as-of: expected a date YYYY-MM-DD, got {value!r}") from None


def load_graph(model: Path, store: Path | None, as_of: str | None = None) -> GroupGraph:
    """The graph of the model (and the store's logons), with the grants valid on ``as_of`` (YYYY-MM-DD)."""
    from sekimori.store import Store

    day = parse_as_of(as_of)
    group = load_model_or_fail(model)
    if store is None:
        return g.build_graph(group, as_of=day)
    if not (store / "segments").is_dir():
        raise _fail(f"{store}: not a sekimori store (run `sekimori ingest PATH --store {store}` first)")
    return g.graph_from_store(Store(store), group, as_of=day)


_fail = fail
_emit = emit


def _answer(
    question: Callable[[], Any],
    to_json: Callable[[Any], Any],
    show: Callable[[Console, Any], None],
    json_out: bool,
) -> None:
    """Ask the graph; a question it cannot answer is a clear error; answer as JSON or for a person."""
    try:
        answer = question()
    except g.GraphError as exc:
        raise _fail(str(exc)) from exc
    if json_out:
        _emit(to_json(answer))
    else:
        show(console, answer)


@paths_app.command("blast")
def blast_command(
    entry: EntryArgument,
    model: ModelOption,
    store: StoreOption = None,
    change: ChangeOption = None,
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every system and data store reachable from the entry, and the people exposed per category."""
    graph = load_graph(model, store, as_of)
    _answer(lambda: g.blast_radius(graph, entry, change or []), g.BlastRadius.to_dict, print_blast, json_out)


@paths_app.command("attack")
def attack_command(
    entry: EntryArgument,
    model: ModelOption,
    store: StoreOption = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Target data store or system (default: all).")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Paths to show.")] = 10,
    change: ChangeOption = None,
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
) -> None:
    """The easiest attack paths from the entry to personal data and crown jewels, each hop in words."""
    graph = load_graph(model, store, as_of)
    _answer(
        lambda: g.attack_paths(graph, entry, target=to, k=k, changes=change or []),
        lambda found: [p.to_dict() for p in found],
        print_paths,
        json_out,
    )


@paths_app.command("choke")
def choke_command(
    entry: EntryArgument,
    model: ModelOption,
    store: StoreOption = None,
    node_limit: Annotated[
        int, typer.Option(help="Branch-and-bound nodes the solver may explore to prove the fewest.")
    ] = 20_000,
    budget: Annotated[
        float | None,
        typer.Option(help="Optional cap in seconds on the solver (a cut it stops is labelled 'found')."),
    ] = None,
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
) -> None:
    """The flows, grants and shared realms whose removal cuts the entry off, ranked by people protected,
    and the fewest that cut it off entirely (proved, or labelled as found only)."""
    graph = load_graph(model, store, as_of)
    _answer(
        lambda: g.choke_points(graph, entry, budget_seconds=budget, node_limit=node_limit),
        g.ChokeReport.to_dict,
        print_choke,
        json_out,
    )


@paths_app.command("whatif")
def whatif_command(
    entry: EntryArgument,
    model: ModelOption,
    change: ChangeOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
) -> None:
    """The blast radius before and after changes (separate a realm, block flows, end a contract…)."""
    if not change:
        raise _fail("give at least one --change")
    graph = load_graph(model, store, as_of)
    _answer(lambda: g.what_if(graph, entry, change), g.WhatIf.to_dict, print_what_if, json_out)


@paths_app.command("draw")
def draw_command(
    entry: EntryArgument,
    model: ModelOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="File: .svg, .png, or .json (Cytoscape).")],
    store: StoreOption = None,
    change: ChangeOption = None,
    k: Annotated[int, typer.Option("-k", help="Paths to draw.")] = 6,
    as_of: AsOfOption = None,
) -> None:
    """Draw the attack paths and the data at stake (SVG/PNG), or write Cytoscape.js JSON."""
    from sekimori.graph import draw_graph, paths_view

    graph = load_graph(model, store, as_of)
    try:
        blast = g.blast_radius(graph, entry)
        found = g.attack_paths(graph, entry, k=k)
        removed: list[str] = []
        if change:
            from sekimori.graph import parse_change

            removed = [c for text in change for c in parse_change(graph, text).controls]
        view = paths_view(graph, blast, found, removed=removed)
        written = draw_graph(view, output)
    except (g.GraphError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    console.print(f"{len(view.nodes)} nodes, {len(view.edges)} edges → {written}")


@paths_app.command("summary")
def summary_command(model: ModelOption, store: StoreOption = None, as_of: AsOfOption = None) -> None:
    """Nodes and edges of the graph, per kind (JSON)."""
    _emit(load_graph(model, store, as_of).summary().to_dict())


# --- rendering, shared with the demo ---


def _people(people: dict[str, int]) -> str:
    return ", ".join(f"{cat} {n:,}" for cat, n in people.items()) or "none"


def print_blast(target: Console, result: BlastRadius) -> None:
    e = result.exposure
    changes = f" after {'; '.join(result.changes)}" if result.changes else ""
    table = Table(
        title=f"Blast radius of {escape(result.entry.label)}{escape(changes)}", title_justify="left"
    )
    table.add_column("people exposed", justify="right")
    table.add_column("category")
    for category, n in e.people.items():
        extra = []
        if e.secrecy_of_communications.get(category):
            extra.append(f"of which 通信の秘密 {e.secrecy_of_communications[category]:,}")
        if e.sensitive.get(category):
            extra.append(f"of which 要配慮 {e.sensitive[category]:,}")
        table.add_row(f"{n:,}", category + (f" ({', '.join(extra)})" if extra else ""))
    table.add_row(f"[bold]{e.total:,}[/]", "[bold]in all[/] (each person once)")
    target.print(table)
    stores = ", ".join(d.id for d in result.data_stores) or "none"
    jewels = ", ".join(result.crown_jewels) or "none"
    target.print(
        f"  data stores: {escape(stores)}\n  crown jewels: {escape(jewels)}\n"
        f"  zones: {escape(', '.join(result.zones) or 'none')}; "
        f"{result.hosts:,} hosts, {result.accounts:,} accounts"
    )


def print_paths(target: Console, found: list[AttackPath], limit: int | None = None) -> None:
    if not found:
        target.print("no attack path to personal data or a crown jewel")
        return
    for rank, path in enumerate(found[:limit], 1):
        target.print(
            f"[bold]{rank}. → {escape(path.target_label)}[/] (cost {path.cost:.1f}; {_people(path.people)})",
            highlight=False,
        )
        for hop in path.hops:
            for step in hop.network:
                target.print(f"     [dim]needs: {escape(step)}[/]", highlight=False)
            mark = "" if hop.allowed else " [red](not allowed by the model)[/]"
            target.print(f"   → {escape(hop.text)}{mark}", highlight=False)
        target.print(f"   [dim]controls: {escape(', '.join(path.controls) or 'none')}[/]", highlight=False)


def print_choke(target: Console, report: ChokeReport) -> None:
    table = Table(
        title=f"Choke points for {escape(report.entry.label)} ({report.before.total:,} people exposed)",
        title_justify="left",
    )
    table.add_column("control", overflow="fold", min_width=24)
    table.add_column("people protected", justify="right")
    table.add_column("crown jewels cut", overflow="fold")
    table.add_column("cuts off")
    for point in report.singles:
        table.add_row(
            escape(", ".join(point.controls)),
            f"{point.people_protected:,}",
            escape(", ".join(point.crown_jewels_cut)),
            "yes" if point.cuts_off else "",
        )
    target.print(table)
    if report.cut is None:
        target.print(f"  no cut: {escape(report.method)}")
        return
    # "The fewest" only when proved; a cut the solver's limit stopped is only a cut.
    lead = "fewest controls that cut it off" if report.minimal else "controls that cut it off"
    target.print(
        f"  {lead}: [bold]{escape(', '.join(report.cut.controls))}[/] "
        f"({report.status}: {escape(report.method)}; {report.candidates} candidates)"
    )
    if report.alternatives:
        more = "" if report.complete else " (and maybe more)"
        target.print(f"  other cuts of the same size{more}, by people protected:")
        for alternative in report.alternatives:
            target.print(f"    {escape(', '.join(alternative.controls))}", highlight=False)


def print_what_if(target: Console, result: WhatIf) -> None:
    table = Table(title=f"What if: {escape('; '.join(result.changes))}", title_justify="left")
    table.add_column("category")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    before, after = result.before.exposure.people, result.after.exposure.people
    for category in sorted(set(before) | set(after)):
        table.add_row(category, f"{before.get(category, 0):,}", f"{after.get(category, 0):,}")
    table.add_row(
        "[bold]in all[/]", f"{result.before.exposure.total:,}", f"[bold]{result.after.exposure.total:,}[/]"
    )
    table.add_row(
        "crown jewels",
        escape(", ".join(result.before.crown_jewels) or "none"),
        escape(", ".join(result.after.crown_jewels) or "none"),
    )
    target.print(table)
