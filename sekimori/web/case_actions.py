"""The case page's workflow: its timeline, its scope hop by hop (each hop's raw events one click away),
entries, the containment plan as dry-runs, proposing a step, approving it (never by the person who
proposed it: the case store compares principals and its refusal is shown as it is), executing and
rolling it back, and the reports due with their deadlines. Every endpoint first checks that the user
may see the case (404 otherwise, as for an unknown case)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sekimori.report import build, facts_from_case, report_kinds
from sekimori.respond import (
    CONNECTORS,
    CaseError,
    EntryKind,
    dry_run_plan,
    propose_containment,
    scope_case,
    stored_scope,
    timeline_of_case,
)
from sekimori.web.data import case_alert_orgs, case_visible
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import add_messages
from sekimori.web.triage import MAX_ID, may, visible_alert

if TYPE_CHECKING:
    from sekimori.respond import Case, ContainmentAction, Scope, Scoped

MAX_ENTRY = 4000
MAX_EVENTS = 20

add_messages(
    {
        "case_scope": ("Scope, hop by hop", "影響範囲(ホップごと)"),
        "case_run_scope": ("Work out the scope", "影響範囲を調べる"),
        "case_no_scope": ("No scope yet.", "影響範囲はまだ調べていません。"),
        "case_hop": ("Hop", "ホップ"),
        "case_since": ("Since", "開始"),
        "case_via": ("How", "経路"),
        "case_raw_events": ("Raw events", "元イベント"),
        "case_entries": ("Entries", "記録"),
        "case_add_entry": ("Add entry", "記録を追加"),
        "case_kind": ("Kind", "種類"),
        "case_text": ("Text", "内容"),
        "case_actor": ("By", "実施者"),
        "case_plan": ("Containment plan (dry-run)", "封じ込め計画(ドライラン)"),
        "case_changes": ("Changes", "変更内容"),
        "case_connector": ("Connector", "コネクタ"),
        "case_propose": ("Propose", "提案"),
        "case_approve": ("Approve", "承認"),
        "case_execute": ("Execute", "実行"),
        "case_rollback": ("Roll back", "ロールバック"),
        "case_requested": ("Proposed by", "提案者"),
        "case_approved": ("Approved by", "承認者"),
        "case_reversible": ("reversible", "元に戻せる"),
        "case_refused": ("Refused:", "拒否されました:"),
        "case_figures": ("Figures", "指標"),
        "case_dwell": ("Dwell time", "滞留時間"),
        "case_to_contain": ("Time to contain", "封じ込めまでの時間"),
        "case_reports": ("Reports due", "必要な報告"),
        "case_report_due": ("Due", "期限"),
        "case_mandatory": ("Required", "義務"),
        "case_yes": ("yes", "あり"),
        "case_no": ("no", "なし"),
        "case_undecided": ("not decided yet", "未判断"),
        "case_event": ("Event", "イベント"),
        "case_back": ("Back to the case", "ケースに戻る"),
        "case_other_org": ("(another organisation)", "(他の組織)"),
    }
)


def _case_of(ctx: Ctx) -> Case | None:
    """The case of the path, if it exists and the user may see it."""
    assert ctx.account is not None
    try:
        case = ctx.web.cases.get(ctx.request.path_params["case_id"][:MAX_ID])
    except CaseError:
        return None
    return case if case_visible(ctx.web.model, ctx.account, case) else None


def _back(case_id: str) -> Response:
    return RedirectResponse(f"/cases/{quote(case_id, safe='')}", status_code=303)


def _evidence_link(case_id: str, item: dict[str, Any]) -> str:
    query = urlencode({"path": item.get("path") or "", "record": item.get("record_id")})
    return f"/cases/{quote(case_id, safe='')}/evidence?{query}"


def _shown(ctx: Ctx, item: Scoped) -> bool:
    """Whether the user may see a scope entity: one of their organisations (an entity no organisation
    claims is for those who see all, as an alert no organisation claims)."""
    assert ctx.account is not None
    return ctx.account.sees_all or (item.org is not None and item.org in ctx.account.orgs)


def _entities(scope: Scope) -> list[tuple[str, Scoped]]:
    return [
        (kind, s)
        for kind, group in (("host", scope.hosts), ("account", scope.accounts), ("data", scope.data_stores))
        for s in group
    ]


def visible_targets(ctx: Ctx, scope: Scope | None) -> set[str] | None:
    """The action targets the user may see and act on (``None``: all, for those who see all)."""
    assert ctx.account is not None
    if ctx.account.sees_all:
        return None
    found: set[str] = set()
    for _, s in _entities(scope) if scope is not None else ():
        if _shown(ctx, s):
            found |= {v for v in (s.label, s.key, s.address) if v}
    return found


def scope_rows(ctx: Ctx, case_id: str, scope: Scope) -> list[dict[str, Any]]:
    """The scope's entities in time order, each with links to the raw events of its hop; an entity of
    another organisation than the user's shows only that it is there."""
    rows: list[dict[str, Any]] = []
    for kind, s in _entities(scope):
        row: dict[str, Any] = {"kind": kind, "hop": s.hop, "since": s.since, "shown": _shown(ctx, s)}
        if row["shown"]:
            links = [
                (f"{e['path'].rsplit('/', 1)[-1]} #{e['record_id']}", _evidence_link(case_id, e))
                for e in s.evidence
                if e.get("path") and e.get("record_id") is not None
            ]
            row |= {"label": s.label, "org": s.org, "via": s.via, "links": links}
        rows.append(row)
    rows.sort(key=lambda r: (r["since"], r["hop"], r.get("label", "")))
    return rows


