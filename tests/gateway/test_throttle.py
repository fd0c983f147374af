"""Login throttling with a controllable clock: per account (by username or email),
per address, never a permanent lock-out, and exact under parallel guesses."""

from __future__ import annotations

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import RateLimited, Unauthorized
from tests.conftest import PASSWORD, CoreFactory, count_verifications, in_parallel


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


def test_a_success_does_not_forgive_failures(throttled: Core) -> None:
    """The owner signing in (rclone re-verifies Basic every minute) gives back only its
    own attempt: an attacker's failures still count."""
    fail(throttled, "alice", "10.0.0.1")
    fail(throttled, "alice", "10.0.0.2")
    assert throttled.auth.check_password("alice", PASSWORD, address="10.0.0.3")
    fail(throttled, "alice", "10.0.0.4")
    with pytest.raises(RateLimited):
        throttled.auth.check_password("alice", PASSWORD, address="10.0.0.5")


def test_username_and_email_share_one_budget(throttled: Core) -> None:
    fail(throttled, "alice", "10.0.0.1")
    fail(throttled, "ALICE@example.com", "10.0.0.2")
    fail(throttled, " alice ", "10.0.0.3")
    for who in ("alice", "alice@example.com"):
        with pytest.raises(RateLimited):
            throttled.auth.check_password(who, PASSWORD, address="10.0.0.4")
    assert throttled.auth.check_password("bob@example.com", PASSWORD, address="10.0.0.4")


def test_unknown_identifiers_are_counted_by_their_normalized_name(throttled: Core) -> None:
    for who in ("nobody", "NOBODY", " Nobody "):
        fail(throttled, who, f"10.0.1.{len(who)}")
    with pytest.raises(RateLimited):
        throttled.auth.check_password("nobody", "anything", address="10.0.1.9")
    fail(throttled, "somebody", "10.0.1.9")


def test_successes_give_their_attempt_back(throttled: Core) -> None:
    """A success counts against neither budget: five sign-ins from one address leave
    its five failures (and the account's three) untouched."""
    for _ in range(5):
        assert throttled.auth.check_password("alice", PASSWORD, address="10.0.2.1")
    for who in ("bob", "bob", "bob", "carol", "dave"):
        fail(throttled, who, "10.0.2.1")
    with pytest.raises(RateLimited):
        throttled.auth.check_password("erin", "wrong", address="10.0.2.1")


def test_parallel_guesses_run_at_most_the_limit(
    make_core: CoreFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many wrong passwords at once, by username and by email, from as many addresses:
    no more checks run than the account's budget allows; the rest are 429 unchecked."""
    core: Core = make_core(database_url, login_max_failures=10)
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    calls = count_verifications(core, monkeypatch, seconds=0.05)

    def guess(index: int) -> object:
        who = "alice" if index % 2 else "Alice@Example.com"
        return core.auth.check_password(who, f"guess {index}", address=f"10.3.{index}.1")

    results = in_parallel(guess, range(50))
    assert calls == [10]
    assert sum(isinstance(r, Unauthorized) for r in results) == 10
    limited = [r for r in results if isinstance(r, RateLimited)]
    assert len(limited) == 40
    assert all(r.retry_after and r.retry_after > 0 for r in limited)
