"""How the S3 front runs the engine's blocking reads and counts.

Most S3 requests are one lookup (HeadObject is the whole of a no-change sync), and
handing it to a worker thread cost more CPU than the lookup itself: waking the thread,
handing the GIL back and forth, waking the event loop again. So:

- :meth:`Lookups.read` runs a read where it costs least. On SQLite, on the event loop
  itself: a read there is CPU-bound (SQLAlchemy's Python holds the GIL, the query is
  microseconds of a local file, and in WAL mode a reader never waits for a writer),
  so a thread would only add the hand-offs. On another database (PostgreSQL), in a
  worker thread: the read waits on the network, and the loop must not.
- :meth:`Lookups.thread` always takes a worker thread: writes (the burst counters, a
  key's last use), which may wait for the write lock and for an fsync.

The threads are the process's worker threads (:mod:`gateway.threads`), which the
WebDAV fast path shares. Both methods MUST only be given work that is safe to
abandon: if the request is cancelled while it runs in a thread, the thread finishes
it and its answer is dropped. A whole small PutObject qualifies (its thread stores
and commits the object, or nothing). Work that must not be abandoned half-way (a
streamed upload's writes between its start and its commit, a delete) stays on
starlette's ``run_in_threadpool``, which waits for its thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from gateway.threads import WorkerThreads

P = ParamSpec("P")
T = TypeVar("T")


class Lookups:
    """The S3 front's reads and counts, run in ``threads``; ``inline_reads`` for a
    database whose reads do not wait (SQLite)."""

    def __init__(self, threads: WorkerThreads, *, inline_reads: bool) -> None:
        self.threads = threads
        self.inline_reads = inline_reads

    async def read(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)``, a read: inline or in a thread (see above)."""
        if self.inline_reads:
            return function(*args, **kwargs)
        return await self.threads.run(function, *args, **kwargs)

    async def thread(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` in a worker thread (it MAY block)."""
        return await self.threads.run(function, *args, **kwargs)
