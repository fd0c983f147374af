"""Burst protection for the API fronts: requests are counted per account and per
client address in fixed windows shared by every process (see :mod:`gateway.counters`);
past the limit the request is refused with 429 (S3: ``SlowDown``) and the seconds
until the window ends.

A process counts in the shared counters a block at a time: its first requests of a
window take one count each, and a busy key takes blocks that grow with its traffic
(up to :data:`BLOCK_MAX`), spent locally before the database is asked again. A
request is admitted only against a count taken, so the limit holds across every
process whatever the load; what a process took and did not spend by the window's end
is lost, so a busy key may be refused up to ``BLOCK_MAX - 1`` requests early per
process. Bulk clients (rclone, the AWS CLI) send hundreds of requests a second, and
one database write each would cost more than the requests themselves.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from gateway.counters import Counters
from gateway.errors import RateLimited

BLOCK_MAX = 32
"""The most counts a process takes at once for one key."""
GROWTH = 4
"""A key's next block is what it has taken this window divided by this (at least 1)."""


@dataclass
class _Held:
    """What this process took for one key in the window that ends at ``resets_at``."""

    resets_at: float
    taken: int = 0
    left: int = 0


class BurstLimiter:
    """One budget per account and per client address; ``name`` keeps the counters of
    one budget apart from another's (the S3 front has its own)."""

    def __init__(
        self,
        counters: Counters,
        *,
        window: int,
        per_account: int,
        per_address: int,
        name: str = "burst",
    ) -> None:
        self.counters = counters
        self.name = name
        self.window = window
        self.per_account = per_account
        self.per_address = per_address
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def check(self, *, account_id: int | None, address: str) -> None:
        """Count one request; raise :class:`RateLimited` if it is over a limit.
        Blocking (a database write when this process holds no count left)."""
        checks = self._checks(account_id, address)
        now = self.counters.clock()
        with self._lock:
            held = {key: self._current(key, now) for key, _ in checks}
            empty = [(key, limit) for key, limit in checks if held[key].left == 0]
            if empty:
                self._refill(empty, held)
            refused = [held[key] for key, _ in checks if held[key].left == 0]
            if refused:
                raise RateLimited(
                    "too many requests; slow down",
                    retry_after=max(1, math.ceil(refused[0].resets_at - now)),
                )
            for key, _ in checks:
                held[key].left -= 1
            if len(self._held) > 4096:
                self._forget(now)

    def check_held(self, *, account_id: int | None, address: str) -> bool:
        """Count one request against the counts this process holds, without the
        database and without waiting for a thread that is taking counts (it never
        blocks): True if counted; False if nothing was counted (call :meth:`check`)."""
        checks = self._checks(account_id, address)
        now = self.counters.clock()
        if not self._lock.acquire(blocking=False):
            return False  # another thread is taking counts: the database again
        try:
            held: list[_Held] = []
            for key, _ in checks:
                state = self._held.get(key)
                if state is None or state.resets_at <= now or state.left == 0:
                    return False
                held.append(state)
            for state in held:
                state.left -= 1
        finally:
            self._lock.release()
        return True

    def _checks(self, account_id: int | None, address: str) -> list[tuple[str, int]]:
        """The budgets a request counts against: its account's and its address's."""
        checks: list[tuple[str, int]] = []
        if account_id is not None:
            checks.append((f"{self.name}:account:{account_id}", self.per_account))
        if address:
            checks.append((f"{self.name}:address:{address}", self.per_address))
        return checks

    def _current(self, key: str, now: float) -> _Held:
        held = self._held.get(key)
        if held is None or held.resets_at <= now:
            held = self._held[key] = _Held(resets_at=0.0)
        return held

    def _refill(self, empty: list[tuple[str, int]], held: dict[str, _Held]) -> None:
        """Take a block for each key in ``empty`` (one transaction), keeping only what
        the limit still allows."""
        blocks = [max(1, min(BLOCK_MAX, held[key].taken // GROWTH)) for key, _ in empty]
        windows = self.counters.hit_many([key for key, _ in empty], self.window, amounts=blocks)
        for (key, limit), block, window in zip(empty, blocks, windows, strict=True):
            state = held[key]
            if state.resets_at != window.resets_at:  # a new window began meanwhile
                state.resets_at, state.taken, state.left = window.resets_at, 0, 0
            granted = max(0, min(block, limit - (window.count - block)))
            state.taken += block
            state.left += granted

    def _forget(self, now: float) -> None:
        """Drop the keys whose window has ended (the map stays small)."""
        for key in [key for key, held in self._held.items() if held.resets_at <= now]:
            del self._held[key]
