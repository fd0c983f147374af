"""Login throttling with a controllable clock: per identifier, per address, and never
a permanent lock-out."""

from __future__ import annotations

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import RateLimited, Unauthorized
from tests.conftest import PASSWORD, CoreFactory


@pytest.fixture
def throttled(make_core: CoreFactory, clock: ManualClock) -> Core:
    core = make_core(
        clock=clock,
        login_max_failures=3,
        login_max_failures_per_address=5,
        login_window_seconds=600,
    )
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    core.accounts.create("bob", "bob@example.com", PASSWORD)
    return core


def fail(core: Core, who: str, address: str) -> None:
    with pytest.raises(Unauthorized):
        core.auth.check_password(who, "wrong", address=address)


def test_identifier_is_throttled_then_released(throttled: Core, clock: ManualClock) -> None:
    clock.now = 1_800_000_000.0  # at a window start
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        fail(throttled, "alice", address)
    with pytest.raises(RateLimited) as caught:
        throttled.auth.check_password("alice", PASSWORD, address="10.0.0.4")
    assert caught.value.retry_after == 600
    clock.advance(599)
    with pytest.raises(RateLimited) as caught:
        throttled.auth.check_password("Alice", PASSWORD, address="10.0.0.4")
    assert caught.value.retry_after == 1
    clock.advance(1)  # the window ends: the real owner gets in
    assert throttled.auth.check_password("alice", PASSWORD, address="10.0.0.4").username == "alice"
    assert throttled.auth.check_password("bob", PASSWORD, address="10.0.0.1").username == "bob"


def test_address_is_throttled_across_identifiers(throttled: Core) -> None:
    for who in ("alice", "bob", "carol", "dave", "erin"):
        fail(throttled, who, "192.0.2.9")
    with pytest.raises(RateLimited):
        throttled.auth.check_password("bob", PASSWORD, address="192.0.2.9")
    assert throttled.auth.check_password("bob", PASSWORD, address="192.0.2.10").username == "bob"


def test_success_clears_the_identifier_count(throttled: Core) -> None:
    fail(throttled, "alice", "10.0.0.1")
    fail(throttled, "alice", "10.0.0.1")
    throttled.auth.check_password("alice", PASSWORD, address="10.0.0.1")
    fail(throttled, "alice", "10.0.0.1")
    fail(throttled, "alice", "10.0.0.1")
    assert throttled.auth.check_password("alice", PASSWORD, address="10.0.0.1")
