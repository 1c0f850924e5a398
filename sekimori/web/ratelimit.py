"""Sign-in rate limiting: failed attempts counted per account and per client address in a sliding
window; once either is over its limit, sign-in is refused without checking the password (so a guess
made while limited cannot succeed). Kept in the server's memory: one process serves the web face."""

from __future__ import annotations

import threading
import time
from collections import deque


class LoginLimiter:
    def __init__(self, per_account: int, window_seconds: float, per_address: int | None = None) -> None:
        self.per_account = per_account
        self.per_address = per_address if per_address is not None else per_account * 4
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def limited(self, account_key: str, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return (
                len(self._recent("a:" + account_key, now)) >= self.per_account
                or len(self._recent("ip:" + address, now)) >= self.per_address
            )

    def failed(self, account_key: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent("a:" + account_key, now).append(now)
            self._recent("ip:" + address, now).append(now)
            if len(self._failures) > 100_000:  # bounded memory under a spray of made-up logins
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, account_key: str) -> None:
        with self._lock:
            self._failures.pop("a:" + account_key, None)
