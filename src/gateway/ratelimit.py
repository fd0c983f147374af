"""Burst protection for the API: requests are counted per account and per client
address in fixed windows shared by every process (see :mod:`gateway.counters`);
past the limit the request is refused with 429 and the seconds until the window ends."""

from __future__ import annotations

from gateway.counters import Counters
from gateway.errors import RateLimited


class BurstLimiter:
    def __init__(
        self, counters: Counters, *, window: int, per_account: int, per_address: int
    ) -> None:
        self.counters = counters
        self.window = window
        self.per_account = per_account
        self.per_address = per_address

    def check(self, *, account_id: int | None, address: str) -> None:
        """Count one request; raise :class:`RateLimited` if it is over a limit."""
        checks: list[tuple[str, int]] = []
        if account_id is not None:
            checks.append((f"burst:account:{account_id}", self.per_account))
        if address:
            checks.append((f"burst:address:{address}", self.per_address))
        now = self.counters.clock()
        windows = self.counters.hit_many([key for key, _ in checks], self.window)
        for (_key, limit), window in zip(checks, windows, strict=True):
            if window.count > limit:
                raise RateLimited(
                    "too many requests; slow down", retry_after=window.retry_after(now)
                )
