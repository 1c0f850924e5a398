"""Work out at start what the pages otherwise work out on their first request: the group graph (the
explorer), the attribution of events to organisations (the events page), the alerts' scope (the queue)
and today's findings (the contractors pages). On a store of a million events these take tens of seconds
together; ``sekimori serve`` runs :func:`warm_caches` in a background thread so that the first users do
not wait for them (a page asked for meanwhile works them out itself, once: each cache has its lock).
Then what was built is frozen out of the garbage collector's generations (:func:`gc.freeze`)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette


def warm_caches(app: Starlette, report: Callable[[str, float], None] | None = None) -> dict[str, float]:
    """Fill the app's caches; seconds per part (also told to ``report`` as each part ends). A part that
    fails is skipped: the page that needs it will report the failure to its user."""
    from sekimori.govern import Register, merge_register
    from sekimori.web.contractors_data import group_findings, today
    from sekimori.web.events import attribution
    from sekimori.web.explorer_graph import explorer_of

    web = app.state.web
    model = web.model
    timings: dict[str, float] = {}

    def part(name: str, work: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            work()
        except Exception:
            return
        timings[name] = time.perf_counter() - started
        if report is not None:
            report(name, timings[name])

    def findings() -> None:
        with Register(web.settings.database_url) as register:
            merged = merge_register(model, register).model
            group_findings(app.state, web, register, merged, today())

    part("alert scope", web.alerts.warm)
    if model is not None:
        part("event attribution", lambda: attribution(web.alerts.store, model))
        part("group graph", lambda: explorer_of(app.state, web).graph())
        part("findings", findings)
    # What was just built lives as long as the server: out of the collector's generations, a full
    # collection no longer walks it during a page (on the benchmark store the contractors pages' p95
    # fell from ~275 to ~120 ms). Objects frozen are still freed by their reference counts when replaced.
    gc.collect()
    gc.freeze()
    return timings
