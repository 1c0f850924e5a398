"""The graph explorer: pick an entry, see its blast radius in people, the attack paths hop by hop, the
choke points, and what-if changes toggled on and off; the neighbourhood drawn with Cytoscape.js
(organisations as groups, zones expanded on demand). The answers are the graph stage's
(:mod:`sekimori.graph`), shaped and scoped by :mod:`sekimori.web.explorer_data`."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sekimori.graph import (
    GraphError,
    attack_paths,
    blast_radius,
    choke_points,
    draw_graph,
    parse_change,
    paths_view,
)
from sekimori.web.explorer_data import (
    Redactor,
    blast_json,
    change_error,
    changes_of,
    choke_json,
    entry_for,
    organisations,
    paths_json,
    search_entries,
    view_json,
    zone_hosts_json,
)
from sekimori.web.explorer_graph import ExplorerError, explorer_of
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import add_messages

PATHS_SHOWN = 5

add_messages(
    {
        "graph": ("Graph", "グラフ"),
        "graph_title": ("Graph explorer", "グラフエクスプローラー"),
        "graph_no_model": (
            "No group model is loaded: the graph cannot be drawn.",
            "グループモデルが読み込まれていないため、グラフを表示できません。",
        ),
        "graph_entry": ("Entry point", "侵入点"),
        "graph_pick_org": ("Organisation", "組織"),
        "graph_search": ("Host, account, zone or system", "ホスト・アカウント・ゾーン・システム"),
        "graph_show": ("Show", "表示"),
        "graph_people": ("People exposed", "影響を受ける人数"),
        "graph_people_before": ("before the changes", "変更前"),
        "graph_category": ("Category", "区分"),
        "graph_soc": ("of which secrecy of communications", "うち通信の秘密"),
        "graph_systems": ("Systems reached", "到達するシステム"),
        "graph_stores": ("Data stores reached", "到達するデータストア"),
        "graph_paths": ("Attack paths", "攻撃経路"),
        "graph_choke": ("Choke points", "チョークポイント"),
        "graph_whatif": ("What if", "もしも"),
        "graph_whatif_help": (
            "Toggle a change, or type one (e.g. 'block flow F', 'remove grant G', 'separate realm R').",
            "変更を切り替えるか、入力してください"
            "(例: 'block flow F'、'remove grant G'、'separate realm R')。",
        ),
        "graph_add_change": ("Add", "追加"),
        "graph_protects": ("protects", "保護"),
        "graph_cuts_off": ("cuts the entry off", "侵入点を遮断"),
        "graph_view": ("Neighbourhood", "周辺"),
        "graph_expand_help": (
            "Double-click a zone to show its hosts, and again to hide them.",
            "ゾーンをダブルクリックするとホストを表示し、もう一度で隠します。",
        ),
        "graph_export_png": ("Export PNG", "PNGで書き出し"),
        "graph_export_svg": ("Export SVG", "SVGで書き出し"),
        "graph_pick_first": ("Pick an entry point.", "侵入点を選んでください。"),
        "graph_loading": ("Working…", "計算中…"),
        "graph_total": ("Total", "合計"),
        "graph_cost": ("cost", "コスト"),
        "graph_fewest": ("Fewest controls that cut it off", "遮断に必要な最少の制御"),
        "graph_scope_note": (
            "You see other organisations' systems and data stores only as far as your entry reaches them; "
            "their hosts and accounts are not named.",
            "他組織のシステムとデータストアは、侵入点から到達する範囲でのみ表示されます。"
            "他組織のホストとアカウントは表示されません。",
        ),
    }
)


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def _answer(ctx: Ctx, work: Callable[[Ctx], Any]) -> Response:
    """``work``'s answer as JSON; a refused question as ``{"error": ...}`` with its status."""
    try:
        return _json(work(ctx))
    except ExplorerError as exc:
        return _json({"error": str(exc)}, exc.status)


def _question(ctx: Ctx) -> tuple[Any, Any, Any, list[str]]:
    """(explorer, graph, entry, changes) of the request, the entry checked against the reader."""
    assert ctx.account is not None
    explorer = explorer_of(ctx.request.app.state, ctx.web)
    graph = explorer.graph()
    entry = entry_for(graph, ctx.account, ctx.request.query_params.get("entry", ""))
    changes = changes_of(ctx.account, ctx.request.query_params.getlist("change"))
    return explorer, graph, entry, changes


def _blast_and_paths(ctx: Ctx, k: int = PATHS_SHOWN) -> tuple[Any, ...]:
    assert ctx.account is not None
    explorer, graph, entry, changes = _question(ctx)
    try:
        parsed = [parse_change(graph, c) for c in changes]
        blast = blast_radius(graph, entry, parsed)
        paths = attack_paths(graph, entry, k=k, changes=parsed)
    except GraphError as exc:
        raise change_error(ctx.account, exc) from None
    before = explorer.protection(entry)[0].people
    removed = {c for change in parsed for c in change.controls}
    return explorer, graph, entry, blast, paths, before, removed


@guarded("read")
def graph_page(ctx: Ctx) -> Response:
    assert ctx.account is not None
    model = ctx.web.model
    orgs = (
        []
        if model is None
        else [o for o in model.organisations if ctx.account.sees_all or o.id in ctx.account.orgs]
    )
    return ctx.render("graph.html.j2", has_model=model is not None, orgs=orgs)


