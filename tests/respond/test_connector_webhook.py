"""The webhook connector against a loopback receiver that checks signatures, as the contract asks."""

from __future__ import annotations

import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sekimori.respond.actions import Action, ActionKind, ConnectorError
from sekimori.respond.connectors.webhook import SIGNATURE_HEADER, WebhookConnector, sign

SECRET = "hook-Secret-0815"


@dataclass
class Receiver:
    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    post_statuses: list[int] = field(default_factory=list)  # answers to the next POSTs; then 200
    done: set[str] = field(default_factory=set)
    complete_on_post: bool = True  # mark a key done as soon as its POST is accepted

    def settings(self, **over: Any) -> dict[str, Any]:
        return {"url": self.url, "secret": SECRET, "backoff": "0.01", "timeout": "5", "proxy": "none", **over}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _signed(self, payload: bytes) -> bool:
            given = self.headers.get(SIGNATURE_HEADER, "")
            return hmac.compare_digest(given, sign(SECRET, payload))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ok = self._signed(body)
            receiver.calls.append(
                {"method": "POST", "path": self.path, "signed": ok, "body": json.loads(body)}
            )
            if not ok:
                return self._answer(401, {"error": "bad signature"})
            if receiver.post_statuses:
                status = receiver.post_statuses.pop(0)
                if status != 200:
                    return self._answer(status, {"error": f"scripted {status}"})
            if receiver.complete_on_post:
                receiver.done.add(json.loads(body)["idempotency_key"])
            self._answer(202, {"accepted": True})

        def do_GET(self) -> None:
            ok = self._signed(self.path.encode())
            receiver.calls.append({"method": "GET", "path": self.path, "signed": ok})
            if not ok:
                return self._answer(401, {"error": "bad signature"})
            prefix = "/hooks/sekimori/status/"
            if not self.path.startswith(prefix):
                return self._answer(404)
            key = self.path[len(prefix) :]
            self._answer(200, {"done": key in receiver.done})

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/sekimori"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def action(**params: Any) -> Action:
    return Action(
        ActionKind.disable_account, "CORP\\alice", reason="hop 3", params={"action_id": "case-9", **params}
    )


def test_execute_verify_rollback(receiver: Receiver) -> None:
    conn = WebhookConnector(receiver.settings())
    plan = conn.plan(action())
    assert plan.changes == [
        f"POST {receiver.url}: ask the receiver to disable_account CORP\\alice (idempotency key case-9)"
    ]
    assert receiver.calls == []  # the dry-run sends nothing
    outcome = conn.execute(plan)
    assert outcome.ok and outcome.state["status"] == 202
    (call,) = receiver.calls
    assert call["signed"] and call["path"] == "/hooks/sekimori"
    body = call["body"]
    assert body["op"] == "execute" and body["idempotency_key"] == "case-9"
    assert body["action"] == {
        "kind": "disable_account",
        "target": "CORP\\alice",
        "reason": "hop 3",
        "params": {"action_id": "case-9"},
    }
    assert body["plan"] == plan.changes

    checked = conn.verify(plan, outcome)
    assert checked.ok, checked.detail
    assert receiver.calls[-1] == {"method": "GET", "path": "/hooks/sekimori/status/case-9", "signed": True}

    undone = conn.rollback(plan, outcome)
    assert undone.ok
    assert receiver.calls[-1]["body"]["op"] == "rollback"
    assert receiver.calls[-1]["body"]["idempotency_key"] == "case-9-rollback"
    assert conn.verify(plan, undone).ok
    assert SECRET not in repr((plan, outcome, checked, undone))


def test_verify_not_done_yet(receiver: Receiver) -> None:
    receiver.complete_on_post = False
    conn = WebhookConnector(receiver.settings())
    plan = conn.plan(action())
    outcome = conn.execute(plan)
    checked = conn.verify(plan, outcome)
    assert not checked.ok and "does not report case-9 done" in checked.detail


def test_retry_after_503(receiver: Receiver) -> None:
    receiver.post_statuses = [503, 502]
    conn = WebhookConnector(receiver.settings())
    plan = conn.plan(action())
    assert conn.execute(plan).ok
    posts = [c for c in receiver.calls if c["method"] == "POST"]
    assert len(posts) == 3
    assert {c["body"]["idempotency_key"] for c in posts} == {"case-9"}  # one operation, retried


def test_retries_are_bounded(receiver: Receiver) -> None:
    receiver.post_statuses = [503] * 10
    conn = WebhookConnector(receiver.settings(retries="2"))
    with pytest.raises(ConnectorError, match=r"failed after 3 attempts: HTTP 503") as err:
        conn.execute(conn.plan(action()))
    assert len(receiver.calls) == 3
    assert SECRET not in str(err.value)


def test_400_is_an_error_without_retry(receiver: Receiver) -> None:
    receiver.post_statuses = [400]
    conn = WebhookConnector(receiver.settings())
    with pytest.raises(
        ConnectorError, match=r"^webhook: POST .* refused: HTTP 400 Bad Request: .*scripted 400"
    ):
        conn.execute(conn.plan(action()))
    assert len(receiver.calls) == 1


def test_wrong_signature_is_rejected(receiver: Receiver) -> None:
    wrong = "not-the-shared-secret"
    conn = WebhookConnector(receiver.settings(secret=wrong))
    with pytest.raises(ConnectorError, match="HTTP 401") as err:
        conn.execute(conn.plan(action()))
    assert receiver.calls[0]["signed"] is False
    assert wrong not in str(err.value) and SECRET not in str(err.value)


def test_server_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/sekimori"
    conn = WebhookConnector(
        {"url": url, "secret": SECRET, "retries": "1", "backoff": "0.01", "proxy": "none"}
    )
    with pytest.raises(ConnectorError) as err:
        conn.execute(conn.plan(action()))
    message = str(err.value)
    assert message.startswith("webhook: POST ") and url in message and "failed after 2 attempts" in message
    assert SECRET not in message
    with pytest.raises(ConnectorError):
        conn.check()


def test_url_credentials_stay_out_of_messages() -> None:
    conn = WebhookConnector({"url": "https://user:pa55@hooks.example/x?token=t0k3n", "secret": SECRET})
    plan = conn.plan(action())
    assert plan.changes[0].startswith("POST https://hooks.example/x: ")
    assert "pa55" not in repr(plan) and "t0k3n" not in repr(plan)


def test_settings_are_checked_at_plan_time() -> None:
    with pytest.raises(ConnectorError, match="setting 'secret' is missing"):
        WebhookConnector({"url": "https://hooks.example/x"}).plan(action())
    with pytest.raises(ConnectorError, match="not an http"):
        WebhookConnector({"url": "file:///etc/passwd", "secret": SECRET}).plan(action())


def test_idempotency_key_without_action_id_is_stable() -> None:
    conn = WebhookConnector({"url": "https://hooks.example/x", "secret": SECRET})
    a = Action(ActionKind.block_route, "10.0.0.0/8->10.1.0.0/16")
    assert conn.plan(a).state == conn.plan(a).state
    assert conn.plan(a).state != conn.plan(Action(ActionKind.block_route, "10.0.0.0/8->10.2.0.0/16")).state