def plan_rows(ctx: Ctx, scope: Scope | None) -> list[dict[str, Any]]:
    """The containment steps for the scope the user may see, each with its dry-run and the connectors
    able to carry it out."""
    if scope is None:
        return []
    able = CONNECTORS.all()
    targets = visible_targets(ctx, scope)
    return [
        {
            "index": i,
            "step": step,
            "connectors": [n for n, cls in able.items() if step.action.kind in cls.kinds],
        }
        for i, step in enumerate(dry_run_plan(scope, ctx.web.model))
        if targets is None or step.action.target in targets
    ]


def _hidden_vias(ctx: Ctx, scope: Scope | None) -> set[str]:
    return {s.via for _, s in (_entities(scope) if scope is not None else ()) if not _shown(ctx, s)}


def reports_due(ctx: Ctx, case: Case, actions: list[ContainmentAction]) -> list[dict[str, Any]]:
    """Each report kind for the case's facts: whether it is required, and its deadlines' status now."""
    facts = facts_from_case(case, actions=actions)
    now = datetime.now(UTC)
    out = []
    for name in report_kinds():
        doc = build(name, facts, ctx.lang, now)
        deadlines = [(d.name, d.due, d.status(doc.as_of)) for d in doc.deadlines]
        out.append({"title": doc.title, "mandatory": doc.mandatory, "deadlines": deadlines})
    return out


def render_case(ctx: Ctx, case: Case, message: str = "", status: int = 200) -> Response:
    """The case page (``message``: a refusal to show, e.g. the two-person rule's)."""
    scope = stored_scope(case)
    targets = visible_targets(ctx, scope)
    actions = [a for a in ctx.web.cases.actions(case.id) if targets is None or a.target in targets]
    timeline = timeline_of_case(case, actions)
    hidden = _hidden_vias(ctx, scope)
    items = [i for i in timeline.items if not (i.source == "scope" and i.text in hidden)]
    return ctx.render(
        "case.html.j2",
        status=status,
        case=case,
        actions=actions,
        alert_orgs={a.alert_id: case_alert_orgs(ctx.web.model, a) for a in case.alerts},
        timeline_items=items,
        figures=timeline.figures(),
        scope_rows=scope_rows(ctx, case.id, scope) if scope is not None else None,
        plan=plan_rows(ctx, scope),
        reports=reports_due(ctx, case, actions),
        entry_kinds=[str(k) for k in EntryKind],
        message=message,
        can_triage=may(ctx.account, "triage"),
        can_approve=may(ctx.account, "approve"),
        can_execute=may(ctx.account, "execute"),
        alert_ids={a.alert_id for a in case.alerts},
    )


@guarded("triage")
def run_scope(ctx: Ctx) -> Response:
    """Follow the case's alerts through the store (:func:`sekimori.respond.scope_case`), kept in it."""
    assert ctx.account is not None
    case = _case_of(ctx)
    if case is None:
        return ctx.error(404, "not_found")
    alerts = [a for a in (visible_alert(ctx, c.alert_id) for c in case.alerts) if a is not None]
    scope_case(ctx.web.cases, case.id, ctx.web.alerts.store, alerts, ctx.web.model, ctx.account.principal)
    return _back(case.id)


