"""Storage quota: reservations taken while bytes stream, settled when a write commits;
and the limit on how many entries (files and folders) an account holds.

The invariants, kept by conditional ``UPDATE``s in the database (so every process
sharing it agrees): ``used_bytes + reserved_bytes <= quota_bytes`` and ``entry_count
<= the entry limit`` for every account. A write reserves or charges before it stores
(the entries in the transaction that adds them); concurrent writers racing for the
last bytes or entries of an account can never push it over.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.db import Database, HasConnection, InTransaction
from gateway.errors import NotFound, QuotaExceeded, RateLimited
from gateway.models import Account, Reservation

QUOTA_MESSAGE = "storage quota exceeded: delete files or ask for a larger quota"
RESERVE_STEP_MAX = 64 * 1024 * 1024
"""The most a streaming write reserves in one step (:meth:`Reservations.grow_stepwise`)."""


def charge(session: HasConnection, account_id: int, nbytes: int) -> None:
    """Add ``nbytes`` to the account's used bytes if they fit, else raise QuotaExceeded."""
    if nbytes <= 0:
        if nbytes < 0:
            credit(session, account_id, -nbytes)
        return
    ran = _CHARGE_BYTES.run(session.connection(), {"a_id": account_id, "n": nbytes})
    if ran.changed != 1:
        raise QuotaExceeded(QUOTA_MESSAGE)


def credit(session: HasConnection, account_id: int, nbytes: int) -> None:
    """Give ``nbytes`` back to the account (a delete, or a smaller replacement)."""
    _CREDIT_BYTES.run(session.connection(), {"a_id": account_id, "n": nbytes})


# Run on the transaction's DBAPI connection (:class:`InTransaction`): every write
# charges, and SQLAlchemy's execution of an UPDATE costs several times SQLite's.
_CHARGE_BYTES = InTransaction(
    update(Account)
    .where(
        Account.id == bindparam("a_id"),
        Account.used_bytes + Account.reserved_bytes + bindparam("n") <= Account.quota_bytes,
    )
    .values(used_bytes=Account.used_bytes + bindparam("n"))
)
_CREDIT_BYTES = InTransaction(
    update(Account)
    .where(Account.id == bindparam("a_id"))
    .values(used_bytes=Account.used_bytes - bindparam("n"))
)


_CHARGE_ENTRIES = InTransaction(
    update(Account)
    .where(
        Account.id == bindparam("a_id"),
        Account.entry_count + bindparam("n")
        <= case((Account.is_guest, bindparam("guest_limit")), else_=bindparam("limit")),
    )
    .values(entry_count=Account.entry_count + bindparam("n"))
)
_CREDIT_ENTRIES = InTransaction(
    update(Account)
    .where(Account.id == bindparam("a_id"))
    .values(entry_count=Account.entry_count - bindparam("n"))
)


@dataclass(frozen=True)
class EntryLimits:
    """How many entries (files and folders; not the root folder) an account may hold:
    ``per_account``, and ``guest`` for the one account that holds every guest upload.

    Every statement that adds or removes nodes MUST charge or credit their number in
    its transaction, so that ``entry_count`` stays the account's number of nodes
    (plus entries charged for a copy still being built)."""

    per_account: int
    guest: int

    def charge(self, session: HasConnection, account_id: int, count: int = 1) -> None:
        """Add ``count`` entries if they fit under the limit, else raise QuotaExceeded."""
        if count <= 0:
            if count < 0:
                self.credit(session, account_id, -count)
            return
        ran = _CHARGE_ENTRIES.run(
            session.connection(),
            {"a_id": account_id, "n": count, "limit": self.per_account, "guest_limit": self.guest},
        )
        if ran.changed != 1:
            raise self._refusal(session, account_id)

    def credit(self, session: HasConnection, account_id: int, count: int = 1) -> None:
        """Give ``count`` entries back (a delete)."""
        if count:
            _CREDIT_ENTRIES.run(session.connection(), {"a_id": account_id, "n": count})

    def require_room(self, session: Session, account_id: int, count: int = 1) -> None:
        """Raise QuotaExceeded now if ``count`` more entries would not fit: a check
        before a long write, which still charges when it commits."""
        row = session.execute(
            select(Account.entry_count, Account.is_guest).where(Account.id == account_id)
        ).one_or_none()
        if row is None:
            raise NotFound("no such account")
        if not self.fits(row.entry_count, row.is_guest, count):
            raise QuotaExceeded(self.message(row.is_guest))

    def fits(self, entry_count: int, is_guest: bool, count: int = 1) -> bool:
        return entry_count + count <= (self.guest if is_guest else self.per_account)

    def message(self, is_guest: bool) -> str:
        if is_guest:
            return f"guest uploads are full: they hold at most {self.guest:,} files; sign in"
        return (
            f"entry quota exceeded: an account holds at most {self.per_account:,} files and"
            " folders; delete some first"
        )

    def _refusal(self, session: HasConnection, account_id: int) -> Exception:
        is_guest = (
            session.connection()
            .execute(select(Account.is_guest).where(Account.id == account_id))
            .scalar()
        )
        if is_guest is None:
            return NotFound("no such account")
        return QuotaExceeded(self.message(is_guest))


