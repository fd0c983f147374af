"""Burst protection: exact for the first requests of a window, never over the limit
across processes under parallel load, and a database write per block, not per
request, for a busy key."""

from __future__ import annotations

import threading

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import RateLimited
from gateway.ratelimit import BLOCK_MAX, BurstLimiter
from tests.conftest import CoreFactory


def limiter(
    core: Core, *, per_account: int = 1_000_000, per_address: int = 1_000_000
) -> BurstLimiter:
    return BurstLimiter(core.counters, window=10, per_account=per_account, per_address=per_address)


def test_a_small_limit_holds_exactly_and_resets_with_the_window(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    clock.now = 1_800_000_003.0  # 7 s before the 10 s window ends
    burst = limiter(core, per_address=5)
    for _ in range(5):
        burst.check(account_id=1, address="192.0.2.1")
    with pytest.raises(RateLimited) as refused:
        burst.check(account_id=1, address="192.0.2.1")
    assert refused.value.retry_after == 7
    burst.check(account_id=1, address="192.0.2.2")  # another address: its own count
    clock.advance(7)
    burst.check(account_id=1, address="192.0.2.1")


def test_processes_together_never_pass_the_limit(
    make_core: CoreFactory, database_url: str, clock: ManualClock
) -> None:
    limit = 300
    # Two processes' limiters over one database, four threads each, far more
    # requests than the limit.
    limiters = [limiter(make_core(database_url, clock=clock), per_account=limit) for _ in range(2)]
    admitted = [0] * 8
    barrier = threading.Barrier(8)

    def hammer(index: int) -> None:
        barrier.wait()
        for _ in range(150):
            try:
                limiters[index % 2].check(account_id=7, address="")
            except RateLimited:
                continue
            admitted[index] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limit - 2 * (BLOCK_MAX - 1) <= sum(admitted) <= limit


def test_a_busy_key_writes_a_block_at_a_time(
    timed_core: tuple[Core, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    core, _ = timed_core
    burst = limiter(core)
    writes = 0
    hit_many = core.counters.hit_many

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal writes
        writes += 1
        return hit_many(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core.counters, "hit_many", counted)
    for _ in range(1000):
        burst.check(account_id=3, address="192.0.2.9")
    assert writes < 60
    # Every admitted request was counted in the shared counters first, and no more
    # than one block beyond them.
    assert 1000 <= core.counters.peek("burst:account:3", 10).count <= 1000 + BLOCK_MAX


def test_a_block_left_over_is_not_spent_in_the_next_window(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    burst = limiter(core, per_account=100)
    for _ in range(100):  # blocks grow: some counts are taken and not yet spent
        burst.check(account_id=5, address="")
    with pytest.raises(RateLimited):
        burst.check(account_id=5, address="")
    clock.advance(10)  # a new window: counted afresh, from one count at a time
    burst.check(account_id=5, address="")
    assert burst.counters.peek("burst:account:5", 10).count == 1


def spend_held(burst: BurstLimiter, account_id: int, address: str) -> int:
    """Spend every count held for the account and address; how many there were."""
    spent = 0
    while burst.check_held(account_id=account_id, address=address):
        spent += 1
    return spent


ACCOUNT, ADDRESS = 4, "192.0.2.4"
ADMITTED = 40
"""Requests :func:`holding` admits: enough for the blocks to grow past one count."""


@pytest.fixture
def holding(timed_core: tuple[Core, ManualClock]) -> tuple[Core, BurstLimiter, ManualClock]:
    """A limiter (100 a window per account) that admitted :data:`ADMITTED` requests of
    :data:`ACCOUNT` from :data:`ADDRESS`, so that it holds counts taken from the
    database and not yet spent."""
    core, clock = timed_core
    burst = limiter(core, per_account=100)
    for _ in range(ADMITTED):
        burst.check(account_id=ACCOUNT, address=ADDRESS)
    return core, burst, clock


def taken(core: Core) -> int:
    """The counts of :data:`ACCOUNT` taken from the shared counters in this window."""
    return core.counters.peek(f"burst:account:{ACCOUNT}", 10).count


def test_counts_held_are_spent_without_the_database(
    holding: tuple[Core, BurstLimiter, ManualClock],
) -> None:
    core, burst, clock = holding
    before = taken(core)
    spent = spend_held(burst, ACCOUNT, ADDRESS)
    assert spent > 0 and ADMITTED + spent == before  # exactly what was taken, not spent
    assert taken(core) == before  # no write
    burst.check(account_id=ACCOUNT, address=ADDRESS)  # the next block
    assert taken(core) > before
    clock.advance(10)  # what is held does not outlive its window
    assert not burst.check_held(account_id=ACCOUNT, address=ADDRESS)


def test_checking_held_counts_never_waits_for_a_thread_taking_more(
    holding: tuple[Core, BurstLimiter, ManualClock],
) -> None:
    _, burst, _ = holding
    assert burst.check_held(account_id=ACCOUNT, address=ADDRESS)
    with burst._lock:  # as while another thread takes a block
        assert not burst.check_held(account_id=ACCOUNT, address=ADDRESS)


@pytest.mark.parametrize(
    ("account_id", "address"),
    [
        pytest.param(ACCOUNT + 1, "192.0.2.5", id="neither-holds"),
        pytest.param(ACCOUNT, "192.0.2.8", id="the-address-holds-none"),
    ],
)
def test_held_counts_are_spent_for_every_budget_or_none(
    holding: tuple[Core, BurstLimiter, ManualClock], account_id: int, address: str
) -> None:
    """A request whose account or address holds no count is not admitted from what is
    held (the database must be asked), and spends nothing of what the other holds."""
    core, burst, _ = holding
    assert not burst.check_held(account_id=account_id, address=address)
    assert ADMITTED + spend_held(burst, ACCOUNT, ADDRESS) == taken(core)
