"""Leases: one holder at a time, however many ask at once; taken over once run out."""

from __future__ import annotations

from gateway.clock import ManualClock
from gateway.leases import Leases
from tests.conftest import CoreFactory, in_parallel


def test_one_holder_at_a_time(make_core: CoreFactory, database_url: str) -> None:
    clock = ManualClock()
    core = make_core(database_url, clock=clock)
    leases = Leases(core.db, clock)
    taken = in_parallel(lambda n: leases.acquire("job", f"node{n}", 60), range(20))
    assert taken.count(True) == 1
    holder = f"node{taken.index(True)}"
    assert leases.acquire("job", holder, 60)  # the holder extends it
    clock.advance(59)
    assert not leases.acquire("job", "late", 60)
    clock.advance(2 + 60)  # run out: another takes over
    assert leases.acquire("job", "late", 60)
    leases.release("job", "late")
    assert leases.acquire("job", holder, 60)


def test_periodic_work_runs_on_one_node(make_core: CoreFactory, database_url: str) -> None:
    clock = ManualClock()
    first = make_core(database_url, clock=clock)
    second = make_core(database_url, clock=clock)
    runs: list[str] = []
    first.recovery.tasks.append(lambda: runs.append("first"))
    second.recovery.tasks.append(lambda: runs.append("second"))
    for _ in range(3):
        first.recovery.run_once()
        second.recovery.run_once()
    assert runs == ["first"] * 3
    clock.advance(120)  # the first node stops beating (hung, or gone)
    second.recovery.run_once()
    assert runs[-1] == "second"
