"""glibc's ``malloc`` set for the blocks lockr moves: :func:`tune_allocator`, which
``lockr serve`` calls once at start (before its threads and workers exist), and
:class:`IdleTrim`, which gives what that keeps back once a serving process falls
idle.

Every body lockr streams passes through memory in blocks of about 1 MiB (a request
body joined into blocks on the event loop, queued for the thread that stores them),
allocated and freed a thousand times a GiB. glibc's defaults serve such a block from
a fresh ``mmap`` at first and later from the heap, which it trims whenever more than
twice a block is free at its top; as the blocks in flight rise and fall with the
transfers, most land on memory the kernel has to fault in again, page by page (some
100,000 minor faults a GiB uploaded over S3). With :data:`MMAP_THRESHOLD` every
block comes from the heap, and with :data:`TRIM_THRESHOLD` its top is given back only
past what the blocks in flight swing by, so they reuse the same pages. What that
keeps while the process is busy, :class:`IdleTrim` gives back once it is idle.

The environment wins: with ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or a
``glibc.malloc`` tunable in ``GLIBC_TUNABLES`` set, the thresholds are left alone. On
a C library other than glibc (musl, macOS), nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Mapping

log = logging.getLogger("lockr")

M_TRIM_THRESHOLD = -1
"""``mallopt``'s parameter numbers (glibc's ``malloc.h``)."""
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 4 * 1024 * 1024
"""Allocations below this come from the heap: every block lockr streams (1 MiB and a
socket read more) does."""
TRIM_THRESHOLD = 64 * 1024 * 1024
"""Free memory at the top of a heap kept for reuse rather than given back at once:
more than the blocks in flight swing by in ten concurrent part uploads."""

PERIOD = 5.0
"""Seconds between two looks of :class:`IdleTrim` at the process's CPU time."""
BUSY = 0.1
"""The share of a core used since the last look that makes the process busy."""
IDLE = 0.01
"""The share of a core under which it is idle."""

_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def glibc() -> ctypes.CDLL | None:
    """The running glibc, or ``None`` under another C library."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        return None
    if not version or not version.startswith("glibc"):
        return None
    return ctypes.CDLL(None)


def tune_allocator(environ: Mapping[str, str] | None = None) -> bool:
    """Set glibc's mmap and trim thresholds to :data:`MMAP_THRESHOLD` and
    :data:`TRIM_THRESHOLD` for this process (and the processes it forks); ``True``
    if they were set. Leaves them as they are (``False``) under another C library,
    or when ``environ`` (the process's environment by default) sets either itself."""
    environ = os.environ if environ is None else environ
    if any(name in environ for name in _ENVIRONMENT):
        return False
    if "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        return False
    libc = glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if tuned:
        log.debug(
            "malloc: mmap threshold %d, trim threshold %d bytes", MMAP_THRESHOLD, TRIM_THRESHOLD
        )
    return tuned


def release_free_memory() -> bool:
    """Give the free memory of every malloc arena back to the system
    (``malloc_trim(0)``); ``False`` under another C library than glibc, or when there
    was none to give."""
    libc = glibc()
    if libc is None:
        return False
    trim = libc.malloc_trim
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return bool(trim(0))


class IdleTrim:
    """Gives freed memory back (:func:`release_free_memory`) once the process falls
    idle after a busy spell: every ``period`` seconds it reads the process's CPU
    time, and a period in which it used under :data:`IDLE` of a core, after one of
    :data:`BUSY` or more, releases. A steady trickle never counts as busy, and a busy
    process is left alone, so a transfer does not have its pages taken from under
    it. Use as a context manager around serving; under another C library than glibc
    it does nothing."""

    def __init__(self, *, period: float = PERIOD) -> None:
        self._period = period
        self._last = (time.monotonic(), time.process_time())
        self._busy = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def look(self) -> bool:
        """Read the CPU time used since the last look; ``True`` if that released
        memory."""
        now = (time.monotonic(), time.process_time())
        (then, used), self._last = self._last, now
        share = (now[1] - used) / max(now[0] - then, 1e-3)
        if share >= BUSY:
            self._busy = True
        elif share < IDLE and self._busy:
            self._busy = False
            release_free_memory()
            return True
        return False

    def __enter__(self) -> IdleTrim:
        if glibc() is not None:
            self._thread = threading.Thread(target=self._run, name="lockr-trim", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self.look()
