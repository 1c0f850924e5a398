"""The ASGI application: its routes (every one behind :func:`sekimori.web.guard.guarded`), the static
files vendored in the package, and the security headers on every response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sekimori.web.settings import WebSettings
from sekimori.web.state import STATIC, WebState, open_state

# No inline script or style, nothing from another site, no framing, no plugins, forms post here only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` (and no-store for everything but the static files) to every
    response, errors included."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                # A route's own policy (the report preview's, stricter: a sandbox) replaces the app's.
                own = any(k.lower() == b"content-security-policy" for k, _ in headers)
                headers += [h for h in SECURITY_HEADERS if not (own and h[0] == b"content-security-policy")]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The modules of the web face, each with its ``ROUTES`` (a new page is a new module named here).
FEATURES = (
    "pages",
    "overview",
    "admin",
    "api",
    "api_write",
    "openapi",
    "triage",
    "case_actions",
    "reports",
    "events",
    "events_sql",
    "explorer",
    "contractors",
    "contractors_review",
)


def routes() -> list[Route]:
    return [route for name in FEATURES for route in import_module(f"sekimori.web.{name}").ROUTES]


def create_app(settings: WebSettings, state: WebState | None = None) -> Starlette:
    """The web face over ``settings``' store and case database (``state``: one already opened)."""
    web = state or open_state(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        web.close()

    app = Starlette(
        routes=[*routes(), Mount("/static", StaticFiles(directory=str(STATIC)), name="static")],
        lifespan=lifespan,
    )
    app.state.web = web
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    return app
