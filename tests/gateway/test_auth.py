"""Resolving Authorization headers to principals: Bearer, Basic, the Basic cache, and
how long a caller's account and token are kept between reads."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.auth import RequestSource, client_address
from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import BadRequest, CrossSite, Forbidden, RateLimited, Unauthorized
from tests.conftest import PASSWORD, CoreFactory, count_verifications, statements


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


OWN = "http://127.0.0.1:8080"  # the default public_url's origin


def test_remembered_answers_only_credentials_verified_lately(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What may be answered without blocking: a Basic credential resolve verified,
    while its password stands; anything else is left to resolve."""
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    header = basic("alice", PASSWORD)
    verified = count_verifications(core, monkeypatch)
    assert core.auth.remembered(header) is None  # never verified: no password checked
    assert verified == [0]
    assert core.auth.resolve(header) is not None
    principal = core.auth.remembered(header)
    assert principal is not None and principal.account_id == account.id
    assert core.auth.remembered(basic("Alice", PASSWORD)) == principal
    for other in (basic("alice", "a guess"), None, "", "Basic", "Basic !!", "Bearer x"):
        assert core.auth.remembered(other) is None
    assert verified == [1]
    cross_site = RequestSource("PUT", fetch_site="cross-site", origin="https://evil.example")
    assert core.auth.remembered(header, source=cross_site) is None
    core.accounts.set_password(account.id, "the new password")
    assert core.auth.remembered(header) is None


@pytest.mark.parametrize(
    ("method", "fetch_site", "origin"),
    [
        ("POST", "cross-site", None),
        ("PUT", "same-site", None),
        ("DELETE", None, "https://evil.example"),
        ("POST", None, "null"),
        ("MKCOL", "cross-site", "https://evil.example"),
        ("POST", "same-origin", "http://127.0.0.1:9999"),
        ("PROPPATCH", None, "http://127.0.0.1:8081"),
    ],
)
def test_cross_site_writes_with_basic_are_refused(
    core: Core, method: str, fetch_site: str | None, origin: str | None
) -> None:
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    source = RequestSource(method, fetch_site=fetch_site, origin=origin)
    with pytest.raises(Forbidden) as refused:
        core.auth.resolve(basic("alice", PASSWORD), source=source)
    assert "cross-site" in refused.value.message and "Bearer" in refused.value.message
    with pytest.raises(Forbidden):  # before any password check: no guessing from a page
        core.auth.resolve(basic("alice", "a guess"), source=source)


@pytest.mark.parametrize(
    "source",
    [
        RequestSource("POST"),  # curl, rclone, scripts: no browser headers
        RequestSource("POST", fetch_site="same-origin", origin=OWN),
        RequestSource("DELETE", fetch_site="none"),
        RequestSource("PUT", origin=OWN + "/"),
        RequestSource("PUT", origin="HTTP://127.0.0.1:8080"),
        RequestSource(
            "PUT", origin="http://dav.example:8081", listener_origin="http://dav.example:8081"
        ),
        RequestSource("GET", fetch_site="cross-site", origin="https://evil.example"),
        RequestSource("HEAD", fetch_site="cross-site"),
        RequestSource("OPTIONS", fetch_site="cross-site"),
        RequestSource("PROPFIND", fetch_site="cross-site", origin="https://evil.example"),
    ],
)
def test_tools_and_same_origin_pages_keep_basic(core: Core, source: RequestSource) -> None:
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    assert core.auth.resolve(basic("alice", PASSWORD), source=source) is not None


def test_bearer_is_not_ambient(core: Core) -> None:
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    _, token = core.accounts.create_token(account.id)
    source = RequestSource("DELETE", fetch_site="cross-site", origin="https://evil.example")
    assert core.auth.resolve(f"Bearer {token}", source=source) is not None


