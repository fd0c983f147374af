"""The worker threads the fronts hand their blocking work to: one pool per process.

The S3 front (:mod:`api.s3.threads`) and the WebDAV fast path
(:mod:`webdav.fast.dispatch`) both run their jobs here, so a node has one set of
worker threads however many fronts it serves. The core owns the pool
(:attr:`gateway.core.Core.threads`) and closes it first when it closes, which
``lockr serve`` does once its servers have stopped.

Jobs are handed over through the event loop's executor interface: starlette's
``run_in_threadpool`` (anyio: a capacity limiter, a cancel scope, a copied context)
costs about twice the CPU per call. The other side of that: a job whose caller is
cancelled still runs to its end in its thread, and its answer is dropped, so this
pool MUST only be given work that is safe to abandon (each front says which of its
work qualifies).
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
"""As many as anyio's default pool (starlette's ``run_in_threadpool``) runs at once."""


class WorkerThreads:
    """A pool of at most ``size`` threads, started one by one as jobs need them (a
    process that never serves starts none)."""

    def __init__(self, size: int = THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="lockr-worker")

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` in a worker thread (it MAY block); its
        exception, if any, is raised here."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        """Wait for the jobs in flight, then stop the threads; a job handed over
        afterwards raises :class:`RuntimeError`. Closing again does nothing."""
        self._pool.shutdown(wait=True)
