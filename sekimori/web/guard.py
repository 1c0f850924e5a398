"""The one gate every request passes: :func:`guarded` wraps each endpoint with who is asking (a session
cookie, or an API token for ``/api``), what they may do (a permission, checked against their roles),
the CSRF token of every state-changing form, and the language of the page. No endpoint is reachable
without it (``tests/web`` checks every route)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sekimori.web.i18n import LANGUAGES, language, translate

if TYPE_CHECKING:
    from sekimori.web.accounts import Account
    from sekimori.web.state import WebState

# permission → the roles that have it ("public": no sign-in; "self": any signed-in user).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"viewer", "analyst", "approver", "admin", "auditor"}),
    # triage alerts into cases, dismiss them, scope a case, propose containment
    "triage": frozenset({"analyst", "admin"}),
    # approve or refuse a proposed action (never one's own: the two-person rule compares principals)
    "approve": frozenset({"approver", "admin"}),
    # execute, verify or roll back an approved action
    "execute": frozenset({"analyst", "approver", "admin"}),
    # decide on a grant in an access review (the govern stage checks it is the owner's or a delegate's);
    # auditors only read
    "decide": frozenset({"viewer", "analyst", "approver", "admin"}),
    # the read-only SQL face over the store
    "query": frozenset({"analyst", "admin", "auditor"}),
    "audit": frozenset({"admin", "auditor"}),
    "admin": frozenset({"admin"}),
}
SAFE_METHODS = ("GET", "HEAD")
SESSION_COOKIE = "sekimori_session"
LANG_COOKIE = "sekimori_lang"


def session_cookie_name(secure: bool) -> str:
    # __Host-: the browser accepts it only Secure, from this host, for path / (no subdomain can set it).
    return "__Host-" + SESSION_COOKIE if secure else SESSION_COOKIE


@dataclass
class Ctx:
    """What a handler is given: the request, the app's state, who asks, the form, the language."""

    request: Request
    web: WebState
    account: Account | None
    csrf: str
    lang: str
    form: dict[str, str] = field(default_factory=dict)
    set_language: bool = False

    def t(self, key: str) -> str:
        return translate(self.lang, key)

    @property
    def client(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.web.templates.get_template(template).render(
            t=self.t,
            lang=self.lang,
            other_lang="ja" if self.lang == "en" else "en",
            me=self.account,
            csrf=self.csrf,
            path=self.request.url.path,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def error(self, status: int, key: str, detail: str = "") -> Response:
        return self.render("error.html.j2", status=status, message=self.t(key), detail=detail)


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path of this site only (no scheme, no host, no ``//``, no ``\\``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in target):
        return "/"
    return target


Handler = Callable[[Ctx], Response]


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(permission: str, api: bool = False, write: bool = False) -> Callable[[Handler], Endpoint]:
    """The endpoint ``handler`` behind the gate: ``permission`` is ``public``, ``self`` or a key of
    :data:`PERMISSIONS`; ``api``: authenticated by a bearer token, answers in JSON; ``write``: an API
    route that takes a JSON body (every other API route answers 405 to a method other than GET/HEAD)."""
    if permission not in ("public", "self", *PERMISSIONS):
        raise ValueError(f"unknown permission {permission!r}")
    if write and not api:
        raise ValueError("write is for API routes: a page takes a form and its CSRF token")

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            web: WebState = request.app.state.web
            query_lang = request.query_params.get("lang")
            lang = language(query_lang or request.cookies.get(LANG_COOKIE))
            if api:
                response = await _api(request, web, permission, lang, handler, write)
            else:
                response = await _page(request, web, permission, lang, handler)
            if query_lang in LANGUAGES:
                response.set_cookie(LANG_COOKIE, lang, max_age=31_536_000, samesite="lax", httponly=True)
            return response

        endpoint.__name__ = handler.__name__
        endpoint.guard = permission  # type: ignore[attr-defined]  # checked by tests/web
        endpoint.write = write  # type: ignore[attr-defined]  # read by the OpenAPI description
        return endpoint

    return wrap


async def _api(
    request: Request, web: WebState, permission: str, lang: str, handler: Handler, write: bool
) -> Response:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    account = None
    if scheme.lower() == "bearer" and token:
        account = await run_in_threadpool(web.accounts.token_account, token.strip())
    if account is None:
        challenge = {"WWW-Authenticate": "Bearer"}
        return JSONResponse({"error": "unauthenticated"}, status_code=401, headers=challenge)
    changes = request.method not in SAFE_METHODS
    if changes and not write:
        return JSONResponse({"error": "method not allowed"}, status_code=405)
    if permission in PERMISSIONS and not account.roles & PERMISSIONS[permission]:
        return JSONResponse({"error": "forbidden"}, status_code=403)
    # No CSRF token: the credential is a header a page of another site cannot send, never a cookie. A
    # JSON body only, which a plain HTML form cannot send either (the handler reads and checks it).
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if changes and media != "application/json":
        return JSONResponse({"error": "the body must be application/json"}, status_code=415)
    ctx = Ctx(request, web, account, "", lang)
    return await run_in_threadpool(handler, ctx)


async def _page(request: Request, web: WebState, permission: str, lang: str, handler: Handler) -> Response:
    sid = request.cookies.get(session_cookie_name(web.settings.secure_cookies), "")
    info = await run_in_threadpool(web.accounts.session, sid) if sid else None
    account = info.account if info is not None else None
    ctx = Ctx(request, web, account, info.csrf if info is not None else "", lang)
    if permission != "public":
        if account is None:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        if account.must_change and permission != "self":
            return RedirectResponse("/password", status_code=303)
        if permission in PERMISSIONS and not account.roles & PERMISSIONS[permission]:
            return ctx.error(403, "forbidden")
    if request.method not in SAFE_METHODS:
        form = await request.form()
        ctx.form = {k: v for k, v in form.items() if isinstance(v, str)}
        sent = ctx.form.get("csrf", "")
        # The synchroniser token of this session: a form from another site cannot know it.
        if not info or not sent or not hmac.compare_digest(sent.encode(), info.csrf.encode()):
            return ctx.error(403, "bad_request", "CSRF")
        if request.headers.get("origin") not in (None, "null") and not _same_origin(request):
            return ctx.error(403, "bad_request", "origin")
    return await run_in_threadpool(handler, ctx)


def _same_origin(request: Request) -> bool:
    origin = urlsplit(request.headers.get("origin", ""))
    return origin.netloc == request.headers.get("host", "")
