"""Values kept for a short time (:class:`gateway.recent.Recent`): how long, how many,
and what a change drops."""

from __future__ import annotations

from gateway.clock import ManualClock
from gateway.recent import Recent


def test_a_value_is_kept_for_its_seconds() -> None:
    clock = ManualClock()
    recent: Recent[str, int] = Recent(2, clock)
    reads: list[str] = []

    def read() -> int:
        reads.append("a")
        return len(reads)

    assert recent.fetch("a", read) == 1
    clock.advance(1.9)
    assert recent.fetch("a", read) == 1 and reads == ["a"]
    clock.advance(0.1)
    assert recent.get("a") is None
    assert recent.fetch("a", read) == 2


def test_no_seconds_keeps_nothing() -> None:
    recent: Recent[str, int] = Recent(0, ManualClock())
    recent.put("a", 1)
    assert recent.get("a") is None


def test_the_least_recently_used_go_first() -> None:
    recent: Recent[int, int] = Recent(60, ManualClock(), size=2)
    recent.put(1, 1)
    recent.put(2, 2)
    assert recent.get(1) == 1  # 2 is now the least recently used
    recent.put(3, 3)
    assert (recent.get(1), recent.get(2), recent.get(3)) == (1, None, 3)


def test_a_drop_forgets_and_stops_reads_begun_before_it() -> None:
    recent: Recent[str, int] = Recent(60, ManualClock())
    recent.put("a", 1)
    recent.put("b", 2)
    recent.drop("a")
    assert recent.get("a") is None and recent.get("b") == 2
    recent.drop_if(lambda value: value == 2)
    assert recent.get("b") is None

    def read_during_a_change() -> int:
        recent.drop("a")  # a change lands while the old value is being read
        return 1

    assert recent.fetch("a", read_during_a_change) == 1
    assert recent.get("a") is None  # what was read may predate the change: not kept
    mark = recent.mark()
    recent.put("a", 2, unless_dropped_since=mark)
    assert recent.get("a") == 2
    mark = recent.mark()
    recent.drop("a")  # dropped between the mark and the put: what was read is not kept
    recent.put("a", 3, unless_dropped_since=mark)
    assert recent.get("a") is None
