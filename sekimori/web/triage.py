"""Triage in the alert queue: select alerts into a new case or a case the user can see, dismiss an alert
with a reason (kept and audited by :class:`sekimori.respond.AlertDismissals`) or restore it, and the
alerts sharing an alert's account or host. Every alert and case named in a form is checked against the
signed-in user's organisations on the server: ids are input, not proof of scope."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sekimori.detect import Alert
from sekimori.respond import AlertDismissals, CaseError, CaseStatus
from sekimori.web.data import AlertFilter, case_visible, organisations_of
from sekimori.web.guard import PERMISSIONS, Ctx, guarded
from sekimori.web.i18n import add_messages

if TYPE_CHECKING:
    from sekimori.respond import CaseStore
    from sekimori.web.accounts import Account

MAX_ID = 200
MAX_SELECTED = 500  # alerts in one bulk triage
SHOW_DISMISSED = ("all", "hide", "only")
SIMILAR_LIMIT = 50
ALERT_FIELD = "alert:"  # a selected alert's checkbox: name="alert:<alert_id>"
PAGE_FIELD = "page:"  # an alert shown on the page (taken when "all on this page" is ticked)

add_messages(
    {
        "triage_selected": ("Selected alerts", "選択したアラート"),
        "triage_new_case": ("Open a new case", "新しいケースを開く"),
        "triage_add_case": ("Add to case", "ケースに追加"),
        "triage_case_title": ("Case title", "ケースのタイトル"),
        "triage_select_all": ("All alerts on this page", "このページのすべてのアラート"),
        "triage_none_selected": ("No alert was selected.", "アラートが選択されていません。"),
        "triage_out_of_scope": (
            "An alert or case is not in your organisations.",
            "担当組織外のアラートまたはケースが含まれています。",
        ),
        "triage_dismiss": ("Dismiss", "却下"),
        "triage_restore": ("Restore", "却下を取り消す"),
        "triage_reason": ("Reason", "理由"),
        "triage_dismissed": ("dismissed", "却下済み"),
        "triage_dismissed_by": ("Dismissed by", "却下した人"),
        "triage_dismissals": ("Dismissals", "却下の履歴"),
        "triage_show_dismissed": ("Dismissed alerts", "却下したアラート"),
        "triage_show_all": ("shown", "表示"),
        "triage_show_hide": ("hidden", "非表示"),
        "triage_show_only": ("only these", "これらのみ"),
        "triage_similar": ("Alerts with the same account or host", "同じアカウントまたはホストのアラート"),
        "triage_select": ("Select", "選択"),
    }
)

_DISMISSALS: weakref.WeakKeyDictionary[CaseStore, AlertDismissals] = weakref.WeakKeyDictionary()
_DISMISSALS_LOCK = threading.Lock()


def dismissals_of(ctx: Ctx) -> AlertDismissals:
    """The dismissals of the app's case database (their table is created once per case store)."""
    with _DISMISSALS_LOCK:
        found = _DISMISSALS.get(ctx.web.cases)
        if found is None:
            found = _DISMISSALS[ctx.web.cases] = AlertDismissals(ctx.web.cases)
        return found


def may(account: Account | None, permission: str) -> bool:
    return account is not None and bool(account.roles & PERMISSIONS[permission])


def case_orgs_of_alert(ctx: Ctx, alert: Alert) -> set[str]:
    """The organisations the alert gives a case (as :func:`sekimori.web.data.case_visible` reads them)."""
    return set(
        organisations_of(ctx.web.model, list(alert.organisations), (alert.host,), None, alert.account, None)
    )


def visible_alert(ctx: Ctx, alert_id: str) -> Alert | None:
    """The alert ``alert_id`` as detection wrote it, if the user may see it and, for a scoped user, it
    keeps a case in their organisations (``None`` otherwise: unknown and out of scope look the same)."""
    assert ctx.account is not None
    found = ctx.web.alerts.alert(ctx.account, alert_id[:MAX_ID])
    if found is None:
        return None
    alert = Alert.from_row(found[0])
    if not ctx.account.sees_all and not case_orgs_of_alert(ctx, alert) & ctx.account.orgs:
        return None
    return alert


def visible_cases(ctx: Ctx, open_only: bool = False) -> list[Any]:
    assert ctx.account is not None
    return [
        c
        for c in ctx.web.cases.list_cases()
        if case_visible(ctx.web.model, ctx.account, c) and (not open_only or c.status == CaseStatus.open)
    ]


# -- what the queue and the alert page show (called by sekimori.web.pages) ------------------------------


