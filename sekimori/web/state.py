"""What the app holds while it runs: the settings, the store's alert reader, the case database, the
accounts, the sign-in limiter and the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sekimori.web.accounts import AccountStore
from sekimori.web.data import AlertReader
from sekimori.web.ratelimit import LoginLimiter
from sekimori.web.settings import WebSettings

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.respond import CaseStore

TEMPLATES = files("sekimori.web") / "templates"
STATIC = files("sekimori.web") / "static"


@dataclass
class WebState:
    settings: WebSettings
    model: GroupModel | None
    cases: CaseStore
    accounts: AccountStore
    alerts: AlertReader
    limiter: LoginLimiter
    templates: Environment

    def close(self) -> None:
        self.alerts.close()
        self.cases.close()


def open_state(settings: WebSettings) -> WebState:
    from sekimori.model import load_model
    from sekimori.respond import CaseStore
    from sekimori.store import Store

    model = load_model(settings.model) if settings.model is not None else None
    cases = CaseStore(settings.database_url)
    accounts = AccountStore(
        cases, timedelta(minutes=settings.idle_minutes), timedelta(hours=settings.absolute_hours)
    )
    templates = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    limiter = LoginLimiter(settings.login_attempts, settings.login_window_minutes * 60.0)
    alerts = AlertReader(Store(settings.store), model)
    return WebState(settings, model, cases, accounts, alerts, limiter, templates)