def test_a_web_session_reads_freely_and_writes_with_its_csrf_token(core: Core) -> None:
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    info, token = core.accounts.create_token(account.id, "web session")
    csrf = core.auth.csrf_token(token)
    assert csrf != core.auth.csrf_token(core.accounts.create_token(account.id)[1])
    read = core.auth.session(token, source=RequestSource("GET"), csrf=None)
    assert read is not None and read.token_id == info.id
    page = RequestSource("POST", fetch_site="same-origin", origin=OWN)
    written = core.auth.session(token, source=page, csrf=csrf)
    assert written is not None and written.account_id == account.id
    for wrong in (None, "", "0" * 64, "\u00e9" * 64, core.auth.csrf_token(token + "x")):
        with pytest.raises(Forbidden, match="CSRF"):
            core.auth.session(token, source=page, csrf=wrong)
    for elsewhere in (
        RequestSource("POST", fetch_site="cross-site", origin="https://evil.example"),
        RequestSource("DELETE", fetch_site="same-site"),
        RequestSource("PATCH", origin="null"),
    ):
        with pytest.raises(CrossSite):  # even with the token: never from another site
            core.auth.session(token, source=elsewhere, csrf=csrf)
    here = "http://files.example"  # the origin the request was sent to
    same_host = RequestSource("POST", origin=here, listener_origin=here)
    assert core.auth.session(token, source=same_host, csrf=csrf) is not None


def test_a_stale_web_session_is_no_session(core: Core) -> None:
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    info, token = core.accounts.create_token(account.id, "web session")
    core.accounts.revoke_token(account.id, info.id)
    for method in ("GET", "POST"):
        source = RequestSource(method)
        assert core.auth.session(token, source=source, csrf=core.auth.csrf_token(token)) is None
    assert core.auth.session("lk_nonsense", source=RequestSource("GET"), csrf=None) is None


def test_an_https_public_url_is_the_own_origin(make_core: CoreFactory) -> None:
    core = make_core(public_url="https://lockr.example/base/")
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    own = RequestSource("POST", origin="https://lockr.example")
    assert core.auth.resolve(basic("alice", PASSWORD), source=own) is not None
    for other in ("http://lockr.example", "https://lockr.example:8443", "https://x.lockr.example"):
        with pytest.raises(Forbidden):
            core.auth.resolve(basic("alice", PASSWORD), source=RequestSource("POST", origin=other))


def test_change_password(make_core: CoreFactory) -> None:
    here: Core = make_core(login_max_failures=3)
    elsewhere: Core = make_core(login_max_failures=3)  # another process, same database
    account = here.accounts.create("alice", "alice@example.com", PASSWORD)
    assert elsewhere.auth.resolve(basic("alice", PASSWORD)) is not None  # remembered there
    principal = here.auth.resolve(basic("alice", PASSWORD))
    assert principal is not None
    with pytest.raises(BadRequest) as weak:
        here.auth.change_password(principal, PASSWORD, "short")
    assert "new password" in weak.value.message
    with pytest.raises(Forbidden) as wrong:
        here.auth.change_password(principal, "not the password", "a new passphrase")
    assert "current password" in wrong.value.message
    changed, revoked = here.auth.change_password(principal, PASSWORD, "a new passphrase")
    assert changed.stamp != account.stamp and revoked == 0
    with pytest.raises(Unauthorized):
        elsewhere.auth.resolve(basic("alice", PASSWORD))
    assert elsewhere.auth.resolve(basic("alice", "a new passphrase")) is not None
    assert here.accounts.verify_password("alice", "a new passphrase") is not None


def test_wrong_current_passwords_count_against_the_login_throttle(make_core: CoreFactory) -> None:
    core: Core = make_core(login_max_failures=3)
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    principal = core.auth.resolve(basic("alice", PASSWORD))
    assert principal is not None
    for _ in range(3):
        with pytest.raises(Forbidden):
            core.auth.change_password(principal, "a guess", "a new passphrase", address="10.0.0.9")
    with pytest.raises(RateLimited):
        core.auth.change_password(principal, PASSWORD, "a new passphrase", address="10.0.0.9")
    with pytest.raises(RateLimited):  # the same count as sign-in
        core.auth.check_password("alice", PASSWORD, address="10.0.0.10")


def test_change_password_can_revoke_every_other_token(pg_core: Core) -> None:
    account = pg_core.accounts.create("alice", "alice@example.com", PASSWORD)
    kept_info, kept = pg_core.accounts.create_token(account.id, "this browser")
    _, other = pg_core.accounts.create_token(account.id, "laptop")
    _, third = pg_core.accounts.create_token(account.id, "phone")
    principal = pg_core.auth.resolve(f"Bearer {kept}")
    assert principal is not None and principal.token_id == kept_info.id
    _, revoked = pg_core.auth.change_password(
        principal, PASSWORD, "a new passphrase", revoke_tokens=True
    )
    assert revoked == 2
    assert pg_core.auth.resolve(f"Bearer {kept}") is not None
    for gone in (other, third):
        with pytest.raises(Unauthorized):
            pg_core.auth.resolve(f"Bearer {gone}")
    by_basic = pg_core.auth.resolve(basic("alice", "a new passphrase"))
    assert by_basic is not None and by_basic.token_id is None
    _, revoked = pg_core.auth.change_password(
        by_basic, "a new passphrase", "a third passphrase", revoke_tokens=True
    )
    assert revoked == 1 and pg_core.accounts.list_tokens(account.id) == []


