"""Fixed-window counters in the database: rate limits and throttles every process shares.

A counter is a key with a window start and a count. :meth:`Counters.hit` adds one in
a single ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL both have it), so
two processes counting the same key never lose a hit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

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


class Counters:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        dialect = db.engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

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
        return self.hit_many([key], window, amount)[0]

    def hit_many(self, keys: list[str], window: float, amount: int = 1) -> list[Window]:
        """:meth:`hit` for several counters in one transaction (one commit)."""
        start = self._start(window)
        counts = []
        with self.db.write() as session:
            for key in keys:
                insert = self._insert(Counter).values(key=key, window_start=start, count=amount)
                excluded = insert.excluded
                statement = insert.on_conflict_do_update(
                    index_elements=[Counter.key],
                    set_={
                        "count": _case_same_window(excluded.window_start, amount),
                        "window_start": excluded.window_start,
                    },
                ).returning(Counter.count)
                counts.append(int(session.scalar(statement) or 0))
        return [Window(count, start + window) for count in counts]

    def reset(self, key: str) -> None:
        with self.db.write() as session:
            session.execute(delete(Counter).where(Counter.key == key))

    def prune(self, older_than: float) -> None:
        """Drop counters whose window started before ``older_than``."""
        with self.db.write() as session:
            session.execute(delete(Counter).where(Counter.window_start < older_than))


def _case_same_window(excluded_start: object, amount: int) -> object:
    return case(
        (Counter.window_start == excluded_start, Counter.count + amount),
        else_=amount,
    )