# The statements of every write, built once (building one costs more than running it).
_HOLD = (
    update(Account)
    .where(
        Account.id == bindparam("a_id"),
        Account.used_bytes + Account.reserved_bytes + bindparam("n") <= Account.quota_bytes,
    )
    .values(reserved_bytes=Account.reserved_bytes + bindparam("n"))
)
_INSERT = insert(Reservation)
_TAKE = (
    delete(Reservation)
    .where(Reservation.id == bindparam("r_id"))
    .returning(Reservation.account_id, Reservation.bytes)
)
_UNHOLD = (
    update(Account)
    .where(Account.id == bindparam("a_id"))
    .values(reserved_bytes=Account.reserved_bytes - bindparam("held"))
)
_SETTLE = _UNHOLD.values(used_bytes=Account.used_bytes + bindparam("n"))
_SETTLE_IF_FITS = _SETTLE.where(
    Account.used_bytes + Account.reserved_bytes - bindparam("held") + bindparam("n")
    <= Account.quota_bytes
)


@dataclass(frozen=True)
class HolderCap:
    """What the writes in progress of one *holder* (a guest's client address) may
    hold at once: ``count`` reservations and ``bytes`` in all. Guests share one
    account, so without this one address could reserve all of its room."""

    count: int
    bytes: int
    retry_after: int = 60


def holder_key(holder: str) -> str:
    """The stored form of a holder (the address itself is not kept)."""
    return hashlib.sha256(holder.encode()).hexdigest()


_HELD_BY = select(func.count(), func.coalesce(func.sum(Reservation.bytes), 0)).where(
    Reservation.holder == bindparam("holder"),
    or_(Reservation.expires_at.is_(None), Reservation.expires_at > bindparam("now")),
)


