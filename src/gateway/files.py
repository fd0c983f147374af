"""Files as the JSON API sees them: ids of the shape ``REGION_OBJECT``, listing by
account, download keys, guest claims and signed download URLs.

Download keys follow the storage seed: a client hashes its secret phrase into
``keyHash = sha256(phrase)`` (hex); lockr stores only an HMAC of that with the server
secret, and compares in constant time. Key guesses are counted per file and client
address (:data:`WRONG_KEYS_PER_WINDOW` wrong ones in :data:`WRONG_KEY_WINDOW` seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from gateway.clock import Clock
from gateway.counters import Counters
from gateway.db import Database
from gateway.errors import BadRequest, Forbidden, NotFound
from gateway.lookup import load_entry
from gateway.models import Node
from gateway.numbers import whole_number
from gateway.secret import same_secret
from gateway.storage import Storage
from gateway.throttle import Attempts, Budget
from gateway.tree import HIDDEN, Entry, entry_query, to_entry

FILE_ID = re.compile(r"^([a-z0-9][a-z0-9-]{0,62})_([a-z2-7]{16,32})$")
KEY_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_SIGNED_SECONDS = 7 * 24 * 3600
UPLOADS_FOLDER = "uploads"
WRONG_KEYS_PER_WINDOW = 10
WRONG_KEY_WINDOW = 600


def uid_of(file_id: str) -> str:
    """The node uid inside a file id; 404 for anything that is not one."""
    match = FILE_ID.match(file_id)
    if match is None:
        raise NotFound("no such file")
    return match.group(2)


def key_hash_of_phrase(phrase: str) -> str:
    """What a client computes from a download key phrase: sha256 hex of its UTF-8."""
    return hashlib.sha256(phrase.encode("utf-8")).hexdigest()


def check_key_hash(value: object) -> str:
    if not isinstance(value, str) or not KEY_HASH.match(value):
        raise BadRequest("keyHash must be the 64 hex digits of sha256(phrase)")
    return value.lower()


def claim_hash_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_claim_token() -> str:
    return "gc_" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Page:
    entries: list[tuple[Entry, str]]
    next_cursor: str | None


class Files:
    def __init__(
        self, db: Database, storage: Storage, counters: Counters, secret: bytes, clock: Clock
    ) -> None:
        self.db = db
        self.storage = storage
        self.clock = clock
        self.key_guesses = Attempts(
            counters,
            [Budget("download-key", WRONG_KEYS_PER_WINDOW, WRONG_KEY_WINDOW)],
            refusal="too many wrong download keys for this file; try again later",
            failure=Forbidden,
        )
        self._key_secret = hmac.new(secret, b"lockr download keys", hashlib.sha256).digest()
        self._sign_secret = hmac.new(secret, b"lockr signed urls", hashlib.sha256).digest()

    # -- keys ----------------------------------------------------------------------------

    def seal_key(self, key_hash: str) -> str:
        """What is stored for a keyHash: an HMAC under the server secret."""
        key_hash = check_key_hash(key_hash)
        return hmac.new(self._key_secret, key_hash.encode(), hashlib.sha256).hexdigest()

    def check_key(self, entry: Entry, presented: str | None, *, address: str) -> None:
        """Let a download through the file's key, or raise :class:`Forbidden` (no key
        or a wrong one) or :class:`RateLimited` (too many wrong keys for this file
        from ``address`` lately; the key is then not compared)."""
        if entry.key_hash is None:
            return
        if not presented:
            raise Forbidden("this file is protected by a download key: send keyHash=sha256(phrase)")
        with self.key_guesses.attempt(f"{entry.uid} {address}"):
            if not KEY_HASH.match(presented) or not same_secret(
                self.seal_key(presented), entry.key_hash
            ):
                raise Forbidden("wrong download key")

    def set_key(self, account_id: int, file_id: str, key_hash: str | None) -> Entry:
        """Set (a keyHash) or clear (``None``) the download key of an account's file."""
        sealed = None if key_hash is None else self.seal_key(key_hash)
        uid = uid_of(file_id)
        with self.db.write() as session:
            node = self.storage.file_node(session, uid)
            if node.account_id != account_id:
                raise Forbidden("this file belongs to another account")
            node.key_hash = sealed
            session.flush()
            return load_entry(session, node.id)

    # -- lookups -------------------------------------------------------------------------

    def get(self, file_id: str) -> Entry:
        entry = self.storage.get(uid_of(file_id))
        if entry.is_dir:
            raise NotFound("no such file")
        return entry

    def list(self, account_id: int, *, cursor: str | None, limit: int) -> Page:
        """The account's files, newest first, ``limit`` at a time, with their folder
        paths. The cursor is opaque to clients. Files of a detached tree (a large copy
        being built, a large delete under way) are not listed."""
        before = _decode_cursor(cursor) if cursor else None
        found: list[tuple[Entry, str]] = []
        with self.db.read() as session:
            while len(found) <= limit:
                query = entry_query().where(Node.account_id == account_id, Node.is_dir.is_(False))
                if before is not None:
                    query = query.where(Node.id < before)
                rows = session.execute(query.order_by(Node.id.desc()).limit(limit + 1)).all()
                entries = [to_entry(row) for row in rows]
                found += [(e, e.path) for e in entries if not e.key.startswith(HIDDEN)]
                if len(rows) <= limit:
                    break
                before = entries[-1].id
        next_cursor = _encode_cursor(found[limit - 1][0].id) if len(found) > limit else None
        return Page(found[:limit], next_cursor)

    # -- signed URLs ---------------------------------------------------------------------

    def sign(self, file_id: str, seconds: int) -> tuple[str, int]:
        """``(query string, expires_at)`` that lets anyone download ``file_id`` until
        ``expires_at`` (unix seconds), key or no key."""
        if seconds < 1 or seconds > MAX_SIGNED_SECONDS:
            raise BadRequest(f"expires must be between 1 and {MAX_SIGNED_SECONDS} seconds")
        expires_at = int(self.clock()) + seconds
        signature = self._signature(file_id, expires_at)
        return f"expires={expires_at}&signature={signature}", expires_at

    def signature_valid(self, file_id: str, expires: str, signature: str) -> bool:
        try:
            expires_at = int(expires)
        except ValueError:
            return False
        if expires_at < self.clock():
            return False
        return same_secret(signature, self._signature(file_id, expires_at))

    def _signature(self, file_id: str, expires_at: int) -> str:
        message = f"download:{file_id}:{expires_at}".encode()
        return hmac.new(self._sign_secret, message, hashlib.sha256).hexdigest()


def _encode_cursor(node_id: int) -> str:
    return base64.urlsafe_b64encode(f"n{node_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("n"):
            raise ValueError
        return whole_number(raw[1:], "cursor")
    except (ValueError, UnicodeDecodeError, BadRequest):
        raise BadRequest("cursor is not one this API returned") from None
