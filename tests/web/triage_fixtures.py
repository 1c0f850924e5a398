"""Helpers of tests/web/test_triage.py and test_browser_triage.py: a signed webhook receiver on loopback
(a rollback undoes what execute did, as a real receiver would), the test world, and the scope, plan and
actions set up through the respond stage itself (the oracles, not the web code)."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from starlette.testclient import TestClient

from sekimori.detect import Alert, alerts_from_table
from sekimori.model import load_model
from sekimori.respond import CaseStore, Principal, propose_containment, scope_case, stored_scope
from sekimori.store import Store
from tests.web.conftest import SCOPE, SETUP, DemoWorld, csrf_of

SECRET = "triage-hook-Secret-42"
SIGNATURE = "X-Sekimori-Signature"
HOOK = "/hooks/sekimori"


def _sign(payload: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), payload, "sha256").hexdigest()


@dataclass
class Receiver:
    """A webhook receiver on loopback: checks signatures, keeps what it was asked; a rollback undoes."""

    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    done: set[str] = field(default_factory=set)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not hmac.compare_digest(self.headers.get(SIGNATURE, ""), _sign(raw)):
                return self._answer(401, {"error": "bad signature"})
            body = json.loads(raw)
            receiver.posts.append(body)
            key = body["idempotency_key"]
            if body["op"] == "rollback":
                receiver.done.discard(key.removesuffix("-rollback"))
            else:
                receiver.done.add(key)
            self._answer(202, {"accepted": True})

        def do_GET(self) -> None:
            if not hmac.compare_digest(self.headers.get(SIGNATURE, ""), _sign(self.path.encode())):
                return self._answer(401, {"error": "bad signature"})
            key = self.path.removeprefix(HOOK + "/status/")
            self._answer(200, {"done": key in receiver.done})

    return Handler


@contextmanager
def loopback_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A receiver on loopback, and the webhook connector's settings pointing at it."""
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    rec.url = f"http://127.0.0.1:{server.server_address[1]}{HOOK}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The webhook connector reads its settings from the environment, as in production.
    settings = {"URL": rec.url, "SECRET": SECRET, "RETRIES": "0", "PROXY": "none", "TIMEOUT": "5"}
    for key, value in settings.items():
        monkeypatch.setenv(f"SEKIMORI_WEBHOOK_{key}", value)
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class World:
    client: TestClient
    database: str
    in_case: str
    out_case: str
    inside: list[Alert]  # boundary alerts detection gave SCOPE
    out_alert: str  # a boundary alert a SCOPE user may not see (as tests/web/test_authorization checks)
    receiver: Receiver


def boundary_alerts(world: DemoWorld) -> list[Alert]:
    return alerts_from_table(
        Store(world.store).sql("SELECT * FROM alerts WHERE source = 'boundary' ORDER BY time")
    )


def expected_status(role: str, allowed: set[str], inside: bool, ok: int) -> int:
    """The status a request answers: 403 for a role without the permission, 404 for an id out of the
    reader's organisations (every role but admin is scoped to SCOPE here), else ``ok``."""
    if role not in allowed:
        return 403
    if not inside and role != "admin":
        return 404
    return ok


def store_of(world: World) -> CaseStore:
    return world.client.app.state.web.cases  # type: ignore[attr-defined,no-any-return]


def post(client: TestClient, path: str, data: dict[str, str] | None = None) -> Any:
    """POST ``data`` with the CSRF token of the signed-in session."""
    token = csrf_of(client.get("/tokens").text)
    return client.post(path, data={"csrf": token, **(data or {})})


def scoped(world: World, demo_world: DemoWorld) -> None:
    """Scope both cases as the setup principal (the respond stage's own function)."""
    cases = store_of(world)
    model = load_model(demo_world.settings.model) if demo_world.settings.model else None
    store = Store(demo_world.store)
    for case_id in (world.in_case, world.out_case):
        case = cases.get(case_id)
        alerts = [a for a in boundary_alerts(demo_world) if a.alert_id in {x.alert_id for x in case.alerts}]
        scope_case(cases, case_id, store, alerts, model, SETUP)


def _plan(world: World, demo_world: DemoWorld, case_id: str) -> tuple[list[Any], set[str]]:
    """The case's containment plan (worked out by the respond stage) and the names of SCOPE's entities
    in its scope."""
    model = load_model(demo_world.settings.model) if demo_world.settings.model else None
    scope = stored_scope(store_of(world).get(case_id))
    assert scope is not None
    mine = {
        v
        for s in (*scope.hosts, *scope.accounts, *scope.data_stores)
        if s.org == SCOPE
        for v in (s.label, s.key, s.address)
        if v
    }
    return list(propose_containment(scope, model)), mine


def in_scope_step(world: World, demo_world: DemoWorld, case_id: str) -> tuple[int, Any]:
    """A plan step of the case whose target is an entity of SCOPE."""
    steps, mine = _plan(world, demo_world, case_id)
    found = [(i, p) for i, p in enumerate(steps) if p.action.target in mine]
    assert found, "the demo case's scope has no step on a contractor entity"
    return found[0]


def out_step(world: World, demo_world: DemoWorld, case_id: str) -> int:
    """A plan step of the case whose target is of no SCOPE entity."""
    steps, mine = _plan(world, demo_world, case_id)
    return next(i for i, p in enumerate(steps) if p.action.target not in mine)


def propose_as_setup(world: World, demo_world: DemoWorld, case_id: str, index: int) -> int:
    model = load_model(demo_world.settings.model) if demo_world.settings.model else None
    scope = stored_scope(store_of(world).get(case_id))
    assert scope is not None
    step = propose_containment(scope, model)[index]
    return store_of(world).propose(case_id, step.action, "webhook", SETUP).id


SECOND = Principal("test", "second", "second")


def ready_actions(world: World, demo_world: DemoWorld, case_id: str, index: int) -> dict[str, int]:
    """One action of the step for each endpoint, in the state it acts on: proposed (to approve),
    approved (to execute), executed (to roll back); set up through the case store by test principals."""
    cases = store_of(world)
    ready = {
        name: propose_as_setup(world, demo_world, case_id, index)
        for name in ("approve", "execute", "rollback")
    }
    for name in ("execute", "rollback"):
        cases.approve(ready[name], SECOND)
    assert cases.execute(ready["rollback"], SECOND).status == "verified"
    return ready
