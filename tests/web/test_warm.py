"""Warming at start (``sekimori serve`` runs it in the background): it fills the caches the first pages
would fill, under the same keys, so those pages use them; and what it keeps equals what the stages give
when asked directly."""

from __future__ import annotations

from pathlib import Path

from sekimori.govern import Register, findings, merge_register
from sekimori.model import load_model
from sekimori.store import Store
from sekimori.web.contractors_data import today
from sekimori.web.events import attribution
from sekimori.web.explorer_graph import explorer_of
from sekimori.web.warm import warm_caches
from tests.web.conftest import DemoWorld, sign_in
from tests.web.contractors_fixtures import contractors_client


def test_warming_fills_the_caches_the_first_pages_use(demo_world: DemoWorld, tmp_path: Path) -> None:
    told: list[str] = []
    with contractors_client(demo_world, tmp_path / "web.db") as client:
        app = client.app
        web = app.state.web  # type: ignore[attr-defined]
        timings = warm_caches(app, lambda part, _seconds: told.append(part))  # type: ignore[arg-type]
        assert set(timings) == {"alert scope", "event attribution", "group graph", "findings"}
        assert told == list(timings)
        kept = app.state.govern_findings  # type: ignore[attr-defined]
        assert len(kept) == 1
        ((key, warmed),) = kept.items()
        graph = explorer_of(app.state, web).graph()  # type: ignore[attr-defined]
        tables = attribution(web.alerts.store, web.model)
        sign_in(client, "admin")
        for page in ("/contractors/findings", "/graph/entries", "/events", "/alerts"):
            assert client.get(page).status_code == 200, page
        # the pages used what was warmed: nothing was worked out again
        assert list(kept) == [key] and kept[key] is warmed
        assert explorer_of(app.state, web).graph() is graph  # type: ignore[attr-defined]
        assert attribution(web.alerts.store, web.model) is tables
        url = str(web.settings.database_url)
    assert demo_world.settings.model is not None
    with Register(url) as register:
        merged = merge_register(load_model(demo_world.settings.model), register).model
        direct = findings(register, merged, Store(demo_world.store), as_of=today())
    assert warmed == direct and direct  # the demo's register has findings: the equality means something
