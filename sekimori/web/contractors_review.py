"""Access reviews of the contractors' grants: the campaigns and their status (completion, overdue items),
and the reviewer's inbox, where the owner of a grant certifies, revokes or changes it with a reason.

The inbox lists the items whose owner (the register's ``owner`` text) is the signed-in person or names
them as a delegate when the campaign started, compared as the govern stage compares names
(:func:`sekimori.respond.person_key`). The decision itself is
:func:`sekimori.govern.decide`'s, attributed to the signed-in principal: it refuses anyone who is neither
the owner nor a delegate, and the grant's own subject; its refusal is shown as it is given. A reader
assigned to organisations sees, and may decide on, the items of their organisations' parties only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from sekimori.govern import ReviewError, ReviewItem, ReviewStatus, decide, list_reviews, review_status
from sekimori.web.contractors_data import MAX_TEXT, Reading, Scope, as_of_day, reading
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import add_messages

add_messages(
    {
        "ctr_reviews": ("Access reviews", "アクセスレビュー"),
        "ctr_review": ("Access review", "アクセスレビュー"),
        "ctr_inbox": ("Review inbox", "レビュー受信箱"),
        "ctr_deadline": ("Deadline", "期限"),
        "ctr_started": ("Started", "開始"),
        "ctr_completion": ("Completion", "完了率"),
        "ctr_decided": ("Decided", "決定済み"),
        "ctr_total": ("Items", "対象"),
        "ctr_overdue_items": ("Overdue items", "期限超過の項目"),
        "ctr_pending_revokes": ("Revocations pending", "失効待ち"),
        "ctr_by_owner": ("By owner", "責任者別"),
        "ctr_decision": ("Decision", "決定"),
        "ctr_reason": ("Reason", "理由"),
        "ctr_change": ("Change (field=value; …)", "変更(項目=値; …)"),
        "ctr_decided_by": ("Decided by", "決定者"),
        "ctr_certify": ("Certify", "承認"),
        "ctr_revoke": ("Revoke", "失効"),
        "ctr_change_verb": ("Change", "変更"),
        "ctr_record": ("Record the decision", "決定を記録"),
        "ctr_inbox_empty": ("Nothing waits for your decision.", "決定待ちの項目はありません。"),
        "ctr_my_decisions": ("Your decisions", "あなたの決定"),
        "ctr_recorded": ("Recorded:", "記録しました:"),
        "ctr_refused": ("The decision was refused:", "決定は拒否されました:"),
        "ctr_inbox_note": (
            "The grants waiting for you as their owner in open review campaigns.",
            "実施中のアクセスレビューで、あなたが責任者として決定すべき権限です。",
        ),
        "ctr_bad_change": (
            "A change is written field=value, separated by ';'.",
            "変更は 項目=値 の形で、';' で区切って記入してください。",
        ),
    }
)

DECISIONS = ("certify", "revoke", "change")
MAX_REASON = 2000


def _party(item: ReviewItem) -> str:
    return str(item.frozen.get("party", ""))


def visible_status(status: ReviewStatus, scope: Scope) -> ReviewStatus:
    """``status`` cut to the items of parties in ``scope`` (its counts are those of the items kept)."""
    if scope.account.sees_all:
        return status
    items = [i for i in status.items if scope.sees(_party(i))]
    by_owner: dict[str, tuple[int, int]] = {}
    for i in items:
        decided, total = by_owner.get(i.owner, (0, 0))
        by_owner[i.owner] = (decided + (i.decision is not None), total + 1)
    return replace(status, items=items, by_owner=by_owner)


def owns(ctx: Ctx, status: ReviewStatus, item: ReviewItem) -> bool:
    """The signed-in person is the item's owner or one of the owner's delegates named when the campaign
    started (as :func:`sekimori.govern.decide` compares names)."""
    assert ctx.account is not None
    return status.may_decide(item, ctx.account.principal)


def item_row(ctx: Ctx, scope: Scope, review: str, item: ReviewItem) -> dict[str, Any]:
    frozen = item.frozen
    return scope.mask(
        {
            "review": review,
            "grant": item.grant,
            "party": _party(item),
            "subject": f"{frozen.get('subject_kind')}: {frozen.get('subject')}",
            "object": f"{frozen.get('object_kind')}: {frozen.get('object')}",
            "access": str(frozen.get("access", "")),
            "justification": str(frozen.get("justification", "")),
            "expires": str(frozen.get("expires") or ""),
            "owner": item.owner,
            "decision": item.decision or "",
            "reason": item.reason or "",
            "change": "; ".join(f"{k}={v}" for k, v in (item.change or {}).items()),
            "decided_by": item.decided_by or "",
            "decided_at": item.decided_at.strftime("%Y-%m-%d %H:%M") if item.decided_at else "",
            "revoke_status": item.revoke_status or "",
            "overdue": item.overdue,
        },
        ctx.t("ctr_withheld"),
    )


def summary(status: ReviewStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "title": status.title,
        "started": status.started.strftime("%Y-%m-%d"),
        "started_by": status.started_by,
        "deadline": status.deadline.isoformat(),
        "total": status.total,
        "decided": status.decided,
        "completion": round(100 * status.completion),
        "overdue_items": sum(1 for i in status.items if i.overdue),
        "pending_revokes": len(status.pending_revokes),
        "by_owner": sorted(status.by_owner.items()),
    }


@guarded("read")
def reviews_page(ctx: Ctx) -> Response:
    day = as_of_day(ctx.request.query_params.get("as_of"))
    with reading(ctx) as r:
        shown = [visible_status(s, r.scope) for s in list_reviews(r.register, day)]
        rows = [r.scope.mask(summary(s), ctx.t("ctr_withheld")) for s in shown if s.items]
        return ctx.render("contractors_reviews.html.j2", rows=rows, day=day)


@guarded("read")
def review_page(ctx: Ctx) -> Response:
    day = as_of_day(ctx.request.query_params.get("as_of"))
    review_id = ctx.request.path_params["review_id"][:MAX_TEXT]
    with reading(ctx) as r:
        try:
            status = visible_status(review_status(r.register, review_id, day), r.scope)
        except ReviewError:
            return ctx.error(404, "not_found")
        if not status.items:  # a campaign with nothing in scope is not shown at all
            return ctx.error(404, "not_found")
        return ctx.render(
            "contractors_review.html.j2",
            review=r.scope.mask(summary(status), ctx.t("ctr_withheld")),
            items=[item_row(ctx, r.scope, status.id, i) for i in status.items],
            day=day,
        )


def _inbox(ctx: Ctx, r: Reading, status: int = 200, message: str = "", refusal: str = "") -> Response:
    waiting: list[dict[str, Any]] = []
    mine: list[dict[str, Any]] = []
    for campaign in list_reviews(r.register):
        for item in campaign.items:
            if not owns(ctx, campaign, item) or not r.scope.sees(_party(item)):
                continue
            row = item_row(ctx, r.scope, campaign.id, item)
            row["title"] = r.scope.mask(campaign.title, ctx.t("ctr_withheld"))
            row["deadline"] = campaign.deadline.isoformat()
            (mine if item.decision is not None else waiting).append(row)
    return ctx.render(
        "contractors_inbox.html.j2",
        status=status,
        waiting=waiting,
        mine=mine,
        decisions=DECISIONS,
        message=message,
        refusal=refusal,
    )


@guarded("read")
def inbox_page(ctx: Ctx) -> Response:
    with reading(ctx) as r:
        return _inbox(ctx, r)


def parse_change(text: str) -> dict[str, str] | None:
    """``field=value; field=value`` as a mapping (None: a part without ``=`` or without a field)."""
    change: dict[str, str] = {}
    for part in text.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            return None
        change[name.strip()] = value.strip()
    return change


@guarded("decide")
def inbox_decide(ctx: Ctx) -> Response:
    assert ctx.account is not None
    form = ctx.form
    review_id, grant_id = form.get("review", "")[:MAX_TEXT], form.get("grant", "")[:MAX_TEXT]
    decision = form.get("decision", "")[:20]
    reason = form.get("reason", "")[:MAX_REASON]
    with reading(ctx) as r:
        try:
            status = review_status(r.register, review_id)
        except ReviewError:
            return ctx.error(404, "not_found")
        item = next((i for i in status.items if i.grant == grant_id), None)
        if item is None or not r.scope.sees(_party(item)):  # unknown and out of scope look the same
            return ctx.error(404, "not_found")
        change = parse_change(form.get("change", "")[:MAX_REASON]) if decision == "change" else None
        if decision == "change" and change is None:
            return _inbox(ctx, r, 400, refusal=ctx.t("ctr_bad_change"))
        try:
            done = decide(r.register, review_id, grant_id, decision, reason, ctx.account.principal, change)
        except ReviewError as exc:
            # Whose the refusal is decides the status: not theirs to decide (403), or a bad request.
            refused = r.scope.mask(str(exc), ctx.t("ctr_withheld"))
            return _inbox(ctx, r, 400 if owns(ctx, status, item) else 403, refusal=refused)
        said = f"{done.decision} · {done.grant} · {r.scope.mask(review_id, ctx.t('ctr_withheld'))}"
        return _inbox(ctx, r, message=said)


ROUTES = [
    Route("/contractors/reviews", reviews_page, methods=["GET"]),
    Route("/contractors/reviews/{review_id}", review_page, methods=["GET"]),
    Route("/contractors/inbox", inbox_page, methods=["GET"]),
    Route("/contractors/inbox", inbox_decide, methods=["POST"]),
]
