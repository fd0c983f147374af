"""Resolving Authorization headers to principals: Bearer, Basic, the Basic cache."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.auth import client_address
from gateway.core import Core
from gateway.errors import RateLimited, Unauthorized
from tests.conftest import PASSWORD, count_verifications


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bearer_and_basic_resolve_to_the_same_account(pg_core: Core) -> None:
    account = pg_core.accounts.create("alice", "alice@example.com", PASSWORD)
    info, token = pg_core.accounts.create_token(account.id)
    by_token = pg_core.auth.resolve(f"Bearer {token}")
    by_name = pg_core.auth.resolve(basic("alice", PASSWORD))
    by_email = pg_core.auth.resolve(basic("Alice@Example.com", PASSWORD))
    assert by_token is not None and by_name is not None and by_email is not None
    assert by_token.account_id == by_name.account_id == by_email.account_id == account.id
    assert by_token.token_id == info.id and by_name.token_id is None
    assert by_name.max_object_size == pg_core.config.max_object_size
    assert pg_core.auth.resolve(None) is None and pg_core.auth.resolve("") is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nope",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Digest username=alice",
        "Bearer",
    ],
)
def test_bad_credentials_are_401(core: Core, header: str) -> None:
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    with pytest.raises(Unauthorized):
        core.auth.resolve(header)


def test_wrong_password_is_401(core: Core) -> None:
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    with pytest.raises(Unauthorized):
        core.auth.resolve(basic("alice", "not the password"))
    with pytest.raises(Unauthorized):
        core.auth.resolve(basic("nobody", PASSWORD))


def test_basic_is_cached_after_first_check(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    calls = count_verifications(core, monkeypatch)
    for _ in range(20):
        assert core.auth.resolve(basic("alice", PASSWORD)) is not None
    assert calls == [1]
    # A wrong password is never answered from the cache.
    with pytest.raises(Unauthorized):
        core.auth.resolve(basic("alice", PASSWORD + "!"))


def test_concurrent_first_requests_share_one_verification(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client opening many connections at once (rclone opens 24) costs one argon2
    run, not one per connection; a wrong password is still refused to every caller."""
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    # A verification takes a while; the other callers arrive meanwhile.
    calls = count_verifications(core, monkeypatch, seconds=0.05)
    start = threading.Barrier(16)

    def sign_in(password: str) -> object:
        start.wait()
        try:
            return core.auth.resolve(basic("alice", password), address="10.1.1.1")
        except (Unauthorized, RateLimited) as error:
            return error

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(sign_in, [PASSWORD] * 16))
    assert calls == [1]
    assert all(getattr(r, "account_id", None) is not None for r in results)
    with ThreadPoolExecutor(16) as pool:
        refused = list(pool.map(sign_in, ["not the password"] * 16))
    assert all(isinstance(r, (Unauthorized, RateLimited)) for r in refused)
    assert not core.auth._inflight


def test_password_change_drops_cached_basic(core: Core) -> None:
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    assert core.auth.resolve(basic("alice", PASSWORD)) is not None
    core.accounts.set_password(account.id, "the new password")
    with pytest.raises(Unauthorized):
        core.auth.resolve(basic("alice", PASSWORD))
    assert core.auth.resolve(basic("alice", "the new password")) is not None


def test_basic_failures_are_throttled(make_core: object) -> None:
    core: Core = make_core(login_max_failures=3)  # type: ignore[operator]
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            core.auth.resolve(basic("alice", "guess"), address="10.9.8.7")
    with pytest.raises(RateLimited) as caught:
        core.auth.resolve(basic("alice", PASSWORD), address="10.9.8.7")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


def test_client_address_trusts_only_the_hop_the_proxy_appended() -> None:
    assert client_address("127.0.0.1", "6.6.6.6, 192.0.2.7", trust_proxy=True) == "192.0.2.7"
    assert client_address("127.0.0.1", "192.0.2.7", trust_proxy=True) == "192.0.2.7"
    assert client_address("127.0.0.1", "6.6.6.6", trust_proxy=False) == "127.0.0.1"
    assert client_address("127.0.0.1", " , ", trust_proxy=True) == "127.0.0.1"
    assert client_address("127.0.0.1", None, trust_proxy=True) == "127.0.0.1"
