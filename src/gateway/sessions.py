"""Resumable upload sessions (the storage seed's two-step upload).

A session is created with the file's name, declared size and type; its full size is
reserved against the quota at once (so an upload that starts always has room), with a
reservation that survives restarts until the session expires.

Its bytes are the parts of a multipart upload of the region's store, recorded in the
database (``upload_parts``: offset, size, MD5) as each is stored, and ``received`` is
the durable offset. A request's bytes become a part when the request ends, and every
:attr:`ObjectStore.part_size` bytes while they flow; bytes too few to be a part (fewer
than :data:`SMALLEST_PART`, which grows with the parts so that no upload runs out of
part numbers) wait in the upload's *tail* object and lead the next part. So after a
dropped connection, a restart, or on another node, the client asks for the offset and
continues from it. The last byte completes the upload: the parts are assembled into
the blob and the file appears, exactly as a direct upload would (should that commit
fail, say the account has no entry left, any later request to the session tries
again). Whole-file MD5, SHA-1 and the CRC64NVME every file keeps
(:mod:`gateway.filechecksum`) are computed as the bytes pass; when an upload
continues where the running hashes are not known (another node, a restart), they are
computed from the assembled object instead.

Only one request writes to a session at a time (a lease in the database), so two
processes behind a load balancer cannot interleave chunks.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.blobkeys import new_key, object_key, tail_key
from gateway.clock import Clock
from gateway.commit import commit_blob
from gateway.db import Database
from gateway.errors import BadRequest, Conflict, NotFound, TooLarge
from gateway.feed import Feed, digests
from gateway.filechecksum import extend, with_checksum
from gateway.models import Reservation, UploadPart, UploadSession
from gateway.objectstore import MAX_PART_NUMBER, ObjectStore, Part
from gateway.quota import Reservations
from gateway.secret import same_secret
from gateway.storage import (
    Entry,
    Storage,
    check_new_name,
    new_uid,
    split_path,
    too_large_message,
)
from gateway.strays import release_write

SMALLEST_PART = 5 * 1024 * 1024
"""A request's last bytes, when fewer, wait in the tail (see ``Chunk._smallest_part``)."""
LEASE_SECONDS = 120.0
RENEW_SECONDS = 30.0
"""A request still writing renews its lease this often."""
IDLE_SECONDS = 3600.0
"""How long a guest's session lives before its first bytes arrive."""


@dataclass(frozen=True)
class SessionInfo:
    id: str
    account_id: int
    folder: str
    name: str
    size: int
    content_type: str
    region: str
    received: int
    expires_at: float
    file_uid: str
    completed: bool
    reservation_id: str
    blob_key: str
    key_hash: str | None
    claim_hash: str | None


def _info(row: UploadSession) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        account_id=row.account_id,
        folder=row.folder,
        name=row.name,
        size=row.size,
        content_type=row.content_type,
        region=row.region,
        received=row.received,
        expires_at=row.expires_at,
        file_uid=row.file_uid,
        completed=row.completed,
        reservation_id=row.reservation_id,
        blob_key=row.blob_key,
        key_hash=row.key_hash,
        claim_hash=row.claim_hash,
    )


class _Hashes:
    """The running MD5, SHA-1 and CRC64NVME of a session's bytes up to ``offset``."""

    def __init__(self) -> None:
        self.offset = 0
        self.md5 = hashlib.md5()
        self.sha1 = hashlib.sha1()
        self.crc = 0

    def update(self, data: bytes) -> None:
        self.md5.update(data)
        self.sha1.update(data)
        self.crc = extend(self.crc, data)
        self.offset += len(data)

    def update_md5(self, data: bytes) -> None:
        """MD5 and the CRC only (and the offset): SHA-1 of these bytes is computed
        elsewhere."""
        self.md5.update(data)
        self.crc = extend(self.crc, data)
        self.offset += len(data)

    def copy(self) -> _Hashes:
        clone = _Hashes()
        clone.offset, clone.md5, clone.sha1 = self.offset, self.md5.copy(), self.sha1.copy()
        clone.crc = self.crc
        return clone

    def digests(self) -> dict[str, str]:
        return {"md5": self.md5.hexdigest(), "sha1": self.sha1.hexdigest()}


