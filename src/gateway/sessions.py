"""Resumable upload sessions (the storage seed's two-step upload).

A session is created with the file's name, declared size and type; its full size is
reserved against the quota at once (so an upload that starts always has room), with a
reservation that survives restarts until the session expires. Chunks are appended to a
pending blob; ``received`` in the database is the durable offset: bytes are fsynced
before it moves (every 256 MiB or 10 s while bytes flow, and when a request ends), so
after a dropped connection or a server restart the client asks for the offset and
continues from it. The last byte completes the upload: the blob is
committed and the file appears, exactly as a direct upload would.

Only one request writes to a session at a time (a lease in the database), so two
processes behind a load balancer cannot interleave chunks.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.blobstore import BlobWriter, new_key
from gateway.clock import Clock
from gateway.db import Database
from gateway.errors import BadRequest, Conflict, NotFound, TooLarge
from gateway.models import Reservation, UploadSession
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

CHECKPOINT_BYTES = 256 * 1024 * 1024
CHECKPOINT_SECONDS = 10.0
LEASE_SECONDS = 120.0
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
    def __init__(self) -> None:
        self.offset = 0
        self.md5 = hashlib.md5()
        self.sha1 = hashlib.sha1()

    def update(self, data: bytes) -> None:
        self.md5.update(data)
        self.sha1.update(data)
        self.offset += len(data)

    def copy(self) -> _Hashes:
        clone = _Hashes()
        clone.offset, clone.md5, clone.sha1 = self.offset, self.md5.copy(), self.sha1.copy()
        return clone


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
        writer = self.storage.store_for(region).open_writer(blob_key)
        writer.sync()
        writer.close()
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
            claimed = session.execute(
                update(UploadSession)
                .where(
                    UploadSession.id == info.id,
                    UploadSession.received == start,
                    UploadSession.busy_until < now,
                )
                .values(busy_until=now + LEASE_SECONDS)
            ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            raise Conflict("another request is writing to this upload; retry shortly")
        try:
            store = self.storage.store_for(info.region)
            hashes = self._hashes_at(info)
            writer = store.open_writer(info.blob_key, resume_at=info.received)
        except BaseException:
            self._release_lease(info.id)
            raise
        return Chunk(self, info, writer, hashes)

    def _hashes_at(self, info: SessionInfo) -> _Hashes:
        with self._lock:
            cached = self._hashes.get(info.id)
        if cached is not None and cached.offset == info.received:
            return cached.copy()
        hashes = _Hashes()
        store = self.storage.store_for(info.region)
        for block in store.read_pending(info.blob_key, info.received):
            hashes.update(block)
        if hashes.offset != info.received:
            raise NotFound("the upload's stored bytes are missing; start a new session")
        return hashes

    def _checkpoint(self, info: SessionInfo, received: int, hashes: _Hashes) -> None:
        with self.db.write() as session:
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
            self._hashes[info.id] = hashes.copy()

    def _release_lease(self, session_id: str) -> None:
        with self.db.write() as session:
            session.execute(
                update(UploadSession).where(UploadSession.id == session_id).values(busy_until=0.0)
            )

    def _complete(self, info: SessionInfo, hashes: _Hashes) -> Entry:
        def mark_complete(session: Session, node_id: int) -> None:
            session.execute(
                update(UploadSession)
                .where(UploadSession.id == info.id)
                .values(completed=True, received=info.size, busy_until=0.0)
            )

        entry, freed = self.storage.commit_blob(
            reservation_id=info.reservation_id,
            account_id=info.account_id,
            parts=[*split_path(info.folder), info.name],
            region=info.region,
            blob_key=info.blob_key,
            size=info.size,
            digests={"md5": hashes.md5.hexdigest(), "sha1": hashes.sha1.hexdigest()},
            content_type=info.content_type,
            mtime=None,
            on_conflict="rename",
            key_hash=info.key_hash,
            claim_hash=info.claim_hash,
            also=mark_complete,
            uid=info.file_uid,
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


class Chunk:
    """Bytes for one request to a session. Call :meth:`finish` (or :meth:`close` when
    the request ends early: what arrived is kept and counted)."""

    def __init__(
        self, sessions: UploadSessions, info: SessionInfo, writer: BlobWriter, hashes: _Hashes
    ) -> None:
        self._sessions = sessions
        self.info = info
        self._writer = writer
        self._hashes = hashes
        self._durable = info.received
        self._durable_at = time.monotonic()
        self._closed = False

    @property
    def received(self) -> int:
        return self._hashes.offset

    def write(self, data: bytes) -> None:
        if self._hashes.offset + len(data) > self.info.size:
            raise BadRequest(
                f"the upload would be longer than its declared size of {self.info.size} bytes"
            )
        self._writer.write(data)
        self._hashes.update(data)
        pending = self._hashes.offset - self._durable
        if pending >= CHECKPOINT_BYTES or (
            pending and time.monotonic() - self._durable_at >= CHECKPOINT_SECONDS
        ):
            self._checkpoint()

    def _checkpoint(self) -> None:
        if self._hashes.offset == self._durable:
            return
        self._writer.sync()
        self._sessions._checkpoint(self.info, self._hashes.offset, self._hashes)
        self._durable = self._hashes.offset
        self._durable_at = time.monotonic()

    def close(self) -> int:
        """Keep what arrived (durably), end this request's turn; the durable offset."""
        if not self._closed:
            self._closed = True
            try:
                self._checkpoint()
            finally:
                self._writer.close()
                self._sessions._release_lease(self.info.id)
        return self._durable

    def finish(self) -> Entry | None:
        """End the request: the stored file if the upload is now complete, else None."""
        if self._hashes.offset < self.info.size:
            self.close()
            return None
        self._closed = True
        self._writer.commit()
        return self._sessions._complete(self.info, self._hashes)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
