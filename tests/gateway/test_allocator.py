"""glibc's malloc as ``lockr serve`` sets it: the thresholds take effect (a block is
served from the heap, freed memory is kept), the environment wins, and an idle
process gives back what was kept. Each check runs in a fresh interpreter and reads
glibc's own accounting (``mallinfo2``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gateway.allocator import MMAP_THRESHOLD, TRIM_THRESHOLD, glibc, tune_allocator

pytestmark = pytest.mark.skipif(glibc() is None, reason="glibc's malloc only")

MiB = 1024 * 1024
SRC = Path(__file__).resolve().parents[2] / "src"

PRELUDE = """
import ctypes, json, time
from gateway.allocator import IdleTrim, release_free_memory, tune_allocator

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    ).split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
MiB = 1024 * 1024

def mapped_for(size):
    # The bytes glibc mmaps for one allocation of ``size`` (0: it came from the heap).
    before = libc.mallinfo2().hblkhd
    pointer = libc.malloc(size)
    mapped = libc.mallinfo2().hblkhd - before
    libc.free(pointer)
    return mapped

def kept_after(count):
    # Free memory left at the top of the heap once ``count`` blocks of 1 MiB are freed.
    pointers = [libc.malloc(MiB) for _ in range(count)]
    for pointer in reversed(pointers):
        libc.free(pointer)
    return libc.mallinfo2().keepcost

def burn(seconds):
    # Use the CPU for ``seconds`` of CPU time.
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
"""


def run(script: str, **env: str) -> Any:
    """Run ``script`` after :data:`PRELUDE` in a fresh interpreter (with ``env`` added
    to an environment cleared of malloc settings); what it prints, as JSON."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MALLOC_") and name != "GLIBC_TUNABLES"
    }
    environ |= {"PYTHONPATH": str(SRC)} | env
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script)],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_tuned_blocks_come_from_the_heap_and_freed_memory_is_kept() -> None:
    untuned = run("print(json.dumps([mapped_for(2 * MiB), kept_after(16)]))")
    tuned = run("print(json.dumps([tune_allocator(), mapped_for(2 * MiB), kept_after(16)]))")
    # glibc's defaults: a fresh 2 MiB block is mmapped, 16 freed ones are trimmed.
    assert untuned[0] >= 2 * MiB and untuned[1] < MiB
    assert tuned == [True, 0, tuned[2]] and 16 * MiB <= tuned[2] < TRIM_THRESHOLD
    # Past the mmap threshold, an allocation is mmapped as before.
    assert run(f"tune_allocator(); print(mapped_for({MMAP_THRESHOLD}))") >= MMAP_THRESHOLD


def test_the_environment_wins() -> None:
    assert not tune_allocator({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert not tune_allocator({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"})
    script = "print(json.dumps([tune_allocator(), mapped_for(2 * MiB)]))"
    tuned, mapped = run(script, MALLOC_MMAP_THRESHOLD_="131072")
    assert not tuned and mapped >= 2 * MiB


def test_an_idle_process_gives_back_what_was_kept_after_a_busy_spell() -> None:
    script = """
    tune_allocator()
    trim = IdleTrim()
    kept = kept_after(32)
    time.sleep(0.2)
    idle_first = trim.look()          # idle, but never busy: nothing released
    kept_idle = libc.mallinfo2().keepcost
    burn(0.3)
    busy = trim.look()                # busy: nothing released while it lasts
    kept_busy = libc.mallinfo2().keepcost
    time.sleep(0.2)
    released = trim.look()            # idle after busy: released
    print(json.dumps([kept, idle_first, kept_idle, busy, kept_busy, released,
                      libc.mallinfo2().keepcost]))
    """
    kept, idle_first, kept_idle, busy, kept_busy, released, after = run(script)
    assert kept >= 32 * MiB
    assert (idle_first, kept_idle) == (False, kept)
    assert (busy, kept_busy) == (False, kept)
    assert released and after < MiB


def test_idle_trim_runs_on_its_own_thread_while_serving() -> None:
    script = """
    tune_allocator()
    with IdleTrim(period=0.05):
        kept = kept_after(32)
        burn(0.3)
        deadline = time.monotonic() + 30
        while libc.mallinfo2().keepcost >= MiB and time.monotonic() < deadline:
            time.sleep(0.05)
    print(json.dumps([kept, libc.mallinfo2().keepcost]))
    """
    kept, after = run(script)
    assert kept >= 32 * MiB and after < MiB
