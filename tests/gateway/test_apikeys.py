"""Links API keys on a real database: pro only, one active key, rotation kills the old
key at once, only the SHA-256 is stored."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from gateway.apikeys import KEY_LENGTH, well_formed
from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import Conflict, Forbidden, NotFound, Unauthorized
from gateway.models import ApiKey
from tests.conftest import PASSWORD


def pro(core: Core, name: str = "alice") -> int:
    account = core.accounts.create(name, f"{name}@example.com", PASSWORD)
    core.accounts.set_plan(name, "pro")
    return account.id


def test_a_key_is_recognisable_and_checksummed(core: Core) -> None:
    _info, key = core.api_keys.create(pro(core))
    assert key.startswith("ll_live_") and len(key) == KEY_LENGTH and well_formed(key)
    broken = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert not well_formed(broken)
    with pytest.raises(Unauthorized, match="malformed"):
        core.api_keys.resolve(broken)


def test_a_key_of_any_characters_is_malformed(core: Core) -> None:
    """Non-ASCII characters where the checksum goes are a malformed key, not a crash."""
    _info, key = core.api_keys.create(pro(core))
    for broken in (key[:-1] + "\u00e9", key[:-6] + "\u2603" * 6):
        assert not well_formed(broken)
        with pytest.raises(Unauthorized, match="malformed"):
            core.api_keys.resolve(broken)


def test_only_pro_accounts_get_a_key(core: Core) -> None:
    free = core.accounts.create("bob", "bob@example.com", PASSWORD)
    with pytest.raises(Forbidden, match="pro plan"):
        core.api_keys.create(free.id)


def test_one_active_key_stored_as_a_hash(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    alice = pro(core)
    info, key = core.api_keys.create(alice)
    with pytest.raises(Conflict):
        core.api_keys.create(alice)
    with core.db.read() as session:
        rows = session.scalars(select(ApiKey)).all()
        assert len(rows) == 1
        assert key not in (rows[0].key_hash, rows[0].prefix) and rows[0].prefix == key[:12]
        assert rows[0].key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert core.api_keys.info(alice) == info
    clock.advance(5)
    account, used = core.api_keys.resolve(key)
    assert account.id == alice and used.last_used_at == clock.now


def test_rotation_kills_the_old_key_at_once(timed_core: tuple[Core, ManualClock]) -> None:
    core, _clock = timed_core
    alice = pro(core)
    with pytest.raises(NotFound):
        core.api_keys.rotate(alice)
    _info, old = core.api_keys.create(alice)
    core.api_keys.resolve(old)
    _info, new = core.api_keys.rotate(alice)
    with pytest.raises(Unauthorized, match="revoked"):
        core.api_keys.resolve(old)
    assert core.api_keys.resolve(new)[0].id == alice
    core.api_keys.revoke(alice)
    with pytest.raises(Unauthorized):
        core.api_keys.resolve(new)
    with pytest.raises(NotFound):
        core.api_keys.revoke(alice)
    assert core.api_keys.info(alice) is None


def test_a_downgraded_account_cannot_use_its_key(core: Core) -> None:
    alice = pro(core)
    _info, key = core.api_keys.create(alice)
    core.accounts.set_plan("alice", "free")
    with pytest.raises(Forbidden, match="pro plan"):
        core.api_keys.resolve(key)
