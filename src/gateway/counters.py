"""Fixed-window counters in the database: rate limits and throttles every process shares.

A counter is a key with a window start and a count. :meth:`Counters.hit` adds one in
a single ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL both have it), so
two processes counting the same key never lose a hit. :meth:`Counters.take` counts
against limits all-or-nothing and :meth:`Counters.give_back` returns what was taken,
so a unit can be taken before a slow check and given back when it is not owed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, bindparam, case, delete, or_, select, update
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.db import Database
from gateway.models import Counter


@dataclass(frozen=True)
class Window:
    """The state of one counter: ``count`` in the window that ends at ``resets_at``."""

    count: int
    resets_at: float

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.resets_at - now))


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` counts of ``key`` in the window from ``start`` to ``resets_at``."""

    key: str
    limit: int
    start: float
    resets_at: float

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window ends (at least one)."""
        return max(1, math.ceil(self.resets_at - now))


class LimitReached(Exception):
    """A :class:`Limit` is used up; nothing was counted."""

    def __init__(self, limit: Limit) -> None:
        super().__init__(limit.key)
        self.limit = limit


def month_window(now: float) -> tuple[float, float]:
    """The calendar month (UTC) around ``now``: its first second and the next month's."""
    moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    following = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), following.timestamp()


class Counters:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._hit = self._upsert(
            bindparam("key"), bindparam("start"), bindparam("amount", type_=Integer())
        )
        """:meth:`hit_many`'s statement, built once: the burst limiters run it on their
        busy paths (building it cost more than running it)."""

    def _start(self, window: float) -> float:
        now = self.clock()
        return math.floor(now / window) * window

    def peek(self, key: str, window: float) -> Window:
        """The count in the current window without changing it."""
        start = self._start(window)
        with self.db.read() as session:
            row = session.execute(
                select(Counter.window_start, Counter.count).where(Counter.key == key)
            ).one_or_none()
        count = row[1] if row is not None and row[0] == start else 0
        return Window(count, start + window)

    def hit(self, key: str, window: float, amount: int = 1) -> Window:
        """Add ``amount`` to the counter's current window and return the new state."""
        return self.hit_many([key], window, amounts=[amount])[0]

    def hit_many(
        self, keys: list[str], window: float, *, amounts: Sequence[int] | None = None
    ) -> list[Window]:
        """:meth:`hit` for several counters in one transaction (one commit); each key
        gets its own of ``amounts`` (one each without)."""
        start = self._start(window)
        counts = []
        with self.db.write() as session:
            connection = session.connection()
            for key, added in zip(keys, amounts or [1] * len(keys), strict=True):
                values = {"key": key, "start": start, "amount": added}
                counts.append(int(connection.execute(self._hit, values).scalar() or 0))
        return [Window(count, start + window) for count in counts]

    def fixed(self, key: str, limit: int, seconds: float) -> Limit:
        """The fixed window of ``seconds`` that holds now, as a :class:`Limit`."""
        start = self._start(seconds)
        return Limit(key, limit, start, start + seconds)

    def monthly(self, key: str, limit: int) -> Limit:
        """This calendar month (UTC), as a :class:`Limit`."""
        start, following = month_window(self.clock())
        return Limit(key, limit, start, following)

    def used(self, limit: Limit) -> int:
        """How much of ``limit`` is used, without counting anything."""
        with self.db.read() as session:
            row = session.execute(
                select(Counter.window_start, Counter.count).where(Counter.key == limit.key)
            ).one_or_none()
        return int(row[1]) if row is not None and row[0] == limit.start else 0

    def take(self, limits: Sequence[Limit]) -> list[int]:
        """Count one against every limit, or against none: raises
        :class:`LimitReached` naming the first limit that is used up."""
        with self.db.write() as session:
            return self.take_in(session, limits)

    def take_in(self, session: Session, limits: Sequence[Limit]) -> list[int]:
        """:meth:`take` inside the caller's write transaction, which MUST roll back
        when this raises (so that nothing is counted). Exact under concurrency: each
        count is one conditional upsert, serialised on the counter's row."""
        counts = []
        for limit in limits:
            statement = self._upsert(
                limit.key,
                limit.start,
                1,
                where=or_(Counter.window_start != limit.start, Counter.count < limit.limit),
            )
            count = session.scalar(statement)
            if count is None or count > limit.limit:
                raise LimitReached(limit)
            counts.append(int(count))
        return counts

    def give_back(self, limits: Sequence[Limit]) -> None:
        """Return one count to each limit taken earlier: only within the same window
        (a window that has ended keeps no debt) and never below zero."""
        with self.db.write() as session:
            for limit in limits:
                session.execute(
                    update(Counter)
                    .where(
                        Counter.key == limit.key,
                        Counter.window_start == limit.start,
                        Counter.count > 0,
                    )
                    .values(count=Counter.count - 1)
                )

    def _upsert(self, key: Any, start: Any, amount: Any, *, where: Any = None) -> Any:
        """Add ``amount`` to ``key`` in the window from ``start`` (restarting the count
        in a new window), only where ``where`` holds; returns the new count. The values
        MAY be bound parameters (a statement built once)."""
        insert = self.db.upsert(Counter).values(key=key, window_start=start, count=amount)
        excluded = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=[Counter.key],
            set_={
                "count": _case_same_window(excluded.window_start, amount),
                "window_start": excluded.window_start,
            },
            where=where,
        ).returning(Counter.count)

    def reset(self, key: str) -> None:
        with self.db.write() as session:
            session.execute(delete(Counter).where(Counter.key == key))

    def prune(self, older_than: float) -> None:
        """Drop counters whose window started before ``older_than``."""
        with self.db.write() as session:
            session.execute(delete(Counter).where(Counter.window_start < older_than))


def _case_same_window(excluded_start: object, amount: Any) -> object:
    return case(
        (Counter.window_start == excluded_start, Counter.count + amount),
        else_=amount,
    )
