"""One way to turn a request's credentials into a principal, for every front.

``Authorization: Bearer <token>`` or ``Authorization: Basic base64(user:password)``,
where *user* is the username or the email. argon2 is slow on purpose and rclone sends
Basic on every request, so a verified Basic credential is remembered for a short
time, keyed by an HMAC of the credential (the password itself is never kept); the
remembered entry is checked on every use against the account's password stamp as
:meth:`Accounts.current` has it, so a password change drops it at once in the
process that made it and within ``account_cache_seconds`` in every other. Every
password check, whichever front it came through, is one attempt against the sign-in budgets (see
:mod:`gateway.throttle`): one per account, whether it is named by username or email
(an unknown name is counted by its normalized self), and one per client address.

Basic credentials are *ambient*: a browser that has them sends them by itself, on
requests any page may start. So a state-changing request (any method but GET, HEAD,
OPTIONS and PROPFIND) that carries Basic credentials and that a browser marks as
coming from elsewhere is refused with :class:`CrossSite` before any password check:
``Sec-Fetch-Site`` other than ``same-origin`` or ``none`` (``same-site`` too: a
sibling host may serve anyone's content), or an ``Origin`` that is not lockr's own
(``public_url``'s scheme, host and port, or the origin of the listener the request
came to, where a front says so). Tools send neither header; Bearer tokens are never
sent by a browser on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.accounts import AccountInfo, Accounts, normalize_identifier
from gateway.clock import Clock
from gateway.config import Config
from gateway.counters import Counters
from gateway.errors import (
    CrossSite,
    Forbidden,
    LockrError,
    NotFound,
    RateLimited,
    Unauthorized,
)
from gateway.recent import Recent
from gateway.secret import same_secret
from gateway.throttle import Attempts, Budget

BASIC_CACHE_SIZE = 10_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND"})
SAME_ORIGIN_FETCHES = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RequestSource:
    """What a request says about where it comes from, as a front passes it to
    :meth:`Authenticator.resolve`: the method, the browser's ``Sec-Fetch-Site`` and
    ``Origin`` headers (absent from tools), and ``listener_origin``, the origin of the
    listener the request came to when that listener counts as lockr's own."""

    method: str
    fetch_site: str | None = None
    origin: str | None = None
    listener_origin: str | None = None


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lowercased, without a default port;
    ``None`` for anything else (``null``, other schemes, garbage)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. ``token_id`` is set when a login token was used."""

    account: AccountInfo
    max_object_size: int
    token_id: int | None = None

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def is_guest(self) -> bool:
        return self.account.is_guest


class _Gate:
    """One in-flight verification and the number of callers sharing it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiters = 0


