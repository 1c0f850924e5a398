"""The web face's settings: where the store and the case database are, how it is reached, how long a
session lives. Documented in ``docs/web.md``; every one has a safe default."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WebSettings:
    """``store``: the event store read; ``database``: the case database URL (``sqlite:///…`` or
    ``postgresql+psycopg://…``; users, sessions and API tokens live there beside the cases, default
    ``cases.db`` in the store); ``model``: the group model that says which organisation a host or
    account belongs to (optional: without it an alert's organisations are those detection gave it).
    ``secure_cookies``: mark the session cookie Secure (set it when a TLS reverse proxy is in front).
    ``idle_minutes`` / ``absolute_hours``: a session ends after this long unused / this long at all.
    ``login_attempts``: failed sign-ins allowed per account (and ×4 per client address) in
    ``login_window_minutes`` before sign-in is refused for that account or address."""

    store: Path
    database: str = ""
    model: Path | None = None
    secure_cookies: bool = False
    idle_minutes: int = 30
    absolute_hours: int = 12
    login_attempts: int = 5
    login_window_minutes: int = 15
    page_size: int = 50

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite:///{self.store / 'cases.db'}"
