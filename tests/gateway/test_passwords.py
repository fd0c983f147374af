"""argon2id hashing, verification and rehash on login when the parameters change, and
the gate that bounds how many run at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.core import Core
from gateway.errors import BadRequest, Busy
from gateway.models import Account
from gateway.passwords import Gate, Passwords
from tests.conftest import PASSWORD, CoreFactory, in_parallel


def test_hash_is_argon2id_and_verifies() -> None:
    passwords = Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    stored = passwords.hash("s3cret-passphrase")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert "s3cret" not in stored
    assert passwords.verify(stored, "s3cret-passphrase")
    assert not passwords.verify(stored, "s3cret-passphrasf")
    assert not passwords.verify("not a hash", "anything")
    assert passwords.hash("same") != passwords.hash("same")  # salted


def test_needs_rehash_when_parameters_change() -> None:
    weak = Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    strong = Passwords(time_cost=2, memory_cost=2048, parallelism=1)
    stored = weak.hash("pw")
    assert not weak.needs_rehash(stored)
    assert strong.needs_rehash(stored)
    assert strong.verify(stored, "pw")  # old hashes still verify
    # A costlier hash than configured stays as it is.
    assert not weak.needs_rehash(strong.hash("pw"))
    assert weak.needs_rehash("$2b$12$notargon2")


@pytest.mark.parametrize("bad", [None, 12345678, "short", "x" * 1025])
def test_password_policy(bad: object) -> None:
    with pytest.raises(BadRequest):
        Passwords.check_policy(bad)


def test_login_rehashes_outdated_hash(make_core: CoreFactory) -> None:
    old = make_core(start=False)
    old.accounts.create("alice", "a@example.com", PASSWORD)
    with old.db.read() as session:
        before = session.query(Account).one().password_hash
    assert "t=1" in before
    new: Core = make_core(start=False, argon2_time_cost=2)
    assert new.accounts.verify_password("alice", PASSWORD) is not None
    with new.db.read() as session:
        after = session.query(Account).one().password_hash
    assert after != before and "t=2" in after
    assert new.accounts.verify_password("a@example.com", PASSWORD) is not None
    assert new.accounts.verify_password("alice", "wrong password") is None


def test_processes_with_different_costs_do_not_rewrite_each_others_hashes(
    make_core: CoreFactory,
) -> None:
    old = make_core(start=False)
    old.accounts.create("alice", "a@example.com", PASSWORD)
    new: Core = make_core(start=False, argon2_time_cost=2)
    assert new.accounts.verify_password("alice", PASSWORD) is not None
    with new.db.read() as session:
        upgraded = session.query(Account).one().password_hash
    # The cheaper process verifies the costlier hash and leaves it alone.
    assert old.accounts.verify_password("alice", PASSWORD) is not None
    with old.db.read() as session:
        assert session.query(Account).one().password_hash == upgraded


def test_the_gate_runs_at_most_its_slots_at_once() -> None:
    gate = Gate(slots=2, queue=30, wait=30)
    lock = threading.Lock()
    running, most = [0], [0]

    def work(_index: int) -> None:
        with gate.slot():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1

    assert in_parallel(work, range(30)) == [None] * 30
    assert most == [2] and gate.waiting == 0


def test_argon2_past_the_queue_is_busy_at_once() -> None:
    """Every hash and verification passes the gate: with its one slot taken and its
    one waiting place filled, the next is refused at once with 503 and Retry-After,
    and the waiting one gives up after the bounded wait."""
    passwords = Passwords(
        time_cost=1, memory_cost=1024, parallelism=1, gate=Gate(slots=1, queue=1, wait=0.5)
    )
    stored = passwords.hash("s3cret-passphrase")
    assert passwords.gate is not None
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        assert passwords.gate is not None
        with passwords.gate.slot():
            holding.set()
            release.wait(10)

    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(hold)
        assert holding.wait(5)
        waiting = pool.submit(passwords.verify, stored, "s3cret-passphrase")
        while passwords.gate.waiting < 1:
            time.sleep(0.001)
        for refused in (
            lambda: passwords.verify(stored, "s3cret-passphrase"),
            lambda: passwords.hash("another one"),
            lambda: passwords.burn("a guess"),
        ):
            started = time.monotonic()
            with pytest.raises(Busy) as busy:
                refused()
            assert time.monotonic() - started < 0.1
            assert busy.value.status == 503 and busy.value.retry_after == 1
        with pytest.raises(Busy):
            waiting.result(5)
        release.set()
        held.result(5)
    assert passwords.verify(stored, "s3cret-passphrase")
