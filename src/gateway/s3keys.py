"""S3 access keys: per-account credentials for the S3-compatible front.

An access key id is ``LK`` + 18 random uppercase letters and digits (20 characters,
as AWS's are); its secret is 40 random characters of the base64 alphabet. SigV4
needs the secret itself to check a signature, so it cannot be stored as a hash: it
is sealed with AES-256-GCM under a key derived from the server secret (HKDF-SHA256,
an ``info`` of its own), with a random 96-bit nonce per key and the access key id as
associated data, so a ciphertext copied onto another key does not open. The secret
is shown once, when the key is made; it is never logged, put in an error or shown by
a repr. An account has at most :data:`MAX_KEYS` keys.

Every S3 request looks its key up, so a process keeps the keys it has opened for
:data:`SECRET_CACHE_SECONDS` (at most :data:`SECRETS_CACHED` of them) instead of
reading and decrypting the row each time. Revoking deletes the row and drops the key
from the revoking process's cache: that process refuses the key on its very next
use. Another process (another worker of ``lockr serve``, or one serving the same
database) may still accept it for up to :data:`SECRET_CACHE_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import string
import threading
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, delete, func, select, update

from gateway.clock import Clock
from gateway.db import Database
from gateway.errors import BadRequest, Forbidden, LockrError, NotFound
from gateway.models import Account, S3Key

log = logging.getLogger("lockr")

ACCESS_KEY_PREFIX = "LK"
ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits
ACCESS_KEY_LENGTH = 20
SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
SECRET_LENGTH = 40
NONCE_BYTES = 12
HKDF_INFO = b"lockr s3 secret access keys v1"
MAX_KEYS = 20
MAX_NAME = 100
TOUCH_EVERY = 60.0
SECRET_CACHE_SECONDS = 10.0
"""How long a process uses a key it has read without reading it again: the longest
another process may go on accepting a key revoked elsewhere."""
SECRETS_CACHED = 1024
"""The most keys a process keeps (each a few hundred bytes)."""
CONTROL = re.compile("[\x00-\x1f\x7f]")


def new_access_key_id() -> str:
    body_length = ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX)
    return ACCESS_KEY_PREFIX + "".join(
        secrets.choice(ACCESS_KEY_ALPHABET) for _ in range(body_length)
    )


def new_secret_access_key() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


@dataclass(frozen=True)
class S3KeyInfo:
    """What may be shown about a key: never its secret."""

    id: int
    access_key_id: str
    name: str
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class S3Secret:
    """An active key's secret, for checking a signature made with it, and the account
    it belongs to (its id and username); the repr leaves the secret out."""

    account_id: int
    username: str
    key_id: int
    last_used_at: float | None
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class _Cached:
    secret: S3Secret
    expires_at: float


_SECRET_OF = (
    select(
        S3Key.account_id,
        Account.username,
        S3Key.id,
        S3Key.last_used_at,
        S3Key.secret_ciphertext,
    )
    .join(Account, Account.id == S3Key.account_id)
    .where(S3Key.access_key_id == bindparam("access_key_id"))
)
"""Built once: every S3 request runs it (building it would cost more than running it)."""


class S3Keys:
    def __init__(
        self, db: Database, secret: bytes, clock: Clock, *, keep: int = SECRETS_CACHED
    ) -> None:
        """``keep``: the most keys the process keeps after reading them."""
        self.db = db
        self.clock = clock
        self._secret_of = db.prepare(_SECRET_OF)
        self._keep = keep
        self._aead = AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret)
        )
        self._cache: dict[str, _Cached] = {}
        self._cache_lock = threading.Lock()
        self._revoked = 0
        """Revocations so far: a key read before one is not cached after it."""

    def __repr__(self) -> str:
        return "S3Keys()"

    def create(self, account_id: int, name: str = "") -> tuple[S3KeyInfo, str]:
        """A new key for the account: its metadata and its secret, which is never
        available again. Forbidden for the guest account or one with :data:`MAX_KEYS`
        keys already; NotFound for no account."""
        if not isinstance(name, str) or len(name) > MAX_NAME or CONTROL.search(name):
            raise BadRequest(
                f"name must be a string of at most {MAX_NAME} characters, "
                "without control characters"
            )
        access_key_id = new_access_key_id()
        secret_access_key = new_secret_access_key()
        sealed = self._seal(access_key_id, secret_access_key)
        with self.db.write() as session:
            # The account row is the lock that makes count-then-insert safe on
            # PostgreSQL; SQLite writers are serialised already (BEGIN IMMEDIATE).
            is_guest = session.scalars(
                select(Account.is_guest).where(Account.id == account_id).with_for_update()
            ).one_or_none()
            if is_guest is None:
                raise NotFound("no such account")
            if is_guest:
                raise Forbidden("sign in: S3 access keys belong to an account")
            held = session.scalar(
                select(func.count()).select_from(S3Key).where(S3Key.account_id == account_id)
            )
            if (held or 0) >= MAX_KEYS:
                raise Forbidden(
                    f"an account may have at most {MAX_KEYS} S3 access keys; "
                    "revoke one it no longer uses first"
                )
            row = S3Key(
                account_id=account_id,
                access_key_id=access_key_id,
                secret_ciphertext=sealed,
                name=name,
                created_at=self.clock(),
                last_used_at=None,
            )
            session.add(row)
            session.flush()
            return _info(row), secret_access_key

    def list(self, account_id: int) -> list[S3KeyInfo]:
        """The account's keys, oldest first."""
        with self.db.read() as session:
            rows = session.scalars(
                select(S3Key).where(S3Key.account_id == account_id).order_by(S3Key.id)
            ).all()
            return [_info(row) for row in rows]

    def revoke(self, account_id: int, key_id: int) -> None:
        """Delete the account's key ``key_id``; NotFound for another account's or none."""
        with self.db.write() as session:
            gone = session.execute(
                delete(S3Key).where(S3Key.id == key_id, S3Key.account_id == account_id)
            ).rowcount  # type: ignore[attr-defined]
        with self._cache_lock:
            self._revoked += 1
            for access_key_id, cached in list(self._cache.items()):
                if cached.secret.key_id == key_id:
                    del self._cache[access_key_id]
        if not gone:
            raise NotFound("no such S3 access key")

    def secret_for(self, access_key_id: str) -> S3Secret | None:
        """The secret of an active key, to check a request signed with it; ``None``
        when no active key has this id (never made, or revoked: the S3 front's
        ``InvalidAccessKeyId``). A stored secret that does not open (the server secret
        is not the one it was sealed under, or the row was altered) is a plain
        :class:`LockrError` (500). It does not record a use: call :meth:`touch` once
        the signature is found right. Blocking unless :meth:`cached` has the key."""
        found = self.cached(access_key_id)
        if found is not None:
            return found
        if len(access_key_id) != ACCESS_KEY_LENGTH:
            return None
        revoked, read_at = self._revoked, self.clock()
        row = self._secret_of.first({"access_key_id": access_key_id})
        if row is None:
            return None
        account_id, username, key_id, last_used_at, sealed = row
        found = S3Secret(
            account_id, username, key_id, last_used_at, self._open(access_key_id, sealed)
        )
        self._remember(access_key_id, found, revoked, read_at + SECRET_CACHE_SECONDS)
        return found

    def cached(self, access_key_id: str) -> S3Secret | None:
        """What :meth:`secret_for` read for this key less than
        :data:`SECRET_CACHE_SECONDS` ago, if anything (never blocks; ``None`` says
        nothing about the key)."""
        cached = self._cache.get(access_key_id)
        if cached is None or cached.expires_at <= self.clock():
            return None
        return cached.secret

    def touch_due(self, secret: S3Secret) -> bool:
        """Whether :meth:`touch` has a use to record (never blocks)."""
        last = secret.last_used_at
        return last is None or last <= self.clock() - TOUCH_EVERY

    def touch(self, secret: S3Secret) -> None:
        """Record that the key signed a request, at most once a minute per key: no
        write at all while the use :meth:`secret_for` read (or this process recorded)
        is recent."""
        if not self.touch_due(secret):
            return
        now = self.clock()
        with self.db.write() as session:
            session.execute(
                update(S3Key)
                .where(
                    S3Key.id == secret.key_id,
                    (S3Key.last_used_at.is_(None)) | (S3Key.last_used_at <= now - TOUCH_EVERY),
                )
                .values(last_used_at=now)
            )
        with self._cache_lock:
            for access_key_id, cached in list(self._cache.items()):
                if cached.secret.key_id == secret.key_id:
                    used = replace(cached.secret, last_used_at=now)
                    self._cache[access_key_id] = _Cached(used, cached.expires_at)

    def _remember(
        self, access_key_id: str, secret: S3Secret, revoked: int, expires_at: float
    ) -> None:
        with self._cache_lock:
            if revoked != self._revoked:
                return  # a key revoked since it was read could be this one
            self._cache.pop(access_key_id, None)
            while len(self._cache) >= self._keep:
                del self._cache[next(iter(self._cache))]  # the oldest read
            self._cache[access_key_id] = _Cached(secret, expires_at)

    def _seal(self, access_key_id: str, secret_access_key: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(
            nonce, secret_access_key.encode("ascii"), access_key_id.encode("ascii")
        )

    def _open(self, access_key_id: str, sealed: bytes) -> str:
        try:
            plain = self._aead.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], access_key_id.encode("ascii")
            )
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            log.warning(
                "the secret of S3 access key %s does not open: the server secret differs "
                "from the one it was made under, or its row was altered",
                access_key_id,
            )
            raise LockrError(
                "this access key's secret cannot be read on this server; "
                "revoke the key and create another"
            ) from None
        return plain.decode("ascii")


def _info(row: S3Key) -> S3KeyInfo:
    return S3KeyInfo(
        id=row.id,
        access_key_id=row.access_key_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


__all__ = ["MAX_KEYS", "S3KeyInfo", "S3Keys", "S3Secret"]
