"""The web face: an ASGI app (Starlette) over the stages, like the command line a thin caller of them.
Server-rendered pages in Japanese and English, local users with argon2 passwords, server-side sessions,
CSRF tokens, roles and organisation scoping, and a JSON API with per-user tokens (``docs/web.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.web.accounts import Account, AccountError, AccountStore
    from sekimori.web.app import CSP, create_app
    from sekimori.web.guard import PERMISSIONS, safe_next
    from sekimori.web.settings import WebSettings
    from sekimori.web.state import WebState, open_state
    from sekimori.web.tables import ROLES

__all__ = [
    "CSP",
    "PERMISSIONS",
    "ROLES",
    "Account",
    "AccountError",
    "AccountStore",
    "WebSettings",
    "WebState",
    "create_app",
    "open_state",
    "safe_next",
]

_LAZY = {
    "Account": "sekimori.web.accounts",
    "AccountError": "sekimori.web.accounts",
    "AccountStore": "sekimori.web.accounts",
    "CSP": "sekimori.web.app",
    "create_app": "sekimori.web.app",
    "PERMISSIONS": "sekimori.web.guard",
    "safe_next": "sekimori.web.guard",
    "WebSettings": "sekimori.web.settings",
    "WebState": "sekimori.web.state",
    "open_state": "sekimori.web.state",
    "ROLES": "sekimori.web.tables",
}

__getattr__ = lazy_exports(__name__, _LAZY)
