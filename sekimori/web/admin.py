"""Administration: users (create, roles, organisations, disable), one's API tokens, audit verification."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sekimori.respond import PrincipalError
from sekimori.web.accounts import AccountError
from sekimori.web.guard import Ctx, guarded
from sekimori.web.tables import ROLES


@guarded("self")
def tokens(ctx: Ctx) -> Response:
    assert ctx.account is not None
    return ctx.render("tokens.html.j2", tokens=ctx.web.accounts.tokens(ctx.account), new_token="")


@guarded("self")
def tokens_change(ctx: Ctx) -> Response:
    assert ctx.account is not None
    new_token = ""
    try:
        if ctx.form.get("revoke", "").isdigit():
            ctx.web.accounts.revoke_token(ctx.account, int(ctx.form["revoke"]))
        else:
            new_token = ctx.web.accounts.create_token(ctx.account, ctx.form.get("name", ""))
    except AccountError:
        return ctx.error(404, "not_found")
    return ctx.render("tokens.html.j2", tokens=ctx.web.accounts.tokens(ctx.account), new_token=new_token)


def _users_page(ctx: Ctx, status: int = 200, message: str = "", one_time: str = "") -> Response:
    return ctx.render(
        "users.html.j2",
        status=status,
        users=ctx.web.accounts.users(),
        roles=ROLES,
        orgs=ctx.web.alerts.known_orgs(),
        message=message,
        one_time=one_time,
    )


def _chosen(ctx: Ctx) -> tuple[set[str], set[str]]:
    roles = {r for r in ROLES if ctx.form.get(f"role_{r}")}
    orgs = {o.strip() for o in ctx.form.get("orgs", "").replace(",", " ").split() if o.strip()}
    known = ctx.web.alerts.known_orgs()
    if known and not orgs <= set(known):
        raise AccountError("unknown organisation: " + ", ".join(sorted(orgs - set(known))))
    return roles, orgs


@guarded("admin")
def users(ctx: Ctx) -> Response:
    return _users_page(ctx)


@guarded("admin")
def user_create(ctx: Ctx) -> Response:
    assert ctx.account is not None
    try:
        roles, orgs = _chosen(ctx)
        one_time = ctx.web.accounts.create_user(
            ctx.account.principal, ctx.form.get("login", "")[:128], roles, orgs
        )
    except (AccountError, PrincipalError) as exc:
        return _users_page(ctx, 400, str(exc))
    return _users_page(ctx, one_time=one_time)


@guarded("admin")
def user_update(ctx: Ctx) -> Response:
    assert ctx.account is not None
    user_id = int(ctx.request.path_params["user_id"])
    try:
        roles, orgs = _chosen(ctx)
        if user_id == ctx.account.id and ("admin" not in roles or ctx.form.get("disabled")):
            raise AccountError("you cannot take away your own admin role or disable yourself")
        disabled = bool(ctx.form.get("disabled"))
        ctx.web.accounts.update_user(ctx.account.principal, user_id, roles, orgs, disabled)
    except AccountError as exc:
        return _users_page(ctx, 400, str(exc))
    return RedirectResponse("/admin/users", status_code=303)


@guarded("audit")
def audit(ctx: Ctx) -> Response:
    report = ctx.web.accounts.recorded.verify()
    cases = ctx.web.cases.verify()
    problems = [*cases.problems, *(p for p in report.problems if p not in cases.problems)]
    return ctx.render("audit.html.j2", ok=not problems, problems=problems, entries=report.entries)


ROUTES = [
    Route("/tokens", tokens, methods=["GET"]),
    Route("/tokens", tokens_change, methods=["POST"]),
    Route("/admin/users", users, methods=["GET"]),
    Route("/admin/users", user_create, methods=["POST"]),
    Route("/admin/users/{user_id:int}", user_update, methods=["POST"]),
    Route("/audit", audit, methods=["GET"]),
]