class Reservations:
    """Creates, grows, settles and releases reservations for one server instance."""

    def __init__(
        self, db: Database, instance_id: str, clock: Clock, *, holder_cap: HolderCap | None = None
    ) -> None:
        self.db = db
        self.instance_id = instance_id
        self.clock = clock
        self.holder_cap = holder_cap

    def open(
        self,
        account_id: int,
        region: str,
        blob_key: str,
        nbytes: int = 0,
        *,
        expires_at: float | None = None,
        session: HasConnection | None = None,
        holder: str | None = None,
    ) -> str:
        """Record a write about to start and reserve ``nbytes`` for it.

        The record names the blob key, so a crash at any later point can be cleaned
        up. Without ``expires_at`` the reservation lives as long as this server
        instance; with it, until that time whatever happens to the instance (a
        resumable upload). Raises QuotaExceeded (recording nothing) if ``nbytes`` do
        not fit. Pass ``session`` (an ORM session or a write job's
        :class:`~gateway.groupcommit.Writing`) to join a transaction of the caller's.
        A ``holder``'s writes together stay within the :class:`HolderCap` (429 past
        it)."""
        if session is not None:
            return self._open_in(session, account_id, region, blob_key, nbytes, expires_at, holder)
        with self.db.write() as own:
            return self._open_in(own, account_id, region, blob_key, nbytes, expires_at, holder)

    def _open_in(
        self,
        session: HasConnection,
        account_id: int,
        region: str,
        blob_key: str,
        nbytes: int,
        expires_at: float | None,
        holder: str | None,
    ) -> str:
        reservation_id = secrets.token_hex(16)
        key = None if holder is None else holder_key(holder)
        if key is not None:
            self._check_holder(session, key, nbytes, opening=True)
        if nbytes:
            _hold(session, account_id, nbytes)
        session.connection().execute(
            _INSERT,
            {
                "id": reservation_id,
                "account_id": account_id,
                "instance_id": self.instance_id,
                "region": region,
                "blob_key": blob_key,
                "bytes": nbytes,
                "waiting": False,
                "created_at": self.clock(),
                "expires_at": expires_at,
                "holder": key,
            },
        )
        return reservation_id

    def _check_holder(
        self, session: HasConnection, key: str, nbytes: int, *, opening: bool
    ) -> None:
        """Inside the write's transaction, serialised per holder (SQLite has one
        writer; PostgreSQL takes a transaction-scoped advisory lock on the holder):
        refuse what would pass the holder's cap."""
        cap = self.holder_cap
        if cap is None:
            return
        connection = session.connection()
        if not self.db.is_sqlite:
            lock = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
            connection.execute(select(func.pg_advisory_xact_lock(lock)))
        count, held = connection.execute(_HELD_BY, {"holder": key, "now": self.clock()}).one()
        if opening and count >= cap.count:
            raise RateLimited(
                f"at most {cap.count} guest uploads may be open from one address; "
                "finish or cancel one, or sign in",
                retry_after=cap.retry_after,
            )
        if int(held) + nbytes > cap.bytes:
            raise RateLimited(
                f"guest uploads from one address may hold at most {cap.bytes} bytes at once; "
                "finish one first, or sign in",
                retry_after=cap.retry_after,
            )

    def grow(
        self, reservation_id: str, account_id: int, nbytes: int, *, holder: str | None = None
    ) -> None:
        """Reserve ``nbytes`` more, or raise QuotaExceeded leaving the reservation as is
        (RateLimited past a ``holder``'s cap)."""
        with self.db.write() as session:
            if holder is not None:
                self._check_holder(session, holder_key(holder), nbytes, opening=False)
            _hold(session, account_id, nbytes)
            result = session.connection().execute(
                update(Reservation)
                .where(Reservation.id == reservation_id)
                .values(bytes=Reservation.bytes + nbytes)
            )
            if result.rowcount != 1:
                raise NotFound("the upload's reservation is gone (reclaimed after a restart)")

    def grow_or_wait(
        self,
        reservation_id: str,
        account_id: int,
        nbytes: int,
        *,
        timeout: float = 60.0,
        holder: str | None = None,
    ) -> None:
        """Reserve ``nbytes`` more, waiting while other writes in progress hold the room.

        Raises QuotaExceeded at once when the account's *committed* bytes leave no
        room, and otherwise waits for the other writes to commit or abort. When every
        write of the account is waiting and none of the room is free, the youngest gives
        up (one at a time: freed room is tried before anyone else yields), so concurrent
        writers near a full quota never all fail, never give up room another could have
        used, and never wait on each other for ever."""
        try:
            self.grow(reservation_id, account_id, nbytes, holder=holder)
            return
        except QuotaExceeded:
            pass
        deadline = time.monotonic() + timeout
        delay = 0.005
        self._set_waiting(reservation_id, True)
        try:
            while True:
                if not self._worth_waiting(reservation_id, account_id, nbytes):
                    raise QuotaExceeded(QUOTA_MESSAGE)
                if time.monotonic() > deadline:
                    raise QuotaExceeded(QUOTA_MESSAGE)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.2)
                try:
                    self.grow(reservation_id, account_id, nbytes, holder=holder)
                    return
                except QuotaExceeded:
                    continue
        finally:
            self._set_waiting(reservation_id, False)

    def grow_stepwise(
        self,
        reservation_id: str,
        account_id: int,
        *,
        held: int,
        need: int,
        ceiling: int,
        holder: str | None = None,
    ) -> int:
        """Reserve at least ``need`` more for a streaming write whose reservation holds
        ``held``: as much again as it holds (up to :data:`RESERVE_STEP_MAX`, never past
        ``ceiling`` in all), so that a long write asks rarely; when that does not fit,
        exactly ``need``, waiting as :meth:`grow_or_wait` does. Returns what the
        reservation holds now."""
        want = min(max(need, min(held, RESERVE_STEP_MAX)), ceiling - held)
        try:
            self.grow(reservation_id, account_id, want, holder=holder)
            return held + want
        except QuotaExceeded:
            self.grow_or_wait(reservation_id, account_id, need, holder=holder)
            return held + need

    def _set_waiting(self, reservation_id: str, waiting: bool) -> None:
        with self.db.write() as session:
            session.connection().execute(
                update(Reservation).where(Reservation.id == reservation_id).values(waiting=waiting)
            )

    def _worth_waiting(self, reservation_id: str, account_id: int, nbytes: int) -> bool:
        with self.db.read() as session:
            account = (
                session.connection()
                .execute(
                    select(Account.used_bytes, Account.quota_bytes, Account.reserved_bytes).where(
                        Account.id == account_id
                    )
                )
                .one()
            )
            rows = (
                session.connection()
                .execute(
                    select(
                        Reservation.id,
                        Reservation.bytes,
                        Reservation.waiting,
                        Reservation.expires_at.is_not(None),
                    )
                    .where(Reservation.account_id == account_id)
                    .order_by(Reservation.created_at, Reservation.id)
                )
                .all()
            )
        mine = next((row for row in rows if row[0] == reservation_id), None)
        if mine is None:
            return False
        used, quota, reserved = account
        # An upload that lasts (a resumable session, a multipart upload) holds its
        # room for hours or days: as good as used, for a write deciding to wait.
        writes = [row for row in rows if row[0] == reservation_id or not row[3]]
        lasting = sum(row[1] for row in rows if row not in writes)
        if used + lasting + mine[1] + nbytes > quota:
            return False  # full even if every other write gave up
        others = [row for row in writes if row[0] != reservation_id]
        if not others or used + reserved + nbytes <= quota:
            return True  # room has appeared (or will, once the numbers settle): try again
        if all(row[2] for row in others) and writes[-1][0] == reservation_id:
            return False  # everyone waits: the youngest yields
        return True

    def settle(
        self, session: HasConnection, reservation_id: str, account_id: int, nbytes: int
    ) -> None:
        """Inside a commit transaction: drop the reservation, unhold its bytes and
        charge ``nbytes`` (negative for a smaller replacement) to ``account_id``, in
        one ``UPDATE``. Raises QuotaExceeded if a positive charge does not fit (it
        always fits when the write reserved what it stored)."""
        connection = session.connection()
        row = connection.execute(_TAKE, {"r_id": reservation_id}).one_or_none()
        if row is None:
            raise NotFound("the upload's reservation is gone (reclaimed after a restart)")
        owner, held = row
        if owner != account_id:
            connection.execute(_UNHOLD, {"a_id": owner, "held": held})
            held = 0
        result = connection.execute(
            _SETTLE_IF_FITS if nbytes > 0 else _SETTLE,
            {"a_id": account_id, "held": held, "n": nbytes},
        )
        if result.rowcount != 1:
            raise QuotaExceeded(QUOTA_MESSAGE)

    def transfer(self, session: HasConnection, source_id: str, target_id: str, nbytes: int) -> None:
        """Inside a transaction: drop the reservation ``source_id`` and add ``nbytes``
        of what it held to ``target_id`` of the same account, giving the rest back
        (a negative ``nbytes`` gives back bytes ``target_id`` held too). ``nbytes``
        MUST NOT be more than ``source_id`` holds. :class:`NotFound` if either is gone."""
        connection = session.connection()
        row = connection.execute(_TAKE, {"r_id": source_id}).one_or_none()
        if row is None:
            raise NotFound("the upload's reservation is gone (reclaimed after a restart)")
        owner, held = row
        result = connection.execute(
            update(Reservation)
            .where(Reservation.id == target_id, Reservation.account_id == owner)
            .values(bytes=Reservation.bytes + nbytes)
        )
        if result.rowcount != 1:
            raise NotFound("the upload's reservation is gone")
        connection.execute(_UNHOLD, {"a_id": owner, "held": held - nbytes})

    def release(self, reservation_id: str) -> None:
        """Give a reservation's bytes back (an aborted write). Idempotent."""
        with self.db.write() as session:
            release_in(session, reservation_id)


def release_in(session: Session, reservation_id: str) -> Reservation | None:
    reservation = session.get(Reservation, reservation_id)
    if reservation is None:
        return None
    session.connection().execute(
        update(Account)
        .where(Account.id == reservation.account_id)
        .values(reserved_bytes=Account.reserved_bytes - reservation.bytes)
    )
    session.connection().execute(delete(Reservation).where(Reservation.id == reservation_id))
    return reservation


def _hold(session: HasConnection, account_id: int, nbytes: int) -> None:
    connection = session.connection()
    result = connection.execute(_HOLD, {"a_id": account_id, "n": nbytes})
    if result.rowcount != 1:
        exists = connection.scalar(select(Account.id).where(Account.id == account_id))
        if exists is None:
            raise NotFound("no such account")
        raise QuotaExceeded(QUOTA_MESSAGE)