@guarded("triage")
def add_entry(ctx: Ctx) -> Response:
    assert ctx.account is not None
    case = _case_of(ctx)
    if case is None:
        return ctx.error(404, "not_found")
    text = ctx.form.get("text", "").strip()[:MAX_ENTRY]
    if not text:
        return render_case(ctx, case, ctx.t("case_text") + ": " + ctx.t("none"), status=400)
    try:
        ctx.web.cases.add_entry(case.id, ctx.form.get("kind", "note"), text, ctx.account.principal)
    except CaseError as exc:
        return render_case(ctx, case, str(exc), status=400)
    return _back(case.id)


@guarded("triage")
def propose(ctx: Ctx) -> Response:
    """Store a step of the case's plan for approval. The step is taken from the plan worked out again
    from the stored scope, by its number: a form cannot make up an action."""
    assert ctx.account is not None
    case = _case_of(ctx)
    if case is None:
        return ctx.error(404, "not_found")
    scope = stored_scope(case)
    steps = propose_containment(scope, ctx.web.model) if scope is not None else []
    index = ctx.form.get("step", "")
    if not index.isdigit() or int(index) >= len(steps):
        return render_case(ctx, case, ctx.t("not_found"), status=400)
    step = steps[int(index)]
    targets = visible_targets(ctx, scope)
    if targets is not None and step.action.target not in targets:
        return ctx.error(404, "not_found")
    connector = ctx.form.get("connector", step.connector)[:MAX_ID]
    try:
        ctx.web.cases.propose(case.id, step.action, connector, ctx.account.principal)
    except CaseError as exc:
        return render_case(ctx, case, str(exc), status=409)
    return _back(case.id)


def _action_step(ctx: Ctx, step: str) -> Response:
    """Approve, execute or roll back the action of the path through the case store."""
    assert ctx.account is not None
    case = _case_of(ctx)
    if case is None:
        return ctx.error(404, "not_found")
    raw = ctx.request.path_params["action_id"]
    targets = visible_targets(ctx, stored_scope(case))
    owned = {a.id for a in ctx.web.cases.actions(case.id) if targets is None or a.target in targets}
    if not raw.isdigit() or int(raw) not in owned:  # an action of another case is not reached from here
        return ctx.error(404, "not_found")
    who, action_id = ctx.account.principal, int(raw)
    try:
        if step == "approve":
            ctx.web.cases.approve(action_id, who)
        elif step == "execute":
            ctx.web.cases.execute(action_id, who)
        else:
            ctx.web.cases.rollback(action_id, who)
    except CaseError as exc:
        return render_case(ctx, case, str(exc), status=409)
    return _back(case.id)


@guarded("approve")
def approve(ctx: Ctx) -> Response:
    return _action_step(ctx, "approve")


@guarded("execute")
def execute(ctx: Ctx) -> Response:
    return _action_step(ctx, "execute")


@guarded("execute")
def rollback(ctx: Ctx) -> Response:
    return _action_step(ctx, "rollback")


@guarded("read")
def evidence(ctx: Ctx) -> Response:
    """The raw events of a hop of the case's scope: only a (file, record) the stored scope names."""
    case = _case_of(ctx)
    if case is None:
        return ctx.error(404, "not_found")
    path = ctx.request.query_params.get("path", "")
    record = ctx.request.query_params.get("record", "")
    scope = stored_scope(case)
    named = {
        (str(e.get("path")), str(e.get("record_id")))
        for _, s in (_entities(scope) if scope is not None else ())
        if _shown(ctx, s)
        for e in s.evidence
        if e.get("record_id") is not None
    }
    if not record.isdigit() or (path, record) not in named:
        return ctx.error(404, "not_found")
    reader = ctx.web.alerts
    with reader.connection() as con:
        table = con.sql(
            """SELECT time, source_format, host, principal, domain, activity, outcome, src_host, src_ip,
                      target_host, process, command_line, object, source_file, record_id, raw
               FROM events WHERE source_file = $path AND record_id = $record
               ORDER BY time, uid LIMIT $limit""",
            params={"path": path, "record": int(record), "limit": MAX_EVENTS},
        ).to_arrow_table()
    return ctx.render("case_evidence.html.j2", case=case, file=path, record=record, events=table.to_pylist())


ROUTES = [
    Route("/cases/{case_id}/scope", run_scope, methods=["POST"]),
    Route("/cases/{case_id}/entries", add_entry, methods=["POST"]),
    Route("/cases/{case_id}/propose", propose, methods=["POST"]),
    Route("/cases/{case_id}/actions/{action_id}/approve", approve, methods=["POST"]),
    Route("/cases/{case_id}/actions/{action_id}/execute", execute, methods=["POST"]),
    Route("/cases/{case_id}/actions/{action_id}/rollback", rollback, methods=["POST"]),
    Route("/cases/{case_id}/evidence", evidence, methods=["GET"]),
]