def queue_page(
    ctx: Ctx, flt: AlertFilter, show: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """One page of the queue as :meth:`AlertReader.page` gives it, with dismissed alerts shown, hidden or
    alone (``show``), and the values the triage controls need."""
    assert ctx.account is not None
    show = show if show in SHOW_DISMISSED else "all"
    dismissed = dismissals_of(ctx).active()
    reader = ctx.web.alerts
    condition = (
        "$show = 'all' OR ($show = 'hide' AND NOT list_contains($dismissed::VARCHAR[], a.alert_id))"
        " OR ($show = 'only' AND list_contains($dismissed::VARCHAR[], a.alert_id))",
        {"show": show, "dismissed": sorted(dismissed)},
    )
    rows, total = reader.page(ctx.account, flt, limit, offset, condition)
    triage = may(ctx.account, "triage")
    extra = {
        "dismissed": {r["alert_id"]: dismissed[r["alert_id"]] for r in rows if r["alert_id"] in dismissed},
        "show_dismissed": show,
        "show_choices": SHOW_DISMISSED,
        "selectable": triage,
        "triage_cases": visible_cases(ctx, open_only=True) if triage else [],
    }
    return rows, total, extra


def similar_alerts(ctx: Ctx, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The other alerts the user may see with the same account or host (case-insensitive)."""
    assert ctx.account is not None
    host, account = alert.get("host") or None, alert.get("account") or None
    if host is None and account is None:
        return []
    reader = ctx.web.alerts
    where, params = reader.where(ctx.account, AlertFilter())
    params |= {"id": alert["alert_id"], "host": host, "account": account, "limit": SIMILAR_LIMIT}
    with reader.connection() as con:
        table = con.sql(
            f"""SELECT a.alert_id, a.time, a.source, a.level, a.title, a.host, a.account, s.orgs
                FROM alerts a JOIN alert_scope s USING (alert_id)
                WHERE {where} AND a.alert_id <> $id
                  AND ((CAST($host AS VARCHAR) IS NOT NULL AND lower(a.host) = lower($host))
                    OR (CAST($account AS VARCHAR) IS NOT NULL AND lower(a.account) = lower($account)))
                ORDER BY a.time, a.alert_id LIMIT $limit""",
            params=params,
        ).to_arrow_table()
    return list(table.to_pylist())


def alert_extras(ctx: Ctx, alert: dict[str, Any]) -> dict[str, Any]:
    """The alert page's triage values: similar alerts, the dismissal in force and the past ones."""
    history = dismissals_of(ctx).history(alert["alert_id"])
    return {
        "similar": similar_alerts(ctx, alert),
        "dismissal": next((d for d in reversed(history) if d.active), None),
        "dismissal_history": history,
        "can_triage": may(ctx.account, "triage"),
    }


# -- the endpoints ---------------------------------------------------------------------------------------


def _selected(ctx: Ctx) -> list[str]:
    """The ids ticked, or every alert of the page shown when "all on this page" is ticked (no script:
    the page lists its alerts in the form)."""
    ids = [key[len(ALERT_FIELD) :] for key in ctx.form if key.startswith(ALERT_FIELD)]
    if ctx.form.get("all_on_page"):
        ids += [key[len(PAGE_FIELD) :] for key in ctx.form if key.startswith(PAGE_FIELD)]
    return sorted({i[:MAX_ID] for i in ids if i})[:MAX_SELECTED]


@guarded("triage")
def triage_alerts(ctx: Ctx) -> Response:
    """The selected alerts into a new case (``title``) or a case the user can see (``case``)."""
    assert ctx.account is not None
    ids = _selected(ctx)
    if not ids:
        return ctx.error(400, "triage_none_selected")
    alerts = [visible_alert(ctx, i) for i in ids]
    chosen = [a for a in alerts if a is not None]
    if len(chosen) != len(ids):
        return ctx.error(404, "triage_out_of_scope")
    who = ctx.account.principal
    try:
        if ctx.form.get("to") == "existing":
            case_id = ctx.form.get("case", "")[:MAX_ID]
            case = ctx.web.cases.get(case_id)
            if not case_visible(ctx.web.model, ctx.account, case):
                return ctx.error(404, "triage_out_of_scope")
            ctx.web.cases.add_alerts(case.id, chosen, who)
        else:
            title = ctx.form.get("title", "").strip()[:MAX_ID] or f"{chosen[0].title} ({len(chosen)} alerts)"
            case_id = ctx.web.cases.open_case(title, chosen, who).id
    except CaseError:
        return ctx.error(404, "triage_out_of_scope")
    return RedirectResponse(f"/cases/{quote(case_id, safe='')}", status_code=303)


def _alert_back(alert_id: str) -> Response:
    return RedirectResponse(f"/alerts/{quote(alert_id, safe='')}", status_code=303)


@guarded("triage")
def dismiss_alert(ctx: Ctx) -> Response:
    assert ctx.account is not None
    alert = visible_alert(ctx, ctx.request.path_params["alert_id"])
    if alert is None:
        return ctx.error(404, "not_found")
    try:
        dismissals_of(ctx).dismiss(alert.alert_id, ctx.form.get("reason", ""), ctx.account.principal)
    except CaseError as exc:
        return ctx.error(400, "error", str(exc))
    return _alert_back(alert.alert_id)


@guarded("triage")
def restore_alert(ctx: Ctx) -> Response:
    assert ctx.account is not None
    alert = visible_alert(ctx, ctx.request.path_params["alert_id"])
    if alert is None:
        return ctx.error(404, "not_found")
    try:
        dismissals_of(ctx).restore(alert.alert_id, ctx.account.principal)
    except CaseError as exc:
        return ctx.error(400, "error", str(exc))
    return _alert_back(alert.alert_id)


ROUTES = [
    Route("/alerts/triage", triage_alerts, methods=["POST"]),
    Route("/alerts/{alert_id}/dismiss", dismiss_alert, methods=["POST"]),
    Route("/alerts/{alert_id}/restore", restore_alert, methods=["POST"]),
]
