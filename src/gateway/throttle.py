"""Login throttling: failed password checks are counted per identifier and per client
address in fixed windows; past the limit, checks are refused with 429 and a wait
until the window ends. A success clears the identifier's count, and every window
ends, so the real owner is never locked out for longer than one window."""

from __future__ import annotations

import hashlib

from gateway.counters import Counters
from gateway.errors import RateLimited


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login:{kind}:{digest}"


class LoginThrottle:
    def __init__(
        self,
        counters: Counters,
        *,
        window: float,
        max_per_identifier: int,
        max_per_address: int,
    ) -> None:
        self.counters = counters
        self.window = window
        self.max_per_identifier = max_per_identifier
        self.max_per_address = max_per_address

    def check(self, identifier: str, address: str) -> None:
        """Raise :class:`RateLimited` if either counter is at its limit."""
        now = self.counters.clock()
        for key, limit in self._keys(identifier, address):
            window = self.counters.peek(key, self.window)
            if window.count >= limit:
                raise RateLimited(
                    "too many failed sign-in attempts; try again later",
                    retry_after=window.retry_after(now),
                )

    def failed(self, identifier: str, address: str) -> None:
        self.counters.hit_many([key for key, _ in self._keys(identifier, address)], self.window)

    def succeeded(self, identifier: str) -> None:
        key = _key("id", identifier)
        if self.counters.peek(key, self.window).count:
            self.counters.reset(key)

    def _keys(self, identifier: str, address: str) -> list[tuple[str, int]]:
        keys = [(_key("id", identifier), self.max_per_identifier)]
        if address:
            keys.append((_key("addr", address), self.max_per_address))
        return keys
