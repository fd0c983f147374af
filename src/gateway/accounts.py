"""Accounts and login tokens.

Usernames are lowercase and bucket-safe (``[a-z0-9-]``, 3-63, no leading or trailing
``-``); emails are stored lowercased. Tokens are random, returned once, and stored
only as their SHA-256. Visitors signing up are counted per client address
(:data:`SIGNUPS_PER_HOUR`); accounts made by an administrator are not.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.config import Config
from gateway.counters import Counters
from gateway.db import Database
from gateway.errors import BadRequest, Busy, Conflict, NotFound
from gateway.models import Account, Token
from gateway.passwords import Passwords
from gateway.recent import Recent
from gateway.storage import Storage
from gateway.throttle import Attempts, Budget

USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PLANS = ("free", "pro")
TOKEN_PREFIX = "lk_"
GUEST_USERNAME = "guest"
SIGNUPS_PER_HOUR = 20
RESERVED_USERNAMES = frozenset(
    {
        "api",
        "account",
        "accounts",
        "admin",
        "download",
        "healthz",
        "static",
        "dav",
        "guest",
        "login",
        "logout",
        "settings",
        "dashboard",
        "links",
        "root",
        "system",
        "www",
    }
)


@dataclass(frozen=True)
class AccountInfo:
    """What the core tells fronts about an account. ``stamp`` changes with the password."""

    id: int
    username: str
    email: str
    plan: str
    quota_bytes: int
    used_bytes: int
    default_region: str
    created_at: float
    stamp: str
    is_guest: bool = False
    reserved_bytes: int = 0
    """Bytes held by writes in progress (they count as used until they end)."""

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "plan": self.plan,
            "quotaBytes": self.quota_bytes,
            "usedBytes": self.used_bytes,
            "defaultRegion": self.default_region,
        }


@dataclass(frozen=True)
class TokenInfo:
    id: int
    account_id: int
    prefix: str
    name: str
    created_at: float
    last_used_at: float | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


_BY_ID = select(
    Account.id,
    Account.username,
    Account.email,
    Account.plan,
    Account.quota_bytes,
    Account.used_bytes,
    Account.default_region,
    Account.created_at,
    Account.password_hash,
    Account.is_guest,
    Account.reserved_bytes,
).where(Account.id == bindparam("a_id"))
"""An account's :class:`AccountInfo` columns, in its fields' order (the password hash
in the place of its stamp)."""


def _info(account: Any) -> AccountInfo:
    """An :class:`AccountInfo` from an ``Account`` or a row with its columns."""
    return AccountInfo(
        id=account.id,
        username=account.username,
        email=account.email,
        plan=account.plan,
        quota_bytes=account.quota_bytes,
        used_bytes=account.used_bytes,
        default_region=account.default_region,
        created_at=account.created_at,
        stamp=_stamp(account.password_hash),
        is_guest=account.is_guest,
        reserved_bytes=account.reserved_bytes,
    )


def _info_of(row: tuple[Any, ...]) -> AccountInfo:
    """An :class:`AccountInfo` from a row of :data:`_BY_ID`."""
    id_, username, email, plan, quota, used, region, created, password_hash, guest, held = row
    return AccountInfo(
        id_, username, email, plan, quota, used, region, created, _stamp(password_hash), guest, held
    )


def check_username(username: object) -> str:
    if not isinstance(username, str):
        raise BadRequest("username must be a string")
    if not USERNAME.match(username):
        raise BadRequest(
            "username must be 3-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    if username in RESERVED_USERNAMES:
        raise BadRequest(f"username {username!r} is reserved")
    return username


def normalize_identifier(identifier: str) -> str:
    """A username or email as accounts store it (case-insensitive, trimmed)."""
    return identifier.strip().lower()


def _named(identifier: str) -> ColumnElement[bool]:
    """The account whose username or email is ``identifier``."""
    key = normalize_identifier(identifier)
    return or_(Account.username == key, Account.email == key)


def check_email(email: object) -> str:
    if not isinstance(email, str) or not EMAIL.match(email.strip()) or len(email) > 254:
        raise BadRequest("email must be an address such as you@example.com")
    return email.strip().lower()


class Accounts:
    """Creates accounts, checks passwords, and issues and revokes tokens."""

    def __init__(
        self,
        db: Database,
        storage: Storage,
        passwords: Passwords,
        counters: Counters,
        config: Config,
        clock: Clock,
    ) -> None:
        self.db = db
        self.storage = storage
        self.passwords = passwords
        self.config = config
        self.clock = clock
        self.sign_ups = Attempts(
            counters,
            [Budget("signup:address", SIGNUPS_PER_HOUR, 3600)],
            refusal="too many accounts created from this address; try again later",
        )
        self._last_used_written: dict[int, float] = {}
        self._by_id = db.prepare(_BY_ID)
        self._recent: Recent[int, AccountInfo] = Recent(config.account_cache_seconds, clock)
        self._tokens: Recent[str, TokenInfo] = Recent(config.account_cache_seconds, clock)

    def sign_up(
        self, username: object, email: object, password: object, *, address: str
    ) -> AccountInfo:
        """:meth:`create` for a visitor at ``address``: at most :data:`SIGNUPS_PER_HOUR`
        accounts an hour per address, then :class:`RateLimited`. Counted before the
        account is made, so parallel sign-ups cannot pass the limit; a sign-up that
        fails (a bad field, a taken name) gives its count back."""
        with self.sign_ups.attempt(address):
            return self.create(username, email, password)

    def create(
        self, username: object, email: object, password: object, *, plan: str = "free"
    ) -> AccountInfo:
        """Create an account with its home folder. Raises Conflict for a taken name or email."""
        username = check_username(username)
        email = check_email(email)
        password = Passwords.check_policy(password)
        if plan not in PLANS:
            raise BadRequest(f"plan must be one of: {', '.join(PLANS)}")
        password_hash = self.passwords.hash(password)
        try:
            with self.db.write() as session:
                taken = session.scalar(
                    select(Account.username).where(
                        or_(Account.username == username, Account.email == email)
                    )
                )
                if taken is not None:
                    what = "username" if taken == username else "email"
                    raise Conflict(f"that {what} is already registered")
                account = self._insert(
                    session, username, email, password_hash, plan, self.config.default_quota
                )
                return _info(account)
        except IntegrityError:
            raise Conflict("that username or email is already registered") from None

    def _insert(
        self,
        session: Session,
        username: str,
        email: str,
        password_hash: str,
        plan: str,
        quota: int,
        *,
        is_guest: bool = False,
    ) -> Account:
        account = Account(
            username=username,
            email=email,
            password_hash=password_hash,
            plan=plan,
            quota_bytes=quota,
            used_bytes=0,
            reserved_bytes=0,
            default_region=self.config.default_region,
            is_guest=is_guest,
            created_at=self.clock(),
        )
        session.add(account)
        session.flush()
        self.storage.create_home(session, account)
        return account

    def get(self, account_id: int) -> AccountInfo:
        """The account as it is now (one read)."""
        row = self._by_id.first({"a_id": account_id})
        if row is None:
            raise NotFound("no such account")
        return _info_of(row)

    def current(self, account_id: int) -> AccountInfo:
        """The account as read at most ``account_cache_seconds`` ago (see
        :mod:`gateway.recent`): what authenticating a request needs. Changes made
        through this process show at once, others within that time; its usage
        (``used_bytes``, ``reserved_bytes``) MAY be that old: read :meth:`get` or
        :meth:`Storage.usage` to show it."""
        return self._recent.fetch(account_id, lambda: self.get(account_id))

    def id_of(self, identifier: str) -> int | None:
        """The id of the account a username or email names; ``None`` when there is
        none that can sign in."""
        with self.db.read() as session:
            return session.scalar(
                select(Account.id).where(_named(identifier), Account.is_guest.is_(False))
            )

    def find(self, identifier: str) -> AccountInfo:
        """By username or email (case-insensitive)."""
        with self.db.read() as session:
            account = session.scalars(select(Account).where(_named(identifier))).one_or_none()
            if account is None or account.is_guest:
                raise NotFound(f"no account {identifier!r}")
            return _info(account)

    def verify_password(self, identifier: str, password: str) -> AccountInfo | None:
        """The account if ``password`` is right, else ``None``. Rehashes an outdated hash."""
        with self.db.read() as session:
            account = session.scalars(select(Account).where(_named(identifier))).one_or_none()
        if account is None or account.is_guest:
            self.passwords.burn(password)
            return None
        if not self.passwords.verify(account.password_hash, password):
            return None
        if self.passwords.needs_rehash(account.password_hash):
            try:
                new_hash = self.passwords.hash(password)
            except Busy:
                return _info(account)  # the rehash waits for a quieter sign-in
            with self.db.write() as session:
                session.execute(
                    update(Account)
                    .where(Account.id == account.id, Account.password_hash == account.password_hash)
                    .values(password_hash=new_hash)
                )
            self._recent.drop(account.id)
            account.password_hash = new_hash
        return _info(account)

    def set_password(self, account_id: int, password: object) -> AccountInfo:
        password = Passwords.check_policy(password)
        new_hash = self.passwords.hash(password)
        with self.db.write() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("no such account")
            account.password_hash = new_hash
            info = _info(account)
        self._recent.drop(account_id)
        return info

    def change_password(
        self,
        account_id: int,
        current: str,
        new: object,
        *,
        revoke_tokens: bool = False,
        keep_token_id: int | None = None,
    ) -> tuple[AccountInfo, int] | None:
        """Replace the password if ``current`` is right (``None`` when it is wrong),
        hashing ``new`` with today's parameters. With ``revoke_tokens``, every login
        token of the account but ``keep_token_id`` goes in the same transaction.
        Returns the account and the number of tokens revoked. Remembered Basic
        credentials stop working at once: the account's stamp changes with the hash."""
        new = Passwords.check_policy(new, name="new password")
        with self.db.read() as session:
            old_hash = session.scalar(
                select(Account.password_hash).where(
                    Account.id == account_id, Account.is_guest.is_(False)
                )
            )
        if old_hash is None:
            raise NotFound("no such account")
        if not self.passwords.verify(old_hash, current):
            return None
        new_hash = self.passwords.hash(new)
        with self.db.write() as session:
            changed = session.execute(
                update(Account)
                .where(Account.id == account_id, Account.password_hash == old_hash)
                .values(password_hash=new_hash)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                raise Conflict("the password was changed meanwhile; sign in again")
            revoked = 0
            if revoke_tokens:
                doomed = delete(Token).where(Token.account_id == account_id)
                if keep_token_id is not None:
                    doomed = doomed.where(Token.id != keep_token_id)
                revoked = session.execute(doomed).rowcount  # type: ignore[attr-defined]
            row = session.connection().execute(_BY_ID, {"a_id": account_id}).one()
        self._recent.drop(account_id)
        if revoke_tokens:
            self._tokens.drop_if(lambda token: token.account_id == account_id)
        return _info(row), int(revoked)

    def set_plan(self, username: str, plan: str) -> AccountInfo:
        if plan not in PLANS:
            raise BadRequest(f"plan must be one of: {', '.join(PLANS)}")
        return self._set(username, plan=plan)

    def set_quota(self, username: str, quota_bytes: int) -> AccountInfo:
        """An account's storage quota. It may be set below what the account uses:
        then every write that adds bytes is refused until it deletes enough."""
        if quota_bytes < 0:
            raise BadRequest("a quota cannot be negative")
        return self._set(username, quota_bytes=quota_bytes)

    def set_region(self, username: str, region: str) -> AccountInfo:
        """The region an account's new files go to (stored files stay where they are)."""
        self.storage.store_for(region)
        return self._set(username, default_region=region)

    def _set(self, username: str, **values: object) -> AccountInfo:
        with self.db.write() as session:
            account = session.scalars(
                select(Account).where(Account.username == username.lower())
            ).one_or_none()
            if account is None or account.is_guest:
                raise NotFound(f"no account {username!r}")
            for name, value in values.items():
                setattr(account, name, value)
            info = _info(account)
        self._recent.drop(info.id)
        return info

    def guest(self) -> AccountInfo:
        """The internal account that holds guests' uploads until someone registers
        them (made on first use; its name is reserved, and it cannot sign in)."""
        with self.db.read() as session:
            account = session.scalars(
                select(Account).where(Account.username == GUEST_USERNAME)
            ).one_or_none()
            if account is not None:
                return _info(account)
        try:
            with self.db.write() as session:
                account = self._insert(
                    session,
                    GUEST_USERNAME,
                    "guest@lockr.invalid",
                    "!",
                    "free",
                    self.config.guest_quota,
                    is_guest=True,
                )
                return _info(account)
        except IntegrityError:
            return self.guest()

    # -- tokens ----------------------------------------------------------------------

    def create_token(self, account_id: int, name: str = "") -> tuple[TokenInfo, str]:
        """A new login token: ``(metadata, secret)``. The secret is not kept anywhere."""
        if not isinstance(name, str) or len(name) > 100:
            raise BadRequest("token name must be a string of at most 100 characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write() as session:
            token = Token(
                account_id=account_id,
                token_hash=hash_secret(secret),
                prefix=secret[:10],
                name=name,
                created_at=self.clock(),
                last_used_at=None,
            )
            session.add(token)
            session.flush()
            return _token_info(token), secret

    def list_tokens(self, account_id: int) -> list[TokenInfo]:
        with self.db.read() as session:
            tokens = session.scalars(
                select(Token).where(Token.account_id == account_id).order_by(Token.id)
            ).all()
            return [_token_info(t) for t in tokens]

    def revoke_token(self, account_id: int, token_id: int) -> None:
        with self.db.write() as session:
            gone = session.execute(
                delete(Token).where(Token.id == token_id, Token.account_id == account_id)
            ).rowcount  # type: ignore[attr-defined]
        self._tokens.drop_if(lambda token: token.id == token_id)
        if not gone:
            raise NotFound("no such token")

    def resolve_token(self, secret: str) -> tuple[AccountInfo, TokenInfo] | None:
        """The account and token for a token secret, or ``None``: one query, or none
        while both were read lately (see :meth:`current`; a token revoked through
        another process works until then)."""
        token_hash = hash_secret(secret)
        token_info = self._tokens.get(token_hash)
        if token_info is not None:
            info = self.current(token_info.account_id)
        else:
            marks = self._recent.mark(), self._tokens.mark()
            with self.db.read() as session:
                row = session.execute(
                    select(Account, Token)
                    .join(Token, Token.account_id == Account.id)
                    .where(Token.token_hash == token_hash)
                ).one_or_none()
                if row is None:
                    return None
                account, token = row
                info, token_info = _info(account), _token_info(token)
            self._recent.put(info.id, info, unless_dropped_since=marks[0])
            self._tokens.put(token_hash, token_info, unless_dropped_since=marks[1])
        self._touch(token_info)
        return info, token_info

    def _touch(self, token: TokenInfo) -> None:
        """Record last use, at most once a minute per token, to keep reads cheap."""
        now = self.clock()
        if now - self._last_used_written.get(token.id, 0.0) < 60:
            return
        self._last_used_written[token.id] = now
        with self.db.write() as session:
            session.execute(update(Token).where(Token.id == token.id).values(last_used_at=now))

    def count(self) -> int:
        with self.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(Account)) or 0)


def _token_info(token: Token) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        account_id=token.account_id,
        prefix=token.prefix,
        name=token.name,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
    )
