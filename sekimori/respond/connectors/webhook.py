"""A webhook: hands any action to another system (a SOAR, a ticketing bridge, an in-house script) over
HTTPS, signed. Standard library only.

Settings (``SEKIMORI_WEBHOOK_<KEY>`` or ``[webhook]`` in the secrets file): ``url`` (required),
``secret`` (required: the HMAC key), ``timeout`` (seconds per request, 10), ``retries`` (extra attempts
after a 5xx or a connection error, 3), ``backoff`` (seconds before the first retry, doubling, 0.5),
``proxy`` (unset: the ``*_proxy`` environment; ``none``: direct; else a proxy URL).

The contract with the receiver:

* ``POST <url>`` with ``Content-Type: application/json`` and the body::

      {"op": "execute" | "rollback",
       "action": {"kind": ..., "target": ..., "reason": ..., "params": {...}},
       "plan": ["change", ...],            # the changes the plan showed (and a person approved)
       "idempotency_key": "...",           # the same for every retry of one operation
       "sent_at": "2025-01-31T12:00:00Z"}

  A rollback has its own key, ``<execute's key>-rollback``, so a receiver that deduplicates by key does
  not take it for a repeated execute. The receiver answers 2xx once it has accepted (not necessarily
  finished) the operation; 4xx is a refusal (not retried); 5xx and connection errors are retried.
* ``GET <url>/status/<idempotency_key>`` answers 200 with ``{"done": true}`` once the operation is
  carried out (``{"done": false}`` or 404 until then). This is what verify asks.
* Every request carries ``X-Sekimori-Signature: sha256=<hex>``: HMAC-SHA256 with the shared secret over
  the raw request body for a POST, and over the request path (``/hooks/x/status/KEY``, as sent) for a
  GET. The receiver must check it in constant time and answer 401 when it does not match.

Redirects are not followed: a signed request goes only where it was configured to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any, ClassVar

from sekimori.respond.actions import (
    Action,
    ActionKind,
    Connector,
    ConnectorError,
    Outcome,
    Plan,
    redact,
    register,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sekimori-Signature"
MAX_BACKOFF = 10.0  # seconds: retries stay bounded in time as well as in number


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then surfaces as an HTTPError


def sign(secret: str, payload: bytes) -> str:
    """The signature header's value for ``payload``."""
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


