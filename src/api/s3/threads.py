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

Both MUST only be given work that is safe to abandon: if the request is cancelled
while it runs in a thread, the thread finishes it and its answer is dropped. A whole
small PutObject qualifies (its thread stores and commits the object, or nothing).
Work that must not be abandoned half-way (a streamed upload's writes between its
start and its commit, a delete) stays on starlette's ``run_in_threadpool``, which
waits for its thread. The threads here are
the front's own, handed work through the loop's executor interface: starlette's pool
(anyio: a capacity limiter, a cancel scope, a copied context) costs about twice the
CPU per call.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

THREADS = 40
"""As many as starlette's pool allows at once."""


class Lookups:
    """The S3 front's reads and counts; ``inline_reads`` for a database whose reads
    do not wait (SQLite)."""

    def __init__(self, *, inline_reads: bool) -> None:
        self.inline_reads = inline_reads
        self._pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="s3-lookup")

    async def read(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)``, a read: inline or in a thread (see above)."""
        if self.inline_reads:
            return function(*args, **kwargs)
        return await self.thread(function, *args, **kwargs)

    async def thread(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` in a worker thread (it MAY block)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args, **kwargs))
