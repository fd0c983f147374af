"""S3 access keys on a real database: made, listed and revoked per account, the secret
sealed under the server secret and bound to its key, at most MAX_KEYS an account."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select, update

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import BadRequest, Forbidden, LockrError, NotFound
from gateway.models import Account, S3Key
from gateway.s3keys import MAX_KEYS, SECRET_CACHE_SECONDS, TOUCH_EVERY, S3Keys
from tests.conftest import PASSWORD, in_parallel


def account(core: Core, name: str = "alice") -> int:
    return core.accounts.create(name, f"{name}@example.com", PASSWORD).id


def test_keys_look_like_aws_keys_and_are_shown_once(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    alice = account(core)
    info, secret = core.s3_keys.create(alice, "laptop")
    assert re.fullmatch(r"LK[A-Z0-9]{18}", info.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", secret)
    assert (info.name, info.created_at, info.last_used_at) == ("laptop", clock.now, None)
    assert secret not in repr(info) and secret not in str(info)
    assert core.s3_keys.list(alice) == [info]
    other, other_secret = core.s3_keys.create(alice)
    assert other.access_key_id != info.access_key_id and other_secret != secret
    assert core.s3_keys.list(alice) == [info, other]


def test_secret_for_gives_the_secret_back(timed_core: tuple[Core, ManualClock]) -> None:
    core, clock = timed_core
    alice = account(core)
    info, secret = core.s3_keys.create(alice)
    found = core.s3_keys.secret_for(info.access_key_id)
    assert found is not None
    assert (found.account_id, found.key_id, found.last_used_at) == (alice, info.id, None)
    assert found.secret_access_key == secret
    assert secret not in repr(found)
    # Another core over the same database and server secret reads it too.
    again = S3Keys(core.db, core.secret, clock)
    found_again = again.secret_for(info.access_key_id)
    assert found_again is not None and found_again.secret_access_key == secret


def test_a_key_read_is_kept_for_a_short_while(timed_core: tuple[Core, ManualClock]) -> None:
    core, clock = timed_core
    alice = account(core)
    info, secret = core.s3_keys.create(alice)
    assert core.s3_keys.cached(info.access_key_id) is None  # never read yet
    found = core.s3_keys.secret_for(info.access_key_id)
    assert found is not None and found.username == "alice"
    assert core.s3_keys.cached(info.access_key_id) == found
    # The row is not read again while the key is kept: an altered row goes unseen...
    set_sealed(core, info.id, b"")
    assert core.s3_keys.secret_for(info.access_key_id) == found
    clock.advance(SECRET_CACHE_SECONDS)
    # ... until the time is up.
    assert core.s3_keys.cached(info.access_key_id) is None
    with pytest.raises(LockrError):
        core.s3_keys.secret_for(info.access_key_id)


def test_a_revoked_key_is_refused_at_once_here_and_soon_elsewhere(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    alice = account(core)
    info, _secret = core.s3_keys.create(alice)
    elsewhere = S3Keys(core.db, core.secret, clock)  # another process's keys
    assert core.s3_keys.secret_for(info.access_key_id) is not None
    assert elsewhere.secret_for(info.access_key_id) is not None
    core.s3_keys.revoke(alice, info.id)
    assert core.s3_keys.cached(info.access_key_id) is None
    assert core.s3_keys.secret_for(info.access_key_id) is None
    clock.advance(SECRET_CACHE_SECONDS - 1)
    assert elsewhere.secret_for(info.access_key_id) is not None  # the bounded staleness
    clock.advance(1)
    assert elsewhere.secret_for(info.access_key_id) is None


def test_the_keys_kept_are_bounded(timed_core: tuple[Core, ManualClock]) -> None:
    core, clock = timed_core
    alice = account(core)
    made = [core.s3_keys.create(alice)[0] for _ in range(3)]
    keys = S3Keys(core.db, core.secret, clock, keep=2)
    for info in made:
        assert keys.secret_for(info.access_key_id) is not None
    # The oldest read went first.
    assert [keys.cached(info.access_key_id) is not None for info in made] == [False, True, True]


def test_last_use_is_recorded_at_most_once_a_minute(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    alice = account(core)
    info, _secret = core.s3_keys.create(alice)

    def use() -> None:
        found = core.s3_keys.secret_for(info.access_key_id)
        assert found is not None
        core.s3_keys.touch(found)

    core.s3_keys.secret_for(info.access_key_id)  # looking a key up is no use of it
    assert core.s3_keys.list(alice)[0].last_used_at is None
    use()
    first = clock.now
    clock.advance(TOUCH_EVERY / 2)
    use()
    assert core.s3_keys.list(alice)[0].last_used_at == first
    clock.advance(TOUCH_EVERY)
    use()
    assert core.s3_keys.list(alice)[0].last_used_at == clock.now


def test_unknown_and_revoked_keys_are_told_apart(pg_core: Core) -> None:
    core = pg_core
    alice, bob = account(core), account(core, "bob")
    info, _secret = core.s3_keys.create(alice)
    for unknown in ("LK" + "A" * 18, "short", "LK" + "\u00e9" * 18, ""):
        assert core.s3_keys.secret_for(unknown) is None
    with pytest.raises(NotFound):
        core.s3_keys.revoke(bob, info.id)
    with pytest.raises(NotFound):
        core.s3_keys.revoke(alice, info.id + 1000)
    assert core.s3_keys.secret_for(info.access_key_id) is not None
    core.s3_keys.revoke(alice, info.id)
    assert core.s3_keys.secret_for(info.access_key_id) is None
    with pytest.raises(NotFound):
        core.s3_keys.revoke(alice, info.id)
    assert core.s3_keys.list(alice) == []


def test_the_database_holds_no_secret(pg_core: Core) -> None:
    core = pg_core
    info, secret = core.s3_keys.create(account(core))
    with core.db.read() as session:
        row = session.scalars(select(S3Key)).one()
        stored = row.secret_ciphertext
        columns = [str(getattr(row, column.key)) for column in S3Key.__table__.columns]
    assert secret.encode() not in stored and secret not in " ".join(columns)
    assert len(stored) == 12 + len(secret) + 16  # nonce, ciphertext, tag
    assert info.access_key_id.encode() not in stored


def set_sealed(core: Core, key_id: int, sealed: bytes) -> None:
    with core.db.write() as session:
        session.execute(update(S3Key).where(S3Key.id == key_id).values(secret_ciphertext=sealed))


def sealed_of(core: Core, key_id: int) -> bytes:
    with core.db.read() as session:
        return session.scalars(select(S3Key.secret_ciphertext).where(S3Key.id == key_id)).one()


def test_an_altered_or_moved_secret_does_not_open(
    pg_core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    core = pg_core
    alice = account(core)
    first, first_secret = core.s3_keys.create(alice)
    second, second_secret = core.s3_keys.create(alice)
    sealed = sealed_of(core, first.id)
    for altered in (
        sealed[:-1] + bytes([sealed[-1] ^ 1]),  # the tag
        sealed[:20] + bytes([sealed[20] ^ 1]) + sealed[21:],  # the ciphertext
        bytes([sealed[0] ^ 1]) + sealed[1:],  # the nonce
        sealed[:5],  # shorter than a nonce
        b"",
    ):
        set_sealed(core, first.id, altered)
        with pytest.raises(LockrError) as caught:
            core.s3_keys.secret_for(first.access_key_id)
        assert type(caught.value) is LockrError and caught.value.status == 500
        assert first_secret not in caught.value.message
    # The first key's sealed secret copied onto the second key does not open there.
    set_sealed(core, second.id, sealed)
    with pytest.raises(LockrError) as caught:
        core.s3_keys.secret_for(second.access_key_id)
    assert type(caught.value) is LockrError
    for secret in (first_secret, second_secret):
        assert secret not in caplog.text and secret not in caught.value.message
    assert second.access_key_id in caplog.text


def test_another_server_secret_cannot_read_the_keys(core: Core) -> None:
    info, _secret = core.s3_keys.create(account(core))
    other = S3Keys(core.db, b"another server secret of 32 bytes", core.clock)
    with pytest.raises(LockrError, match="revoke the key"):
        other.secret_for(info.access_key_id)


def test_names_are_checked(core: Core) -> None:
    alice = account(core)
    assert core.s3_keys.create(alice, "x" * 100)[0].name == "x" * 100
    for bad in ("x" * 101, "a\x00b", "line\nbreak", 7):
        with pytest.raises(BadRequest, match="name"):
            core.s3_keys.create(alice, bad)  # type: ignore[arg-type]
    assert len(core.s3_keys.list(alice)) == 1


def test_only_accounts_get_keys(core: Core) -> None:
    guest = core.auth.guest()
    with pytest.raises(Forbidden):
        core.s3_keys.create(guest.account_id)
    with pytest.raises(NotFound):
        core.s3_keys.create(10_000)


def test_the_keys_of_a_deleted_account_go_with_it(pg_core: Core) -> None:
    core = pg_core
    alice = account(core)
    info, _secret = core.s3_keys.create(alice)
    with core.db.write() as session:
        session.execute(delete(Account).where(Account.id == alice))
    assert core.s3_keys.secret_for(info.access_key_id) is None


def test_the_cap_holds_under_parallel_creates(pg_core: Core) -> None:
    core = pg_core
    alice, bob = account(core), account(core, "bob")
    for _ in range(MAX_KEYS - 5):
        core.s3_keys.create(alice)
    results = in_parallel(lambda _: core.s3_keys.create(alice), range(12))
    made = [result for result in results if not isinstance(result, LockrError)]
    refused = [result for result in results if isinstance(result, LockrError)]
    assert len(made) == 5 and len(refused) == 7
    assert all(isinstance(error, Forbidden) and "at most 20" in error.message for error in refused)
    assert len(core.s3_keys.list(alice)) == MAX_KEYS
    core.s3_keys.create(bob)  # another account's cap is its own
    core.s3_keys.revoke(alice, core.s3_keys.list(alice)[0].id)
    core.s3_keys.create(alice)
    with pytest.raises(Forbidden, match="revoke one"):
        core.s3_keys.create(alice)