class Authenticator:
    def __init__(
        self,
        accounts: Accounts,
        counters: Counters,
        config: Config,
        secret: bytes,
        clock: Clock,
    ) -> None:
        self.accounts = accounts
        window = config.login_window_seconds
        self.sign_ins = Attempts(
            counters,
            [
                Budget("login:account", config.login_max_failures, window),
                Budget("login:address", config.login_max_failures_per_address, window),
            ],
            refusal="too many failed sign-in attempts; try again later",
            failure=Unauthorized,
        )
        self.config = config
        self.clock = clock
        self._secret = secret
        self._verified: Recent[bytes, tuple[int, str]] = Recent(
            config.basic_cache_seconds, clock, size=BASIC_CACHE_SIZE
        )
        self._lock = threading.Lock()
        self._inflight: dict[bytes, _Gate] = {}
        self.own_origin = origin_of(config.public_url)

    def principal_for(self, account: AccountInfo, token_id: int | None = None) -> Principal:
        return Principal(account, self.config.max_object_size, token_id)

    def guest(self) -> Principal:
        """The principal of a request without credentials, where guests may act."""
        return Principal(self.accounts.guest(), self.config.max_guest_object_size)

    def resolve(
        self,
        authorization: str | None,
        *,
        address: str = "",
        source: RequestSource | None = None,
    ) -> Principal | None:
        """The principal for an ``Authorization`` header value; ``None`` when there is
        no header. Raises :class:`Unauthorized` for credentials that do not check out
        and :class:`RateLimited` while the identifier or address is throttled.

        A front serving browsers MUST pass ``source``: Basic credentials on a
        state-changing request from another site then raise :class:`CrossSite`."""
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer" and value:
            return self.bearer(value)
        if scheme == "basic" and value:
            if source is not None:
                self.refuse_cross_site(source)
            identifier, password = _decode_basic(value)
            return self.basic(identifier, password, address=address)
        raise Unauthorized("use Authorization: Bearer <token> or Basic <base64 user:password>")

    def refuse_cross_site(
        self,
        source: RequestSource,
        message: str = (
            "refused: a cross-site browser request cannot change anything with "
            "remembered Basic credentials; send a login token (Authorization: Bearer)"
        ),
    ) -> None:
        """Raise :class:`CrossSite` if a browser marks this state-changing request as
        coming from another site (see the module's docstring)."""
        if source.method.upper() in SAFE_METHODS:
            return
        fetch_site = (source.fetch_site or "").strip().lower()
        cross = bool(fetch_site) and fetch_site not in SAME_ORIGIN_FETCHES
        if not cross and source.origin is not None:
            own = {self.own_origin, origin_of(source.listener_origin)} - {None}
            cross = origin_of(source.origin) not in own
        if cross:
            raise CrossSite(message)

    def csrf_token(self, session_token: str) -> str:
        """The CSRF token of a web session: an HMAC of its login token under the
        server secret, so it needs no storage, and ends with the session."""
        message = b"csrf\0" + session_token.encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def session(self, token: str, *, source: RequestSource, csrf: str | None) -> Principal | None:
        """The principal of a web session: the login token its cookie holds, or
        ``None`` when that is no valid token (a browser sends a cookie by itself, so
        a stale one must not fail a request that needs no account).

        A cookie is ambient too, so a state-changing request MUST come from lockr's
        own pages: one a browser marks as cross-site raises :class:`CrossSite`, and
        one without the session's CSRF token (:meth:`csrf_token`, which only lockr's
        pages know and send in a header) raises :class:`Forbidden`."""
        try:
            principal = self.bearer(token)
        except Unauthorized:
            return None
        if source.method.upper() not in SAFE_METHODS:
            self.refuse_cross_site(
                source, "refused: a cross-site browser request cannot use lockr's session"
            )
            if not csrf or not same_secret(csrf, self.csrf_token(token)):
                raise Forbidden(
                    "this request needs the page's CSRF token (X-CSRF-Token); "
                    "reload the page and try again"
                )
        return principal

    def bearer(self, token: str) -> Principal:
        found = self.accounts.resolve_token(token)
        if found is None:
            raise Unauthorized("invalid or revoked token")
        account, token_info = found
        return self.principal_for(account, token_info.id)

    def basic(self, identifier: str, password: str, *, address: str = "") -> Principal:
        """Basic credentials: answered from the cache when they were verified lately.
        Concurrent requests with the same uncached credentials (a client opening many
        connections at once) wait for one verification instead of running argon2 each."""
        key = self._basic_key(identifier, password)
        principal = self._remembered(key)
        if principal is not None:
            return principal
        with self._verifying(key):
            principal = self._remembered(key)
            if principal is not None:
                return principal
            account = self.check_password(identifier, password, address=address)
            self._verified.put(key, (account.id, account.stamp))
            return self.principal_for(account)

    def remembered(
        self, authorization: str | None, *, source: RequestSource | None = None
    ) -> Principal | None:
        """The principal of Basic credentials verified lately (as :meth:`resolve`
        would answer), without blocking: ``None`` for anything else (no header,
        another scheme, credentials not remembered, a request :meth:`resolve` would
        refuse), which the caller then resolves. No password is checked here."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "basic" or not value:
            return None
        try:
            if source is not None:
                self.refuse_cross_site(source)
            identifier, password = _decode_basic(value)
        except LockrError:
            return None
        key = self._basic_key(identifier, password)
        return self._remembered(key)

    def _basic_key(self, identifier: str, password: str) -> bytes:
        """What remembers a Basic credential: an HMAC of it, never the password."""
        message = identifier.lower().encode() + b"\0" + password.encode()
        # The one-shot form: hmac.new builds two hash objects in Python per request.
        return hmac.digest(self._secret, message, "sha256")

    def _remembered(self, key: bytes) -> Principal | None:
        """The principal of a cached credential whose password has not changed since
        (as :meth:`Accounts.current` tells)."""
        cached = self._verified.get(key)
        if cached is None:
            return None
        try:
            account = self.accounts.current(cached[0])
        except NotFound:
            account = None
        if account is not None and account.stamp == cached[1]:
            return self.principal_for(account)
        self._verified.drop(key)
        return None

    @contextmanager
    def _verifying(self, key: bytes) -> Iterator[None]:
        """Hold the one verification slot of ``key`` (shared by its waiting callers)."""
        with self._lock:
            gate = self._inflight.get(key)
            if gate is None:
                gate = self._inflight[key] = _Gate()
            gate.waiters += 1
        try:
            with gate.lock:
                yield
        finally:
            with self._lock:
                gate.waiters -= 1
                if gate.waiters == 0:
                    del self._inflight[key]

    def check_password(self, identifier: str, password: str, *, address: str = "") -> AccountInfo:
        """Verify a password as one sign-in attempt (used by login and Basic). Raises
        :class:`RateLimited` without verifying while the account or the address has
        no attempts left; a success gives its attempt back (failures stay counted
        until their window ends, however often the owner signs in)."""
        account_id = self.accounts.id_of(identifier)
        if account_id is None:
            who = f"name {normalize_identifier(identifier)}"
        else:
            who = f"account {account_id}"
        with self.sign_ins.attempt(who, address or None):
            account = self.accounts.verify_password(identifier, password)
            if account is None:
                raise Unauthorized("wrong username, email or password")
        return account

    def change_password(
        self,
        principal: Principal,
        current: object,
        new: object,
        *,
        revoke_tokens: bool = False,
        address: str = "",
    ) -> tuple[AccountInfo, int]:
        """Change the caller's password as one sign-in attempt: a wrong ``current``
        counts as a failed sign-in and raises :class:`Forbidden`. With
        ``revoke_tokens``, every login token but the one the caller used (if any) is
        revoked. Returns the account and the number of tokens revoked."""
        changed = None
        try:
            with self.sign_ins.attempt(f"account {principal.account_id}", address or None):
                if isinstance(current, str):
                    changed = self.accounts.change_password(
                        principal.account_id,
                        current,
                        new,
                        revoke_tokens=revoke_tokens,
                        keep_token_id=principal.token_id,
                    )
                if changed is None:
                    raise Unauthorized("the current password is wrong")
        except Unauthorized as wrong:
            raise Forbidden(wrong.message) from None
        return changed


def client_address(peer: str, forwarded_for: str | None, *, trust_proxy: bool) -> str:
    """The client's address: the connection's peer, or with ``trust_proxy`` the last
    X-Forwarded-For hop, the one the proxy in front of lockr appended (earlier hops
    come from the client and may say anything)."""
    if trust_proxy and forwarded_for:
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer


def _decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed Basic credentials") from None
    identifier, sep, password = decoded.partition(":")
    if not sep or not identifier:
        raise Unauthorized("malformed Basic credentials: expected user:password")
    return identifier, password


__all__ = ["Authenticator", "Principal", "RateLimited"]
