"""Password-protected links: creating, listing and deleting them for their owner, and
unlocking them for recipients.

A link's target URL or secret memo is sealed under its password (see
:mod:`linkservice.sealing`); the password itself is kept only as an argon2id hash.
Unlocking checks, in order: the link exists, the guesser has guesses left (one is
taken before anything else and given back unless the password turns out wrong), the
link is open (started, not expired, not used up), the password (constant time); then
it decrypts (another argon2 run, which may find the server busy) and counts the access
atomically against ``redirectLimit``, and only then reveals the secret. A wrong
password, or a server too busy to decrypt, reveals and consumes nothing.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import string
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.clock import Clock
from gateway.counters import Counters, Limit, LimitReached
from gateway.db import Database
from gateway.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    LockrError,
    NotFound,
    QuotaExceeded,
)
from gateway.models import Link
from gateway.passwords import Passwords
from gateway.throttle import Attempts
from linkservice.sealing import KeyDerivation, Sealed, Unsealable
from linkservice.validation import LinkRequest

SLUG_ALPHABET = string.ascii_lowercase + string.digits
SLUG_LENGTH = 8
Source = Literal["api", "dashboard"]
State = Literal["open", "not_started", "expired", "used_up"]


class WrongPassword(LockrError):
    status = 401
    code = "wrong_password"


@dataclass(frozen=True)
class LinkInfo:
    """What the owner may see of a link (never its password or secret)."""

    id: str
    slug: str
    type: str
    memo: str
    source: str
    redirect_limit: int | None
    access_count: int
    start_time: float | None
    expire_time: float | None
    created_at: float

    def state(self, now: float) -> State:
        if self.start_time is not None and now < self.start_time:
            return "not_started"
        if self.expire_time is not None and now >= self.expire_time:
            return "expired"
        if self.redirect_limit is not None and self.access_count >= self.redirect_limit:
            return "used_up"
        return "open"


@dataclass(frozen=True)
class Revealed:
    type: str
    secret: str


_INFO_COLUMNS = (
    Link.id,
    Link.slug,
    Link.type,
    Link.memo,
    Link.source,
    Link.redirect_limit,
    Link.access_count,
    Link.start_time,
    Link.expire_time,
    Link.created_at,
)


class Links:
    def __init__(
        self,
        db: Database,
        counters: Counters,
        passwords: Passwords,
        kdf: KeyDerivation,
        clock: Clock,
        guesses: Attempts,
    ) -> None:
        self.db = db
        self.counters = counters
        self.passwords = passwords
        self.kdf = kdf
        self.clock = clock
        self.guesses = guesses

    # -- owners ------------------------------------------------------------------------

    def create(
        self,
        account_id: int,
        request: LinkRequest,
        *,
        source: Source,
        quota: Limit | None = None,
    ) -> tuple[LinkInfo, int | None]:
        """Store a new link. With ``quota``, one unit of it is counted in the same
        transaction, so only a link that is really created counts (QuotaExceeded when
        none is left). Returns the link and the quota used so far (or ``None``)."""
        link_id = "lnk_" + secrets.token_hex(12)
        password_hash = self.passwords.hash(request.password)
        sealed = self.kdf.seal(request.password, request.secret, associated=link_id.encode())
        now = self.clock()
        for _attempt in range(5):
            slug = request.slug or _random_slug()
            try:
                with self.db.write() as session:
                    used = None
                    if quota is not None:
                        used = self.counters.take_in(session, [quota])[0]
                    session.add(
                        Link(
                            id=link_id,
                            account_id=account_id,
                            slug=slug,
                            type=request.type,
                            memo=request.memo,
                            source=source,
                            password_hash=password_hash,
                            salt=sealed.salt,
                            nonce=sealed.nonce,
                            ciphertext=sealed.ciphertext,
                            redirect_limit=request.redirect_limit,
                            access_count=0,
                            start_time=request.start_time,
                            expire_time=request.expire_time,
                            created_at=now,
                        )
                    )
                    session.flush()
            except LimitReached:
                raise QuotaExceeded(
                    f"the monthly quota of {quota.limit if quota else 0} API-created links is "
                    "used up; it resets on the 1st at 00:00 UTC"
                ) from None
            except IntegrityError:
                if request.slug is not None:
                    taken = f"customSlug {request.slug!r} is taken; choose another"
                    raise Conflict(taken) from None
                continue  # a random slug collided: draw another
            info = LinkInfo(
                id=link_id,
                slug=slug,
                type=request.type,
                memo=request.memo,
                source=source,
                redirect_limit=request.redirect_limit,
                access_count=0,
                start_time=request.start_time,
                expire_time=request.expire_time,
                created_at=now,
            )
            return info, used
        raise Conflict("could not find a free slug; try again")

    def page(
        self, account_id: int, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[LinkInfo], str | None]:
        """The account's links, newest first, ``limit`` at a time; pass the returned
        cursor to get the next page (``None`` after the last)."""
        query = select(*_INFO_COLUMNS).where(Link.account_id == account_id)
        if cursor is not None:
            created_at, link_id = _decode_cursor(cursor)
            query = query.where(
                or_(
                    Link.created_at < created_at,
                    and_(Link.created_at == created_at, Link.id < link_id),
                )
            )
        query = query.order_by(Link.created_at.desc(), Link.id.desc()).limit(limit + 1)
        with self.db.read() as session:
            rows = [_to_info(row) for row in session.execute(query)]
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], _encode_cursor(last.created_at, last.id)

    def get(self, account_id: int, link_id: str) -> LinkInfo:
        with self.db.read() as session:
            row = session.execute(
                select(*_INFO_COLUMNS).where(Link.id == link_id, Link.account_id == account_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"no link {link_id!r} in this account")
        return _to_info(row)

    def delete(self, account_id: int, link_id: str) -> None:
        with self.db.write() as session:
            gone = session.execute(
                delete(Link).where(Link.id == link_id, Link.account_id == account_id)
            ).rowcount  # type: ignore[attr-defined]
        if not gone:
            raise NotFound(f"no link {link_id!r} in this account")

    # -- recipients --------------------------------------------------------------------

    def preview(self, slug: str) -> LinkInfo:
        """The public side of a link: consumes nothing."""
        with self.db.read() as session:
            row = session.execute(select(*_INFO_COLUMNS).where(Link.slug == slug)).one_or_none()
        if row is None:
            raise NotFound("there is no link here")
        return _to_info(row)

    def unlock(self, slug: str, password: str, *, address: str) -> tuple[LinkInfo, Revealed]:
        """Open the link with ``password``: counts one access and returns the secret.

        Raises NotFound, RateLimited (too many wrong guesses), Forbidden (not open
        yet), Gone (expired or used up) or WrongPassword; none of them consumes an
        access or reveals anything."""
        with self.db.read() as session:
            row = session.execute(
                select(
                    *_INFO_COLUMNS, Link.password_hash, Link.salt, Link.nonce, Link.ciphertext
                ).where(Link.slug == slug)
            ).one_or_none()
        if row is None:
            raise NotFound("there is no link here")
        *columns, password_hash, salt, nonce, ciphertext = row
        info, sealed = _to_info(columns), Sealed(salt, nonce, ciphertext)
        with self.guesses.attempt(f"{info.id} {address}", info.id):
            _check_open(info, self.clock())
            if not self.passwords.verify(password_hash, password):
                raise WrongPassword("wrong password")
        try:
            secret = self.kdf.unseal(password, sealed, associated=info.id.encode())
        except Unsealable:
            raise LockrError("the link's secret could not be decrypted") from None
        with self.db.write() as session:
            counted = session.execute(
                update(Link)
                .where(
                    Link.id == info.id,
                    or_(Link.redirect_limit.is_(None), Link.access_count < Link.redirect_limit),
                )
                .values(access_count=Link.access_count + 1)
            ).rowcount  # type: ignore[attr-defined]
        if not counted:
            raise Gone("this link has reached its access limit")
        return info, Revealed(info.type, secret)


def _to_info(row: Any) -> LinkInfo:
    return LinkInfo(*row)


def _check_open(info: LinkInfo, now: float) -> None:
    state = info.state(now)
    if state == "not_started":
        raise Forbidden("this link is not open yet")
    if state == "expired":
        raise Gone("this link has expired")
    if state == "used_up":
        raise Gone("this link has reached its access limit")


def _random_slug() -> str:
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH))


def _encode_cursor(created_at: float, link_id: str) -> str:
    raw = f"{created_at!r}|{link_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, link_id = raw.split("|", 1)
        moment = float(created_at)
        if not math.isfinite(moment):
            raise ValueError
        return moment, link_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API returned") from None
