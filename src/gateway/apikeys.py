"""Links API keys: one active key per ``pro`` account, shown in full only once.

A key is ``ll_live_`` + 32 random base62 characters + a 6-character CRC32 checksum,
so secret scanners can recognise one and a mistyped key is refused without a
database lookup. Only its SHA-256 is stored, with a short prefix for people to tell
keys apart. Rotating revokes the old key and records the new one in the same
transaction; nothing caches a key, so a revoked key fails on its very next use.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.accounts import AccountInfo, Accounts
from gateway.clock import Clock
from gateway.db import Database
from gateway.errors import Conflict, Forbidden, NotFound, Unauthorized
from gateway.models import ApiKey
from gateway.secret import same_secret

KEY_PREFIX = "ll_live_"
ALPHABET = string.digits + string.ascii_letters
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
SHOWN_PREFIX = len(KEY_PREFIX) + 4
TOUCH_EVERY = 60.0
PRO_ONLY = "API keys are available on the pro plan; this account is on the {plan} plan"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def new_key() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return KEY_PREFIX + body + _checksum(body)


def looks_like_key(value: str) -> bool:
    """Whether ``value`` is meant as an API key (it has the prefix)."""
    return value.startswith(KEY_PREFIX)


def well_formed(key: str) -> bool:
    """The prefix, the length, the alphabet and the checksum are right."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return False
    body = key[len(KEY_PREFIX) : len(KEY_PREFIX) + BODY_LENGTH]
    if any(char not in ALPHABET for char in body):
        return False
    return same_secret(key[-CHECKSUM_LENGTH:], _checksum(body))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown about a key: never the key or its hash."""

    id: int
    prefix: str
    created_at: float
    last_used_at: float | None


class ApiKeys:
    def __init__(self, db: Database, accounts: Accounts, clock: Clock) -> None:
        self.db = db
        self.accounts = accounts
        self.clock = clock

    def _require_pro(self, account_id: int) -> AccountInfo:
        account = self.accounts.get(account_id)
        if account.plan != "pro":
            raise Forbidden(PRO_ONLY.format(plan=account.plan))
        return account

    def info(self, account_id: int) -> ApiKeyInfo | None:
        """The account's active key, or ``None``."""
        with self.db.read() as session:
            row = _active(session, account_id)
            return None if row is None else _info(row)

    def create(self, account_id: int) -> tuple[ApiKeyInfo, str]:
        """A new key for a pro account with none active (else Conflict). Returns the
        key's metadata and the key itself, which is never available again."""
        self._require_pro(account_id)
        try:
            with self.db.write() as session:
                if _active(session, account_id) is not None:
                    raise Conflict(
                        "this account already has an active API key; rotate it to get a new one"
                    )
                return self._insert(session, account_id)
        except IntegrityError:
            raise Conflict("this account already has an active API key") from None

    def rotate(self, account_id: int) -> tuple[ApiKeyInfo, str]:
        """Revoke the active key and make a new one, in one transaction."""
        self._require_pro(account_id)
        try:
            with self.db.write() as session:
                if _revoke_active(session, account_id, self.clock()) == 0:
                    raise NotFound("this account has no active API key to rotate; create one")
                return self._insert(session, account_id)
        except IntegrityError:
            raise Conflict("the key was rotated at the same moment; try again") from None

    def revoke(self, account_id: int) -> None:
        with self.db.write() as session:
            if _revoke_active(session, account_id, self.clock()) == 0:
                raise NotFound("this account has no active API key")

    def resolve(self, key: str) -> tuple[AccountInfo, ApiKeyInfo]:
        """The account and key for a key presented by a client. Raises Unauthorized
        for a malformed, unknown or revoked key and Forbidden when the account is no
        longer on the pro plan."""
        if not well_formed(key):
            raise Unauthorized("malformed API key: expected ll_live_ followed by 38 characters")
        with self.db.read() as session:
            row = session.scalars(
                select(ApiKey).where(ApiKey.key_hash == key_hash(key), ApiKey.revoked_at.is_(None))
            ).one_or_none()
            found = None if row is None else _info(row)
            account_id = None if row is None else row.account_id
        if found is None or account_id is None:
            raise Unauthorized("invalid or revoked API key")
        account = self._require_pro(account_id)
        now = self.clock()
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            with self.db.write() as session:
                session.execute(
                    update(ApiKey).where(ApiKey.id == found.id).values(last_used_at=now)
                )
            found = replace(found, last_used_at=now)
        return account, found

    def _insert(self, session: Session, account_id: int) -> tuple[ApiKeyInfo, str]:
        key = new_key()
        row = ApiKey(
            account_id=account_id,
            key_hash=key_hash(key),
            prefix=key[:SHOWN_PREFIX],
            created_at=self.clock(),
        )
        session.add(row)
        session.flush()
        return _info(row), key


def _active(session: Session, account_id: int) -> ApiKey | None:
    return session.scalars(
        select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
    ).one_or_none()


def _revoke_active(session: Session, account_id: int, now: float) -> int:
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id, prefix=row.prefix, created_at=row.created_at, last_used_at=row.last_used_at
    )


__all__ = ["ApiKeyInfo", "ApiKeys", "looks_like_key", "new_key", "well_formed"]
