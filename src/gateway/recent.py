"""Values read lately, kept for a short time in this process: the caller's account,
its login token and its verified Basic credential, which every request needs and
which rarely change.

A value is kept for ``seconds`` (none is kept when that is 0) and at most ``size`` of
them, the least recently used going first. A change made through this process drops
what it changed at once (:meth:`Recent.drop`, :meth:`Recent.drop_if`), and a read
that began before a drop never stores what it read; a change made through another
process or node is seen once the value kept here is ``seconds`` old."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from gateway.clock import Clock

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key, each kept ``seconds`` after it was read; thread-safe."""

    def __init__(self, seconds: float, clock: Clock, *, size: int = 10_000) -> None:
        self.seconds = seconds
        self.clock = clock
        self.size = size
        self._values: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._drops = 0

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, or ``None`` (never kept, dropped, or too old)."""
        with self._lock:
            kept = self._values.get(key)
            if kept is None:
                return None
            if kept[1] <= self.clock():
                del self._values[key]
                return None
            self._values.move_to_end(key)
            return kept[0]

    def fetch(self, key: K, read: Callable[[], V]) -> V:
        """The value kept for ``key``, or ``read()``'s, kept unless something was
        dropped while it was read (it may be older than the drop)."""
        value = self.get(key)
        if value is not None:
            return value
        drops = self.mark()
        value = read()
        self.put(key, value, unless_dropped_since=drops)
        return value

    def mark(self) -> int:
        """A mark to pass to :meth:`put` as ``unless_dropped_since``, taken before a read."""
        return self._drops

    def put(self, key: K, value: V, *, unless_dropped_since: int | None = None) -> None:
        """Keep ``value`` for ``key``; not when anything was dropped since the mark
        ``unless_dropped_since`` (see :meth:`mark`)."""
        if self.seconds <= 0:
            return
        with self._lock:
            if unless_dropped_since is not None and unless_dropped_since != self._drops:
                return
            self._values[key] = (value, self.clock() + self.seconds)
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def drop(self, key: K) -> None:
        """Forget ``key``'s value (a change was made to it)."""
        with self._lock:
            self._drops += 1
            self._values.pop(key, None)

    def drop_if(self, doomed: Callable[[V], bool]) -> None:
        """Forget every value for which ``doomed`` is true."""
        with self._lock:
            self._drops += 1
            for key in [key for key, (value, _) in self._values.items() if doomed(value)]:
                del self._values[key]