@guarded("read")
def entries(ctx: Ctx) -> Response:
    def work(ctx: Ctx) -> Any:
        assert ctx.account is not None
        graph = explorer_of(ctx.request.app.state, ctx.web).graph()
        found = search_entries(graph, ctx.account, ctx.request.query_params.get("q", ""))
        return {"organisations": organisations(graph, ctx.account), **found}

    return _answer(ctx, work)


@guarded("read")
def blast(ctx: Ctx) -> Response:
    def work(ctx: Ctx) -> Any:
        assert ctx.account is not None
        explorer, graph, entry, changes = _question(ctx)
        try:
            answer = blast_radius(graph, entry, changes)
        except GraphError as exc:
            raise change_error(ctx.account, exc) from None
        return blast_json(answer, explorer.protection(entry)[0].people)

    return _answer(ctx, work)


@guarded("read")
def paths(ctx: Ctx) -> Response:
    def work(ctx: Ctx) -> Any:
        assert ctx.account is not None
        _explorer, graph, entry, changes = _question(ctx)
        k = ctx.request.query_params.get("k", "")
        try:
            found = attack_paths(
                graph, entry, k=min(int(k), 20) if k.isdigit() else PATHS_SHOWN, changes=changes
            )
        except GraphError as exc:
            raise change_error(ctx.account, exc) from None
        return {"entry": entry.to_dict(), "changes": changes, "paths": paths_json(graph, ctx.account, found)}

    return _answer(ctx, work)


@guarded("read")
def choke(ctx: Ctx) -> Response:
    def work(ctx: Ctx) -> Any:
        _explorer, graph, entry, _changes = _question(ctx)
        return choke_json(choke_points(graph, entry))

    return _answer(ctx, work)


@guarded("read")
def view(ctx: Ctx) -> Response:
    """Everything a toggle changes at once: the blast radius, the paths and the neighbourhood."""

    def work(ctx: Ctx) -> Any:
        assert ctx.account is not None
        explorer, graph, entry, answer, found, before, removed = _blast_and_paths(ctx)
        return {
            "blast": blast_json(answer, before),
            "paths": paths_json(graph, ctx.account, found),
            "elements": view_json(explorer, ctx.account, entry, answer, found, removed),
        }

    return _answer(ctx, work)


@guarded("read")
def zone_hosts(ctx: Ctx) -> Response:
    def work(ctx: Ctx) -> Any:
        assert ctx.account is not None
        explorer, graph, entry, changes = _question(ctx)
        try:
            parsed = [parse_change(graph, c) for c in changes]
        except GraphError as exc:
            raise change_error(ctx.account, exc) from None
        protection, lock = explorer.protection(entry)
        try:
            with lock:  # a Protection keeps its restricted engine between calls
                reached = protection.reached_after(parsed)
        except GraphError:
            reached = None  # a change that adds flows or grants: judged on a rebuilt graph only
        zone = ctx.request.query_params.get("zone", "")[:200]
        return zone_hosts_json(explorer, ctx.account, zone, reached)

    return _answer(ctx, work)


def _redacted(graph: Any, reader: Any, picture: Any) -> Any:
    """The picture's view without the hosts and accounts a scoped reader may not see."""
    redact = Redactor(graph, reader)
    names = {n.id: redact.hidden(n.id) for n in picture.nodes}
    hidden = {key: f"hidden:{i}" for i, (key, name) in enumerate(names.items()) if name}
    nodes = [
        dataclasses.replace(n, id=hidden[n.id], label=names[n.id] or n.label) if n.id in hidden else n
        for n in picture.nodes
    ]
    edges = [
        dataclasses.replace(
            e,
            source=hidden.get(e.source, e.source),
            target=hidden.get(e.target, e.target),
            text="" if e.source in hidden or e.target in hidden else e.text,
        )
        for e in picture.edges
    ]
    return dataclasses.replace(picture, nodes=nodes, edges=edges)


@guarded("read")
def export_svg(ctx: Ctx) -> Response:
    """The attack paths as an SVG drawn by the graph stage (the page's PNG is the browser's own)."""
    try:
        _explorer, graph, _entry, answer, found, _before, removed = _blast_and_paths(ctx, k=10)
    except ExplorerError as exc:
        return _json({"error": str(exc)}, exc.status)
    assert ctx.account is not None
    picture = _redacted(graph, ctx.account, paths_view(graph, answer, found, sorted(removed)))
    with tempfile.TemporaryDirectory(prefix="sekimori-svg-") as folder:
        path = draw_graph(picture, Path(folder) / "paths.svg", format="svg")
        body = path.read_bytes()
    return Response(
        body,
        media_type="image/svg+xml",
        headers={"content-disposition": 'attachment; filename="attack-paths.svg"'},
    )


ROUTES = [
    Route("/graph", graph_page, methods=["GET"]),
    Route("/graph/entries", entries, methods=["GET"]),
    Route("/graph/blast", blast, methods=["GET"]),
    Route("/graph/paths", paths, methods=["GET"]),
    Route("/graph/choke", choke, methods=["GET"]),
    Route("/graph/view", view, methods=["GET"]),
    Route("/graph/zone", zone_hosts, methods=["GET"]),
    Route("/graph/export.svg", export_svg, methods=["GET"]),
]
