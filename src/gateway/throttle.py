"""Counted attempts: failed logins, link password guesses, download-key guesses and
sign-ups, each limited per subject (an account, an address, a link…) in fixed windows
whose counters live in the database, so every process enforces one limit.

One unit of every budget is *taken before* the check runs, in one all-or-nothing
update that is exact under concurrency: however many attempts arrive at once, no more
checks run than the budget has units, and the rest are refused with 429 and the
seconds until the window ends, without running the check. What happens to the unit
afterwards depends on what the budget counts; either way every window ends, so
nobody is locked out for longer than one window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from gateway.counters import Counters, Limit, LimitReached
from gateway.errors import RateLimited

Failure = type[Exception] | tuple[type[Exception], ...]


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` attempts per subject in each fixed window of ``window``
    seconds, counted under keys starting with ``name``."""

    name: str
    limit: int
    window: float


class Attempts:
    """Budgets for one kind of attempt, and the way to make one: take, check, give back.

    With ``failure`` (an exception type), failed checks are counted: a check that
    raises ``failure`` keeps its units; one that succeeds gives them back, and so
    does one that ends in any other error (it was not a failed guess). Without it,
    completed actions are counted (sign-ups): an action that raises gives its units
    back."""

    def __init__(
        self,
        counters: Counters,
        budgets: Sequence[Budget],
        *,
        refusal: str,
        failure: Failure | None = None,
    ) -> None:
        self.counters = counters
        self.budgets = tuple(budgets)
        self.refusal = refusal
        self.failure = failure

    @contextmanager
    def attempt(self, *subjects: str | None) -> Iterator[None]:
        """Run the ``with`` block as one attempt by ``subjects``, one per budget in
        order (``None`` leaves that budget out). Raises :class:`RateLimited`, without
        running the block, when any of the budgets is used up."""
        limits = [
            (budget, self._limit(budget, subject))
            for budget, subject in zip(self.budgets, subjects, strict=True)
            if subject is not None
        ]
        try:
            self.counters.take([limit for _, limit in limits])
        except LimitReached as reached:
            retry_after = reached.limit.retry_after(self.counters.clock())
            raise RateLimited(self.refusal, retry_after=retry_after) from None
        try:
            yield
        except Exception as error:
            if self.failure is None or not isinstance(error, self.failure):
                self.counters.give_back([limit for _, limit in limits])
            raise
        if self.failure is not None:
            self.counters.give_back([limit for _, limit in limits])

    def _limit(self, budget: Budget, subject: str) -> Limit:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return self.counters.fixed(f"{budget.name}:{digest}", budget.limit, budget.window)