def test_a_remembered_caller_is_not_read_again_for_a_while(make_core: CoreFactory) -> None:
    """rclone sends its credentials with every request: once checked, neither the
    credential nor the account behind it costs a statement until the account was
    read ``account_cache_seconds`` ago."""
    clock = ManualClock()
    core = make_core(clock=clock, account_cache_seconds=2)
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    _, token = core.accounts.create_token(account.id)
    for header in (basic("alice", PASSWORD), f"Bearer {token}"):
        core.auth.resolve(header)  # checked once, and the account read
    with statements(core) as seen:
        for _ in range(10):
            for header in (basic("alice", PASSWORD), f"Bearer {token}"):
                principal = core.auth.resolve(header)
                assert principal is not None and principal.account_id == account.id
    assert seen == []
    clock.advance(2)
    with statements(core) as seen:
        core.auth.resolve(basic("alice", PASSWORD))
        core.auth.resolve(basic("alice", PASSWORD))
    assert len(seen) == 1 and seen[0].startswith("SELECT accounts.id")


def test_changes_through_this_process_show_at_once(make_core: CoreFactory) -> None:
    core = make_core(clock=ManualClock())
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    _, kept = core.accounts.create_token(account.id)
    revoked_info, revoked = core.accounts.create_token(account.id)
    _, third = core.accounts.create_token(account.id)
    for header in (basic("alice", PASSWORD), f"Bearer {kept}", f"Bearer {revoked}"):
        core.auth.resolve(header)
    core.accounts.set_quota("alice", 12345)
    principal = core.auth.resolve(f"Bearer {kept}")
    assert principal is not None and principal.account.quota_bytes == 12345
    core.accounts.revoke_token(account.id, revoked_info.id)
    with pytest.raises(Unauthorized):
        core.auth.resolve(f"Bearer {revoked}")
    by_basic = core.auth.resolve(basic("alice", PASSWORD))
    assert by_basic is not None
    core.auth.change_password(by_basic, PASSWORD, "a new passphrase", revoke_tokens=True)
    for gone in (basic("alice", PASSWORD), f"Bearer {kept}", f"Bearer {third}"):
        with pytest.raises(Unauthorized):
            core.auth.resolve(gone)


def test_changes_through_another_process_show_within_the_cache_time(
    make_core: CoreFactory,
) -> None:
    clock = ManualClock()
    here = make_core(clock=clock, account_cache_seconds=2)
    elsewhere = make_core(clock=clock)  # another process, same database
    account = here.accounts.create("alice", "alice@example.com", PASSWORD)
    token_info, token = here.accounts.create_token(account.id)
    for header in (basic("alice", PASSWORD), f"Bearer {token}"):
        here.auth.resolve(header)
    elsewhere.accounts.set_quota("alice", 12345)
    elsewhere.accounts.revoke_token(account.id, token_info.id)
    elsewhere.accounts.set_password(account.id, "a new passphrase")
    principal = here.auth.resolve(basic("alice", PASSWORD))
    assert principal is not None and principal.account.quota_bytes != 12345  # as read before
    clock.advance(2)
    for gone in (basic("alice", PASSWORD), f"Bearer {token}"):
        with pytest.raises(Unauthorized):
            here.auth.resolve(gone)
    principal = here.auth.resolve(basic("alice", "a new passphrase"))
    assert principal is not None and principal.account.quota_bytes == 12345


def test_no_cache_time_reads_the_caller_on_every_request(make_core: CoreFactory) -> None:
    here = make_core(account_cache_seconds=0)
    elsewhere = make_core()
    account = here.accounts.create("alice", "alice@example.com", PASSWORD)
    token_info, token = here.accounts.create_token(account.id)
    for header in (basic("alice", PASSWORD), f"Bearer {token}", basic("alice", PASSWORD)):
        here.auth.resolve(header)
    elsewhere.accounts.revoke_token(account.id, token_info.id)
    elsewhere.accounts.set_password(account.id, "a new passphrase")
    for gone in (basic("alice", PASSWORD), f"Bearer {token}"):
        with pytest.raises(Unauthorized):
            here.auth.resolve(gone)