class UploadSessions:
    def __init__(
        self,
        db: Database,
        storage: Storage,
        reservations: Reservations,
        clock: Clock,
        *,
        ttl_seconds: float,
    ) -> None:
        self.db = db
        self.storage = storage
        self.reservations = reservations
        self.clock = clock
        self.ttl = ttl_seconds
        self._hashes: dict[str, _Hashes] = {}
        self._lock = threading.Lock()

    def create(
        self,
        account_id: int,
        *,
        name: object,
        size: object,
        content_type: object,
        max_size: int,
        region: str,
        folder: str,
        key_hash: str | None = None,
        claim_hash: str | None = None,
        holder: str | None = None,
    ) -> tuple[SessionInfo, str]:
        """Open a session and reserve ``size`` bytes. Returns it and the upload secret
        (shown once). 413 if ``size`` is over ``max_size``; 403 if it does not fit.

        A ``holder`` (a guest's client address) has its open sessions capped (see
        :class:`gateway.quota.HolderCap`), and its session expires after
        :data:`IDLE_SECONDS` unless bytes arrive, which extend it to the full time."""
        if not isinstance(name, str):
            raise BadRequest("name must be a string")
        split_path(f"{folder}/{check_new_name(name)}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequest("size must be the file's size in bytes, a whole number >= 0")
        if not isinstance(content_type, str) or len(content_type) > 255:
            raise BadRequest("type must be a media type string such as application/pdf")
        if size > max_size:
            raise TooLarge(too_large_message(max_size))
        self.storage.store_for(region)
        secret = "us_" + secrets.token_urlsafe(32)
        session_id = secrets.token_hex(16)
        blob_key = new_key()
        now = self.clock()
        expires_at = now + (self.ttl if holder is None else min(self.ttl, IDLE_SECONDS))
        with self.db.write() as session:
            self.storage.ensure_folder(session, account_id, folder)
            # The file's entry is charged when the upload completes; a full account
            # is refused now, before any byte is sent.
            self.storage.entries.require_room(session, account_id)
            reservation_id = self.reservations.open(
                account_id,
                region,
                blob_key,
                size,
                expires_at=expires_at,
                session=session,
                holder=holder,
            )
            row = UploadSession(
                id=session_id,
                token_hash=_hash(secret),
                account_id=account_id,
                folder=folder,
                name=name,
                size=size,
                content_type=content_type or "application/octet-stream",
                region=region,
                blob_key=blob_key,
                reservation_id=reservation_id,
                received=0,
                key_hash=key_hash,
                claim_hash=claim_hash,
                busy_until=0.0,
                file_uid=new_uid(),
                completed=False,
                created_at=now,
                expires_at=expires_at,
            )
            session.add(row)
        return _info(row), secret

    def get(self, session_id: str, secret: str) -> SessionInfo:
        """The session if ``secret`` is its upload secret; 404 otherwise (expired,
        unknown, or a wrong secret all look the same)."""
        with self.db.read() as session:
            row = session.get(UploadSession, session_id)
        if (
            row is None
            or not same_secret(_hash(secret), row.token_hash)
            or (not row.completed and row.expires_at < self.clock())
        ):
            raise NotFound("no such upload session (it may have expired)")
        return _info(row)

    def get_owned(self, session_id: str, account_id: int) -> SessionInfo:
        """The session if ``account_id`` opened it (its owner needs no upload secret);
        404 otherwise, as :meth:`get`."""
        with self.db.read() as session:
            row = session.get(UploadSession, session_id)
        if (
            row is None
            or row.account_id != account_id
            or (not row.completed and row.expires_at < self.clock())
        ):
            raise NotFound("no such upload session (it may have expired)")
        return _info(row)

    def unfinished(self, account_id: int, *, limit: int = 100) -> list[SessionInfo]:
        """The account's sessions still waiting for bytes, oldest first: what a client
        that lost its upload URLs (a reloaded page) may resume."""
        with self.db.read() as session:
            rows = session.scalars(
                select(UploadSession)
                .where(
                    UploadSession.account_id == account_id,
                    UploadSession.completed.is_(False),
                    UploadSession.expires_at >= self.clock(),
                )
                .order_by(UploadSession.created_at, UploadSession.id)
                .limit(limit)
            ).all()
        return [_info(row) for row in rows]

    def begin(self, info: SessionInfo, start: int) -> Chunk:
        """Start writing at ``start``, which must be the durable offset."""
        if info.completed:
            raise Conflict("this upload is already complete")
        if start != info.received:
            raise Conflict(
                f"this chunk starts at byte {start} but {info.received} bytes are stored; "
                f"resume from byte {info.received}"
            )
        now = self.clock()
        with self.db.write() as session:
            claimed = _claim(session, info.id, now, UploadSession.received == start)
            multipart_id = session.scalar(
                select(Reservation.multipart_id).where(Reservation.id == info.reservation_id)
            )
            parts = [
                Part(row.number, row.size, row.etag)
                for row in session.scalars(
                    select(UploadPart)
                    .where(UploadPart.reservation_id == info.reservation_id)
                    .order_by(UploadPart.number)
                )
            ]
        if not claimed:
            raise Conflict("another request is writing to this upload; retry shortly")
        try:
            store = self.storage.store_for(info.region)
            stored = _Stored(multipart_id, parts, info.received - sum(p.size for p in parts))
            return Chunk(self, info, store, stored, self._hashes_at(info))
        except BaseException:
            self._release_lease(info.id)
            raise

    def _hashes_at(self, info: SessionInfo) -> _Hashes | None:
        """The running hashes at the durable offset, when this process has them."""
        if info.received == 0:
            return _Hashes()
        with self._lock:
            cached = self._hashes.get(info.id)
        if cached is not None and cached.offset == info.received:
            return cached.copy()
        return None

    def _multipart(self, info: SessionInfo, store: ObjectStore) -> str:
        """Start the session's multipart upload (at its first part) and record it."""
        multipart_id = store.create_multipart(object_key(info.blob_key))
        with self.db.write() as session:
            session.execute(
                update(Reservation)
                .where(Reservation.id == info.reservation_id)
                .values(multipart_id=multipart_id)
            )
        return multipart_id

    def _record(
        self,
        info: SessionInfo,
        received: int,
        hashes: _Hashes | None,
        part: Part | None = None,
        offset: int = 0,
    ) -> None:
        """Make ``received`` the durable offset (with ``part``, just stored at ``offset``)."""
        with self.db.write() as session:
            if part is not None:
                session.add(
                    UploadPart(
                        reservation_id=info.reservation_id,
                        number=part.number,
                        offset=offset,
                        size=part.size,
                        etag=part.etag,
                    )
                )
            values: dict[str, object] = {
                "received": received,
                "busy_until": self.clock() + LEASE_SECONDS,
            }
            if info.received == 0:
                # The first bytes: a session that was idle-limited gets its full time.
                created = session.scalar(
                    select(UploadSession.created_at).where(UploadSession.id == info.id)
                )
                if created is not None:
                    values["expires_at"] = created + self.ttl
                    session.execute(
                        update(Reservation)
                        .where(Reservation.id == info.reservation_id)
                        .values(expires_at=created + self.ttl)
                    )
            session.execute(update(UploadSession).where(UploadSession.id == info.id).values(values))
        with self._lock:
            if hashes is None:
                self._hashes.pop(info.id, None)
            else:
                self._hashes[info.id] = hashes.copy()

    def _renew(self, session_id: str) -> None:
        with self.db.write() as session:
            session.execute(
                update(UploadSession)
                .where(UploadSession.id == session_id)
                .values(busy_until=self.clock() + LEASE_SECONDS)
            )

    def _release_lease(self, session_id: str) -> None:
        with self.db.write() as session:
            session.execute(
                update(UploadSession).where(UploadSession.id == session_id).values(busy_until=0.0)
            )

    def _complete(self, info: SessionInfo, digests: dict[str, str], crc: int) -> Entry:
        def mark_complete(session: Session, node_id: int) -> None:
            session.execute(
                update(UploadSession)
                .where(UploadSession.id == info.id)
                .values(completed=True, received=info.size, busy_until=0.0)
            )

        # The folder was made with the session; should it have gone since, it is
        # made again rather than the upload lost.
        self.storage.mkdir(info.account_id, info.folder, parents=True, exist_ok=True)
        entry, freed = commit_blob(
            self.storage,
            reservation_id=info.reservation_id,
            account_id=info.account_id,
            parts=[*split_path(info.folder), info.name],
            region=info.region,
            blob_key=info.blob_key,
            size=info.size,
            digests=digests,
            content_type=info.content_type,
            mtime=None,
            on_conflict="rename",
            key_hash=info.key_hash,
            claim_hash=info.claim_hash,
            also=mark_complete,
            uid=info.file_uid,
            meta=with_checksum(None, crc),
        )
        with self._lock:
            self._hashes.pop(info.id, None)
        self.storage.drop_blobs(freed)
        return entry

    def completed_file(self, info: SessionInfo) -> Entry:
        """The file a completed session made."""
        if not info.completed:
            raise Conflict("this upload is not complete")
        return self.storage.get(info.file_uid)

    def cancel(self, info: SessionInfo) -> None:
        """Give up an unfinished session: the bytes it stored and the quota it reserved
        are freed at once, and its upload URL answers 404 from then on. 409 for a
        completed session (delete the file instead), or while a request writes to it.

        The session and its reservation are first marked expired, in one
        transaction, so that should this process die before freeing them, the next
        recovery pass of any process does."""
        if info.completed:
            raise Conflict("this upload is complete: delete the file instead")
        now = self.clock()
        with self.db.write() as session:
            claimed = _claim(
                session, info.id, now, UploadSession.completed.is_(False), expires_at=now - 1
            )
            if claimed:
                session.execute(
                    update(Reservation)
                    .where(Reservation.id == info.reservation_id)
                    .values(expires_at=now - 1)
                )
        if not claimed:
            raise Conflict("a request is writing to this upload (or it is complete); retry shortly")
        with self._lock:
            self._hashes.pop(info.id, None)
        release_write(self.db, self.storage.stores, info.reservation_id)

    def expire(self) -> int:
        """Forget sessions past their expiry. Their quota and pending bytes are given
        back by :class:`gateway.recovery.Recovery`, which releases every expired
        reservation (a session's lives until the session expires)."""
        with self.db.write() as session:
            ids = list(
                session.scalars(
                    select(UploadSession.id).where(UploadSession.expires_at < self.clock())
                )
            )
            if ids:
                session.execute(delete(UploadSession).where(UploadSession.id.in_(ids)))
        with self._lock:
            for session_id in ids:
                self._hashes.pop(session_id, None)
        return len(ids)


@dataclass
class _Stored:
    """What a session holds in its store: its multipart upload (once it has a part),
    the parts so far, and how many bytes wait in its tail object."""

    multipart_id: str | None
    parts: list[Part]
    tail: int


class Chunk:
    """Bytes for one request to a session. Call :meth:`finish` (or :meth:`close` when
    the request ends early: what arrived is kept and counted).

    Bytes are held in memory until there are enough for a part (the tail's included),
    then streamed into the store as part of the session's multipart upload; a part ends
    at :attr:`ObjectStore.part_size` bytes and when the request ends. What is left when
    it ends, too little for a part, becomes the new tail."""

    def __init__(
        self,
        sessions: UploadSessions,
        info: SessionInfo,
        store: ObjectStore,
        stored: _Stored,
        hashes: _Hashes | None,
    ) -> None:
        self._sessions = sessions
        self.info = info
        self._store = store
        self._stored = stored
        self._hashes = hashes
        self._durable = info.received
        self._received = info.received
        self._held: list[bytes] = []
        self._held_size = 0
        self._feed: Feed[Part] | None = None
        self._part_size = 0
        self._renewed = time.monotonic()
        self._closed = False

    @property
    def received(self) -> int:
        """The bytes stored durably so far (once the request has ended, all it sent)."""
        return self._durable

    def write(self, data: bytes) -> None:
        if self._closed:
            raise Conflict("this request's bytes are already counted")
        if self._received + len(data) > self.info.size:
            raise BadRequest(
                f"the upload would be longer than its declared size of {self.info.size} bytes"
            )
        self._received += len(data)
        view = memoryview(data)
        while view:
            view = self._take(view)
        if time.monotonic() - self._renewed >= RENEW_SECONDS:
            self._sessions._renew(self.info.id)
            self._renewed = time.monotonic()

    def _take(self, view: memoryview) -> memoryview:
        """Store what fits in the current part of ``view``; return the rest."""
        if self._feed is None:
            need = self._smallest_part() - self._stored.tail - self._held_size
            held = bytes(view[: max(need, 1)])
            self._held.append(held)
            self._held_size += len(held)
            if self._hashes is not None:
                self._hashes.update(held)
            if len(held) >= need:
                self._start_part()
            return view[len(held) :]
        # Parts grow by one part_size every thousand, so 10,000 hold 55,000 of them.
        limit = self._store.part_size * (1 + len(self._stored.parts) // 1000)
        fed = bytes(view[: limit - self._part_size])
        if self._hashes is not None:
            self._hashes.update_md5(fed)  # SHA-1 on the feed's thread, beside it
        self._feed.write(fed)
        self._part_size += len(fed)
        if self._part_size >= limit:
            self._end_part()
        return view[len(fed) :]

    def _smallest_part(self) -> int:
        """Fewer bytes than this wait in the tail rather than make a part: at least
        :data:`SMALLEST_PART` (and the store's minimum), one more of it every thousand
        parts, so that 10,000 parts hold at least 55,000 of it (268 GiB) whatever the
        client's chunks."""
        floor = max(SMALLEST_PART, self._store.min_part_size)
        return floor * (1 + len(self._stored.parts) // 1000)

    def _pending(self) -> Iterator[bytes]:
        """The tail's bytes, then the held ones (emptying the hold)."""
        held, self._held, self._held_size = self._held, [], 0
        if self._stored.tail:
            key = tail_key(self.info.blob_key)
            yield from self._store.open_reader(key, 0, self._stored.tail)
        yield from held

    def _start_part(self) -> None:
        stored = self._stored
        if stored.multipart_id is None:
            stored.multipart_id = self._sessions._multipart(self.info, self._store)
        number = len(stored.parts) + 1
        if number > MAX_PART_NUMBER:
            raise TooLarge(f"a resumable upload holds at most {MAX_PART_NUMBER} parts")
        key, multipart_id, store = object_key(self.info.blob_key), stored.multipart_id, self._store
        self._part_size = stored.tail + self._held_size
        self._feed = Feed(
            lambda blocks: store.put_part(key, multipart_id, number, blocks),
            prefix=self._pending(),
            tap=None if self._hashes is None else self._hashes.sha1.update,
            name="lockr-session",
        )

    def _end_part(self) -> None:
        feed, self._feed = self._feed, None
        assert feed is not None
        part = feed.finish()
        stored = self._stored
        offset = self._durable - stored.tail
        stored.parts.append(part)
        stored.tail = 0
        self._durable = offset + part.size
        self._sessions._record(self.info, self._durable, self._hashes_at_durable(), part, offset)

    def _hashes_at_durable(self) -> _Hashes | None:
        hashes = self._hashes
        return hashes if hashes is not None and hashes.offset == self._durable else None

    def _keep_tail(self) -> None:
        """Store what is held (after the old tail) as the new tail and count it."""
        if not self._held_size:
            return
        held = self._held_size
        self._store.put(tail_key(self.info.blob_key), self._pending())
        self._stored.tail += held
        self._durable += held
        self._sessions._record(self.info, self._durable, self._hashes_at_durable())

    def close(self) -> int:
        """Keep what arrived (durably), end this request's turn; the durable offset."""
        if not self._closed:
            self._closed = True
            try:
                if self._feed is not None:
                    self._end_part()
                self._keep_tail()
            finally:
                if self._feed is not None:
                    self._feed.abort()
                self._sessions._release_lease(self.info.id)
        return self._durable

    def finish(self) -> Entry | None:
        """End the request: the stored file if the upload is now complete, else None."""
        if self._received < self.info.size:
            self.close()
            return None
        self._closed = True
        try:
            key = object_key(self.info.blob_key)
            if not (self.info.received == self.info.size and self._store.exists(key)):
                self._assemble()  # else assembled by a request whose commit failed
            digests, crc = self._digests()
            entry = self._sessions._complete(self.info, digests, crc)
        except BaseException:
            # The bytes stay: a later request to the session finishes it.
            self._sessions._release_lease(self.info.id)
            raise
        self._store.delete(tail_key(self.info.blob_key))
        return entry

    def _assemble(self) -> None:
        """Store the last bytes and make the object of all of them."""
        stored, key = self._stored, object_key(self.info.blob_key)
        if self._feed is None and not stored.parts:
            # Few bytes in all: one object, no multipart upload needed.
            self._store.put(key, self._pending())
            if stored.multipart_id is not None:
                self._store.abort_multipart(key, stored.multipart_id)
            return
        if self._feed is None and (self._held_size or stored.tail):
            self._start_part()
        if self._feed is not None:
            self._end_part()
        assert stored.multipart_id is not None
        self._store.complete_multipart(key, stored.multipart_id, stored.parts)

    def _digests(self) -> tuple[dict[str, str], int]:
        """The whole file's MD5 and SHA-1, and its CRC64NVME."""
        hashes = self._hashes
        if hashes is not None:
            return hashes.digests(), hashes.crc
        # Continued where the running hashes were not known: read the object back.
        crc = 0

        def blocks() -> Iterator[bytes]:
            nonlocal crc
            for block in self._store.open_reader(object_key(self.info.blob_key)):
                crc = extend(crc, block)
                yield block

        return digests(blocks()), crc


def _claim(session: Session, session_id: str, now: float, *condition: Any, **values: Any) -> bool:
    """Take the lease of the upload session ``session_id`` (setting ``values`` too)
    where no request holds it and ``condition`` holds; whether it was taken."""
    claimed = session.execute(
        update(UploadSession)
        .where(UploadSession.id == session_id, UploadSession.busy_until < now, *condition)
        .values(busy_until=now + LEASE_SECONDS, **values)
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
