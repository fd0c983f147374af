"""Shares in the engine: made for one's own file, found without being used up, each
download counted exactly (also when many start at once, on both databases), expiry,
passwords counted as guesses, revocation, and a share that dies with its file."""

from __future__ import annotations

import hashlib

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import BadRequest, Forbidden, Gone, NotFound, RateLimited, Unauthorized
from gateway.models import Share
from tests.conftest import PASSWORD, CoreFactory, in_parallel


def a_file(core: Core, account_id: int, path: str = "f.txt") -> str:
    with core.storage.upload(account_id, path, max_size=100) as upload:
        upload.write(b"shared bytes")
        return upload.commit().uid


@pytest.fixture
def setup(make_core: CoreFactory, database_url: str) -> tuple[Core, ManualClock, int, str]:
    clock = ManualClock()
    core = make_core(database_url, clock=clock, link_guesses=3)
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    return core, clock, alice, a_file(core, alice)


def test_downloads_are_counted_exactly_when_many_start_at_once(
    setup: tuple[Core, ManualClock, int, str],
) -> None:
    core, _clock, alice, uid = setup
    share, token = core.shares.create(alice, uid, max_downloads=5)
    assert token.startswith("sh_") and share.prefix == token[:9] and share.downloads == 0
    with core.db.read() as session:
        stored = {row.token_hash for row in session.query(Share)}
    assert stored == {hashlib.sha256(token.encode()).hexdigest()}  # a hash only
    results = in_parallel(
        lambda n: core.shares.take(token, password=None, address=f"10.0.0.{n}"), range(20)
    )
    taken = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(taken) == 5 and all(isinstance(r, Gone) for r in refused)
    assert all(entry.uid == uid for _share, entry in taken)  # type: ignore[union-attr]
    (listed,) = core.shares.of_file(alice, uid)
    assert listed.downloads == 5 and listed.state(core.clock()) == "used_up"
    found, _ = core.shares.find(token)  # the page still finds it, and uses nothing
    assert found.downloads == 5


def test_expiry_passwords_and_revocation(setup: tuple[Core, ManualClock, int, str]) -> None:
    core, clock, alice, uid = setup
    expiring, token = core.shares.create(alice, uid, expires_at=clock() + 60)
    core.shares.take(token, password=None, address="a")
    clock.advance(61)
    with pytest.raises(Gone, match="expired"):
        core.shares.take(token, password=None, address="a")
    assert core.shares.of_file(alice, uid)[0].state(clock()) == "expired"
    locked, secret = core.shares.create(alice, uid, password="open sesame")
    assert locked.password_protected
    with pytest.raises(Unauthorized):
        core.shares.take(secret, password=None, address="b")  # not a guess
    for _ in range(3):
        with pytest.raises(Forbidden, match="wrong password"):
            core.shares.take(secret, password="guess", address="b")
    with pytest.raises(RateLimited):
        core.shares.take(secret, password="open sesame", address="b")
    assert core.shares.take(secret, password="open sesame", address="c")[0].id == locked.id
    core.shares.revoke(alice, locked.id)
    with pytest.raises(NotFound):
        core.shares.find(secret)
    with pytest.raises(NotFound):
        core.shares.revoke(alice, locked.id)


def test_only_the_owner_shares_and_a_share_dies_with_its_file(
    setup: tuple[Core, ManualClock, int, str],
) -> None:
    core, clock, alice, uid = setup
    bob = core.accounts.create("bob", "b@example.com", PASSWORD).id
    with pytest.raises(Forbidden):
        core.shares.create(bob, uid)
    with pytest.raises(Forbidden):
        core.shares.of_file(bob, uid)
    share, token = core.shares.create(alice, uid)
    with pytest.raises(NotFound):
        core.shares.revoke(bob, share.id)
    folder = core.storage.mkdir(alice, "docs")
    with pytest.raises(NotFound, match="folder"):
        core.shares.create(alice, folder.uid)
    for bad, words in [
        ({"expires_at": clock() - 1}, "future"),
        ({"max_downloads": 0}, "maxDownloads"),
        ({"password": "abc"}, "password"),
    ]:
        with pytest.raises(BadRequest, match=words):
            core.shares.create(alice, uid, **bad)  # type: ignore[arg-type]
    core.storage.delete(alice, "f.txt")
    with pytest.raises(NotFound):
        core.shares.find(token)
    with core.db.read() as session:
        assert session.query(Share).count() == 0