@register
class WebhookConnector(Connector):
    name = "webhook"
    description = "signed JSON webhook to another system: any action, carried out by the receiver"
    kinds: ClassVar[frozenset[ActionKind]] = frozenset(ActionKind)

    # ---- settings ---------------------------------------------------------------------------------------

    def _setting(self, key: str) -> str:
        value = self.settings.get(key)
        if value in (None, ""):
            raise ConnectorError(
                f"webhook: setting {key!r} is missing (SEKIMORI_WEBHOOK_{key.upper()} or [webhook] {key} in "
                "the secrets file)"
            )
        return str(value)

    @property
    def url(self) -> str:
        url = self._setting("url")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(f"webhook: url {self.shown_url(url)!r} is not an http(s) URL")
        return url

    @staticmethod
    def shown_url(url: str) -> str:
        """``url`` fit for a message: no user:password@, no query (either could carry a token)."""
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def _number(self, key: str, default: float) -> float:
        try:
            return float(self.settings.get(key, default))
        except (TypeError, ValueError):
            raise ConnectorError(f"webhook: setting {key!r} is not a number") from None

    def _opener(self) -> urllib.request.OpenerDirector:
        proxy = self.settings.get("proxy")
        handlers: list[Any] = [_NoRedirect()]
        if proxy is not None:
            direct = str(proxy).lower() in ("", "none")
            handlers.append(urllib.request.ProxyHandler({} if direct else {"http": proxy, "https": proxy}))
        return urllib.request.build_opener(*handlers)

    def _error(self, message: str) -> ConnectorError:
        return ConnectorError(redact(f"webhook: {message}", self.settings))

    # ---- HTTP -------------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body) of a 2xx or a 404 answer, after the retries; other answers raise ConnectorError."""
        secret = self._setting("secret")
        signed = body if body is not None else urllib.parse.urlsplit(url).path.encode()
        headers = {SIGNATURE_HEADER: sign(secret, signed), "User-Agent": "sekimori"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        timeout = self._number("timeout", 10)
        retries = max(0, int(self._number("retries", 3)))
        backoff = self._number("backoff", 0.5)
        opener = self._opener()
        shown = f"{method} {self.shown_url(url)}"
        last = ""
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(min(backoff * 2 ** (attempt - 1), MAX_BACKOFF))
            request = urllib.request.Request(url, data=body, headers=headers, method=method)
            try:
                with opener.open(request, timeout=timeout) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                answer = _excerpt(exc.read())
                exc.close()
                if exc.code == 404 and method == "GET":
                    return 404, b""
                if exc.code < 500:
                    raise self._error(f"{shown} refused: HTTP {exc.code} {exc.reason}{answer}") from None
                last = f"HTTP {exc.code} {exc.reason}{answer}"
            except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out, reset
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                last = f"{type(reason).__name__}: {reason}"
            log.warning(
                "webhook: %s attempt %d of %d failed: %s",
                shown,
                attempt + 1,
                retries + 1,
                redact(last, self.settings),
            )
        raise self._error(f"{shown} failed after {retries + 1} attempts: {last}")

    # ---- the connector ----------------------------------------------------------------------------------

    def plan(self, action: Action) -> Plan:
        url = self.url
        self._setting("secret")  # a misconfiguration shows in the dry-run, not at execution
        key = _idempotency_key(action)
        change = (
            f"POST {self.shown_url(url)}: ask the receiver to {action.kind} {action.target} "
            f"(idempotency key {key})"
        )
        return Plan(action, self.name, [change], reversible=True, state={"idempotency_key": key})

    def _post(self, plan: Plan, op: str, key: str) -> Outcome:
        body = {
            "op": op,
            "action": plan.action.to_dict(),
            "plan": list(plan.changes),
            "idempotency_key": key,
            "sent_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        status, _ = self._request("POST", self.url, json.dumps(body, sort_keys=True).encode())
        log.info(
            "webhook: %s %s %s accepted (HTTP %d, key %s)",
            op,
            plan.action.kind,
            plan.action.target,
            status,
            key,
        )
        detail = f"{op} of {plan.action.kind} {plan.action.target} accepted by {self.shown_url(self.url)}"
        return Outcome(
            True, f"{detail} (HTTP {status})", {"idempotency_key": key, "op": op, "status": status}
        )

    def execute(self, plan: Plan) -> Outcome:
        return self._post(plan, "execute", plan.state["idempotency_key"])

    def rollback(self, plan: Plan, outcome: Outcome) -> Outcome:
        return self._post(plan, "rollback", f"{plan.state['idempotency_key']}-rollback")

    def verify(self, plan: Plan, outcome: Outcome) -> Outcome:
        key = outcome.state.get("idempotency_key") or plan.state["idempotency_key"]
        url = self.url.rstrip("/") + "/status/" + urllib.parse.quote(key, safe="")
        status, answer = self._request("GET", url)
        try:
            done = status == 200 and json.loads(answer or b"{}").get("done") is True
        except (ValueError, AttributeError):
            raise self._error(
                f"GET {self.shown_url(url)} did not answer a JSON object{_excerpt(answer)}"
            ) from None
        state = {**outcome.state, "verified_key": key}
        if done:
            return Outcome(True, f"the receiver reports {key} done", state)
        return Outcome(False, f"the receiver does not report {key} done (HTTP {status})", state)

    def check(self) -> None:
        # Any answer but a connection failure or a 5xx means the receiver is there (GET of the status of
        # a key that does not exist: a 404 is expected).
        self._request("GET", self.url.rstrip("/") + "/status/sekimori-check")


def _idempotency_key(action: Action) -> str:
    """The action id when the case gave one, else a digest of the action: the same action, the same key."""
    action_id = action.params.get("action_id")
    if action_id:
        return str(action_id)
    digest = hashlib.sha256(json.dumps(action.to_dict(), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    if not text:
        return ""
    return ": " + (text if len(text) <= limit else text[: limit - 1] + "…")
