"""Accounts and login tokens: validation, uniqueness, token hashing and revocation."""

from __future__ import annotations

import hashlib

import pytest

from gateway.core import Core
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.models import Account, Token
from tests.conftest import PASSWORD


def test_create_makes_home_and_default_quota(pg_core: Core) -> None:
    account = pg_core.accounts.create("alice", "Alice@Example.com", PASSWORD)
    assert account.email == "alice@example.com"
    assert account.plan == "free" and account.quota_bytes == 10 * 1024 * 1024
    assert account.default_region == "local"
    assert pg_core.storage.children(account.id, "") == []
    with pg_core.db.read() as session:
        row = session.get(Account, account.id)
        assert row is not None and PASSWORD not in row.password_hash


@pytest.mark.parametrize(
    "username", ["ab", "Alice", "-alice", "alice-", "al_ice", "a" * 64, "admin", "with space"]
)
def test_bad_usernames(core: Core, username: str) -> None:
    with pytest.raises(BadRequest):
        core.accounts.create(username, "x@example.com", PASSWORD)


@pytest.mark.parametrize("email", ["", "nobody", "a@b", "two@@example.com", None])
def test_bad_emails(core: Core, email: object) -> None:
    with pytest.raises(BadRequest):
        core.accounts.create("alice", email, PASSWORD)


def test_taken_username_or_email(pg_core: Core) -> None:
    pg_core.accounts.create("alice", "a@example.com", PASSWORD)
    with pytest.raises(Conflict, match="username"):
        pg_core.accounts.create("alice", "other@example.com", PASSWORD)
    with pytest.raises(Conflict, match="email"):
        pg_core.accounts.create("bob", "A@example.com", PASSWORD)


def test_token_is_stored_only_as_sha256(pg_core: Core) -> None:
    account = pg_core.accounts.create("alice", "a@example.com", PASSWORD)
    info, secret = pg_core.accounts.create_token(account.id, "laptop")
    assert secret.startswith("lk_") and len(secret) > 40
    with pg_core.db.read() as session:
        row = session.get(Token, info.id)
        assert row is not None
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.prefix + row.name)
    found = pg_core.accounts.resolve_token(secret)
    assert found is not None and found[0].username == "alice"
    assert pg_core.accounts.resolve_token(secret + "x") is None
    assert pg_core.accounts.list_tokens(account.id)[0].last_used_at is not None


def test_revoked_token_stops_working(pg_core: Core) -> None:
    alice = pg_core.accounts.create("alice", "a@example.com", PASSWORD)
    bob = pg_core.accounts.create("bob", "b@example.com", PASSWORD)
    info, secret = pg_core.accounts.create_token(alice.id)
    with pytest.raises(NotFound):
        pg_core.accounts.revoke_token(bob.id, info.id)  # not bob's to revoke
    assert pg_core.accounts.resolve_token(secret) is not None
    pg_core.accounts.revoke_token(alice.id, info.id)
    assert pg_core.accounts.resolve_token(secret) is None
    assert pg_core.accounts.list_tokens(alice.id) == []
    with pytest.raises(NotFound):
        pg_core.accounts.revoke_token(alice.id, info.id)


def test_set_plan_and_password(core: Core) -> None:
    alice = core.accounts.create("alice", "a@example.com", PASSWORD)
    assert core.accounts.set_plan("alice", "pro").plan == "pro"
    with pytest.raises(BadRequest):
        core.accounts.set_plan("alice", "gold")
    changed = core.accounts.set_password(alice.id, "a brand new password")
    assert changed.stamp != alice.stamp
    assert core.accounts.verify_password("alice", PASSWORD) is None
