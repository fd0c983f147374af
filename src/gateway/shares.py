"""Shares: links that let anyone who has one download one file, until it expires or
has been used its number of times, and only with its password when it has one.

A share's token (``sh_`` and 32 random characters, the secret in its URL) is shown
once, when it is made; only its SHA-256 is stored. Its password, like a link's, is
kept only as an argon2id hash, and wrong passwords are counted per share and client
address and per share with the links' budgets (``link_guesses``,
``link_guesses_per_link`` in ``link_guess_window``): taken before the password is
checked and given back when it is right, so parallel guesses get no more checks than
the limits allow.

A download is counted in the same statement that checks the share may still be used
(``UPDATE … SET downloads = downloads + 1 WHERE downloads < max_downloads AND …``), so
however many downloads start at once, on any number of processes, no more than
``max_downloads`` are let through. A download counts when it is let through, whether
or not the client reads it to the end. A share dies with its file (the database
deletes it), and a share of a key-protected file needs no key: the owner gave it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, or_, select, update

from gateway.clock import Clock
from gateway.config import Config
from gateway.counters import Counters
from gateway.db import Database
from gateway.errors import BadRequest, Forbidden, Gone, NotFound, Unauthorized
from gateway.models import Node, Share
from gateway.passwords import Passwords
from gateway.storage import Entry, Storage
from gateway.throttle import Attempts, Budget

MAX_DOWNLOADS = 1_000_000
MAX_SHARES_PER_FILE = 100
PASSWORD_CHARS = (4, 1024)
State = Literal["open", "expired", "used_up"]


class WrongSharePassword(Forbidden):
    """A share's password that is not right (counted as a guess)."""


@dataclass(frozen=True)
class ShareInfo:
    id: str
    prefix: str
    account_id: int
    node_id: int
    created_at: float
    expires_at: float | None
    max_downloads: int | None
    downloads: int
    password_protected: bool

    def state(self, now: float) -> State:
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.max_downloads is not None and self.downloads >= self.max_downloads:
            return "used_up"
        return "open"


def _info(row: Share) -> ShareInfo:
    return ShareInfo(
        id=row.id,
        prefix=row.prefix,
        account_id=row.account_id,
        node_id=row.node_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        max_downloads=row.max_downloads,
        downloads=row.downloads,
        password_protected=row.password_hash is not None,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Shares:
    def __init__(
        self,
        db: Database,
        storage: Storage,
        passwords: Passwords,
        counters: Counters,
        clock: Clock,
        config: Config,
    ) -> None:
        self.db = db
        self.storage = storage
        self.passwords = passwords
        self.clock = clock
        window = config.link_guess_window
        self.guesses = Attempts(
            counters,
            [
                Budget("share-guess:address", config.link_guesses, window),
                Budget("share-guess:share", config.link_guesses_per_link, window),
            ],
            refusal="too many wrong passwords for this share; wait before trying again",
            failure=WrongSharePassword,
        )

    def create(
        self,
        account_id: int,
        file_uid: str,
        *,
        expires_at: float | None = None,
        max_downloads: int | None = None,
        password: str | None = None,
    ) -> tuple[ShareInfo, str]:
        """A new share of the account's file; returns it and its token (shown once).
        400 for an expiry not in the future, a limit outside 1-1,000,000 or a password
        outside 4-1024 characters; 403 for another account's file or past
        :data:`MAX_SHARES_PER_FILE`."""
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            raise BadRequest("expiresAt must be in the future")
        if max_downloads is not None and not 1 <= max_downloads <= MAX_DOWNLOADS:
            raise BadRequest(f"maxDownloads must be a whole number from 1 to {MAX_DOWNLOADS}")
        low, high = PASSWORD_CHARS
        if password is not None and not low <= len(password) <= high:
            raise BadRequest(f"password must be {low} to {high} characters")
        entry = self._own_file(account_id, file_uid)
        sealed = None if password is None else self.passwords.hash(password)
        token = "sh_" + secrets.token_urlsafe(24)
        row = Share(
            id="shr_" + secrets.token_hex(8),
            token_hash=_token_hash(token),
            prefix=token[:9],
            account_id=account_id,
            node_id=entry.id,
            created_at=now,
            expires_at=expires_at,
            max_downloads=max_downloads,
            downloads=0,
            password_hash=sealed,
        )
        with self.db.write() as session:
            count = session.scalar(
                select(func.count()).select_from(Share).where(Share.node_id == entry.id)
            )
            if count is not None and count >= MAX_SHARES_PER_FILE:
                raise Forbidden(f"a file has at most {MAX_SHARES_PER_FILE} shares")
            session.add(row)
        return _info(row), token

    def of_file(self, account_id: int, file_uid: str) -> list[ShareInfo]:
        """The shares of the account's file, oldest first."""
        entry = self._own_file(account_id, file_uid)
        with self.db.read() as session:
            rows = session.scalars(
                select(Share).where(Share.node_id == entry.id).order_by(Share.created_at, Share.id)
            ).all()
        return [_info(row) for row in rows]

    def revoke(self, account_id: int, share_id: str) -> None:
        """End one of the account's shares at once; 404 for any other."""
        with self.db.write() as session:
            gone = session.execute(
                delete(Share).where(Share.id == share_id, Share.account_id == account_id)
            ).rowcount  # type: ignore[attr-defined]
        if not gone:
            raise NotFound("no such share")

    def find(self, token: str) -> tuple[ShareInfo, Entry]:
        """The share a token names and its file, consuming nothing; 404 when there is
        none (revoked, or its file deleted)."""
        with self.db.read() as session:
            row = session.scalars(
                select(Share).where(Share.token_hash == _token_hash(token))
            ).one_or_none()
            uid = (
                None
                if row is None
                else session.scalar(select(Node.uid).where(Node.id == row.node_id))
            )
        if row is None or uid is None:
            raise NotFound("no such share: it may have been revoked, or its file deleted")
        return _info(row), self.storage.get(uid)

    def take(self, token: str, *, password: str | None, address: str) -> tuple[ShareInfo, Entry]:
        """Let one download of the share through, counting it; returns the share (as
        it was before) and its file. 401 without the password a share has, 403 for a
        wrong one (429 past the guesses allowed), 410 once it has expired or been used
        its number of times, 404 as :meth:`find`."""
        share, entry = self.find(token)
        if share.password_protected:
            if not password:
                raise Unauthorized("this share needs its password")
            with self.guesses.attempt(f"{share.id} {address}", share.id):
                with self.db.read() as session:
                    stored = session.scalar(select(Share.password_hash).where(Share.id == share.id))
                if stored is None or not self.passwords.verify(stored, password):
                    raise WrongSharePassword("wrong password for this share")
        now = self.clock()
        with self.db.write() as session:
            counted = session.execute(
                update(Share)
                .where(
                    Share.id == share.id,
                    or_(Share.max_downloads.is_(None), Share.downloads < Share.max_downloads),
                    or_(Share.expires_at.is_(None), Share.expires_at > now),
                )
                .values(downloads=Share.downloads + 1)
            ).rowcount  # type: ignore[attr-defined]
        if not counted:
            latest, _ = self.find(token)
            if latest.state(now) == "expired":
                raise Gone("this share has expired")
            raise Gone("this share has been used as many times as it allows")
        return share, entry

    def _own_file(self, account_id: int, file_uid: str) -> Entry:
        entry = self.storage.get(file_uid)
        if entry.is_dir:
            raise NotFound("no such file (a folder cannot be shared yet)")
        if entry.account_id != account_id:
            raise Forbidden("this file belongs to another account")
        return entry
