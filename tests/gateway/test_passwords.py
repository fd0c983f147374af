"""argon2id hashing, verification and rehash on login when the parameters change."""

from __future__ import annotations

import pytest

from gateway.core import Core
from gateway.errors import BadRequest
from gateway.models import Account
from gateway.passwords import Passwords
from tests.conftest import PASSWORD, CoreFactory


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
