"""Database counters: fixed windows, exact under concurrency, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.counters import LimitReached, month_window
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
            cores[index % 2].counters.hit("both-cores", 3600)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cores[0].counters.peek("both-cores", 3600).count == 200


def test_limits_count_all_or_nothing(
    make_core: CoreFactory, database_url: str, clock: ManualClock
) -> None:
    core: Core = make_core(database_url, clock=clock)
    counters = core.counters
    small, big = counters.fixed("small", 2, 10), counters.fixed("big", 100, 60)
    assert counters.take([small, big]) == [1, 1]
    assert counters.take([small, big]) == [2, 2]
    with pytest.raises(LimitReached) as reached:
        counters.take([big, small])
    assert reached.value.limit.key == "small"
    assert counters.used(big) == 2  # the refused take counted nothing
    clock.advance(10)
    assert counters.take([counters.fixed("small", 2, 10)]) == [1]


def test_parallel_takes_stop_exactly_at_the_limit(
    make_core: CoreFactory, database_url: str, clock: ManualClock
) -> None:
    cores = [make_core(database_url, clock=clock), make_core(database_url, clock=clock)]
    limit = cores[0].counters.fixed("exact", 10, 60)
    taken: list[int] = []
    barrier = threading.Barrier(20)

    def worker(index: int) -> None:
        barrier.wait()
        try:
            taken.append(cores[index % 2].counters.take([limit])[0])
        except LimitReached:
            pass

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(1, 11))


def test_give_back_stays_in_its_window_and_above_zero(
    make_core: CoreFactory, database_url: str, clock: ManualClock
) -> None:
    core: Core = make_core(database_url, clock=clock)
    counters = core.counters
    clock.now = 1_800_000_000.0
    limit = counters.fixed("refund", 5, 60)
    counters.take([limit])
    counters.take([limit])
    counters.give_back([limit])
    assert counters.used(limit) == 1
    counters.give_back([limit, limit, counters.fixed("never-taken", 5, 60)])
    assert counters.used(limit) == 0  # never below zero
    counters.take([limit])
    clock.advance(60)
    fresh = counters.fixed("refund", 5, 60)
    counters.take([fresh])
    counters.give_back([limit])  # from the window that ended: the new one keeps its count
    assert counters.used(fresh) == 1


def test_parallel_give_backs_are_all_counted(
    make_core: CoreFactory, database_url: str, clock: ManualClock
) -> None:
    cores = [make_core(database_url, clock=clock), make_core(database_url, clock=clock)]
    limit = cores[0].counters.fixed("busy", 100, 60)
    for _ in range(40):
        cores[0].counters.take([limit])
    barrier = threading.Barrier(8)

    def worker(index: int) -> None:
        barrier.wait()
        for _ in range(5):
            cores[index % 2].counters.take([limit])
            cores[index % 2].counters.give_back([limit])
            cores[index % 2].counters.give_back([limit])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cores[0].counters.used(limit) == 0


def test_month_windows_follow_the_calendar_in_utc() -> None:
    start, following = month_window(datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp())
    assert start == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert following == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    start, following = month_window(datetime(2027, 1, 1, tzinfo=UTC).timestamp())
    assert (start, following) == (
        datetime(2027, 1, 1, tzinfo=UTC).timestamp(),
        datetime(2027, 2, 1, tzinfo=UTC).timestamp(),
    )
