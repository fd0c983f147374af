"""Database counters: fixed windows, exact under concurrency, on both databases."""

from __future__ import annotations

import threading

from gateway.clock import ManualClock
from gateway.core import Core
from tests.conftest import CoreFactory


def test_windows_reset(make_core: CoreFactory, database_url: str, clock: ManualClock) -> None:
    core: Core = make_core(database_url, clock=clock)
    clock.now = 1_800_000_000.0
    assert core.counters.hit("k", 10).count == 1
    assert core.counters.hit("k", 10, amount=4).count == 5
    assert core.counters.peek("k", 10).count == 5
    assert core.counters.peek("k", 10).retry_after(clock.now) == 10
    clock.advance(10)
    assert core.counters.peek("k", 10).count == 0
    assert core.counters.hit("k", 10).count == 1
    core.counters.reset("k")
    assert core.counters.peek("k", 10).count == 0


def test_parallel_hits_are_all_counted(
    make_core: CoreFactory, database_url: str, clock: ManualClock
) -> None:
    cores = [make_core(database_url, clock=clock), make_core(database_url, clock=clock)]
    barrier = threading.Barrier(8)

    def hammer(index: int) -> None:
        barrier.wait()
        for _ in range(25):
            cores[index % 2].counters.hit("shared", 3600)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cores[0].counters.peek("shared", 3600).count == 200
