"""Freeing bytes that nothing records any more, in the regions' object stores.

Three kinds: what an interrupted write left (its object if it was stored but never
committed, its multipart upload and parts, a resumable upload's tail), blobs that no
file references, and multipart uploads that no write records (a node killed in the
middle of a :meth:`ObjectStore.put`, or of a small write between its
:meth:`ObjectStore.put_pending` and its commit: that one's object goes too unless a
file refers to it). Bytes go first and rows after, so a crash in
between leaves rows that the next pass finishes, never bytes that nothing names.
"""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, delete, select

from gateway.blobkeys import blob_key_of, object_key, tail_key
from gateway.db import Database, InTransaction
from gateway.errors import LockrError
from gateway.groupcommit import Writing
from gateway.models import Blob, Reservation, UploadSession
from gateway.objectstore import ObjectStore
from gateway.quota import release_in

log = logging.getLogger("lockr.recovery")

DROP_BATCH = 500

PENDING_GRACE = 600.0
"""Seconds an unfinished upload that no write records is left alone after a sweep
first finds it: a small write records itself only in the store
(:meth:`ObjectStore.put_pending`) and gives up rather than commit after half this."""

Sighting = tuple[str, str, str]
"""An unfinished upload as a sweep finds it: region, key, upload id."""


def discard_write(
    store: ObjectStore, blob_key: str, multipart_id: str | None, *, committed: bool
) -> None:
    """Free what a write of ``blob_key`` left in ``store``: its multipart upload (and
    those of a :meth:`ObjectStore.put` of it or of its tail cut short), its tail and,
    unless a file refers to the blob (``committed``), its object."""
    if multipart_id is not None:
        store.abort_multipart(object_key(blob_key), multipart_id)
    for key, upload_id in store.list_multipart(object_key(blob_key)):
        store.abort_multipart(key, upload_id)
    store.delete(tail_key(blob_key))
    if not committed:
        store.delete(object_key(blob_key))


def release_write(db: Database, stores: dict[str, ObjectStore], reservation_id: str) -> int | None:
    """Give up the write a reservation holds room for: its bytes leave the quota, the
    resumable session it belongs to (if any) is forgotten, and what it left in its
    store is freed (:func:`discard_write`). Returns the bytes released, or ``None``
    when the reservation was already gone (another process released it)."""
    with db.write() as session:
        released = release_in(session, reservation_id)
        session.execute(delete(UploadSession).where(UploadSession.reservation_id == reservation_id))
        referenced = (
            None
            if released is None
            else session.execute(_BLOB_BY_KEY, {"key": released.blob_key}).first()
        )
    if released is None:
        return None
    store = stores.get(released.region)
    if store is not None:
        discard_write(
            store, released.blob_key, released.multipart_id, committed=referenced is not None
        )
    return released.bytes


def drop_unreferenced(db: Database, stores: dict[str, ObjectStore], blob_ids: list[int]) -> int:
    """Free those of ``blob_ids`` that nothing references any more: the bytes first,
    then the rows (a few hundred per transaction), so a crash in between leaves rows
    the next collection finishes. Returns how many were freed.

    A replaced file frees one blob: its rows are read and deleted by id on the
    connection (SQLAlchemy's execution of each would cost more than SQLite's), and
    the delete is a write job, which shares a commit with concurrent writes."""
    freed = 0
    for start in range(0, len(blob_ids), DROP_BATCH):
        with db.lookup() as connection:
            rows = [
                (blob_id, *found)
                for blob_id in blob_ids[start : start + DROP_BATCH]
                if (found := _UNREFERENCED.run(connection, {"blob": blob_id}).first())
            ]
        if not rows:
            continue
        for _blob_id, region, key in rows:
            store = stores.get(region)
            if store is not None:
                store.delete(object_key(key))

        def forget(writing: Writing, rows: list[tuple[int, str, str]] = rows) -> None:
            for blob_id, _region, _key in rows:
                _FORGET.run(writing.connection(), {"blob": blob_id})

        db.write_job(forget)
        freed += len(rows)
    return freed


def sweep_uploads(
    db: Database,
    stores: dict[str, ObjectStore],
    first_seen: dict[Sighting, float] | None = None,
    now: float = 0.0,
) -> int:
    """Abort the multipart uploads of every region that no write in progress records
    (neither by its blob nor by its multipart id), and free the object of one whose
    blob no file refers to (a small write's record, :meth:`ObjectStore.put_pending`).
    A large write records itself before its first byte reaches the store; a small one
    only in the store, so with ``first_seen`` (the sightings of earlier sweeps, kept
    by the caller and updated here) an unrecorded upload is left alone until
    :data:`PENDING_GRACE` seconds after ``now`` first saw it; without, it goes at once
    (nothing else may be writing). Keys lockr does not name are left alone (but
    ``""``: a local put cut short before its key was written). Returns how many were
    aborted."""
    aborted = 0
    sightings: set[Sighting] = set()
    for region, store in stores.items():
        try:
            uploads = store.list_multipart()
        except LockrError as exc:
            log.warning("could not list the unfinished uploads of region %s: %s", region, exc)
            continue
        if not uploads:
            continue
        with db.read() as session:
            rows = session.execute(
                select(Reservation.blob_key, Reservation.multipart_id).where(
                    Reservation.region == region
                )
            ).all()
        blobs = {row[0] for row in rows}
        multipart_ids = {row[1] for row in rows if row[1] is not None}
        for key, upload_id in uploads:
            blob_key = blob_key_of(key)
            if blob_key is None and key != "":
                continue  # not a name lockr gives: another program's upload
            if upload_id in multipart_ids or blob_key in blobs:
                continue
            if first_seen is not None:
                sighting = (region, key, upload_id)
                if now - first_seen.setdefault(sighting, now) < PENDING_GRACE:
                    sightings.add(sighting)
                    continue
            if _stored_unreferenced(db, key, blob_key):
                store.delete(key)
            store.abort_multipart(key, upload_id)
            aborted += 1
    if first_seen is not None:
        for gone in set(first_seen) - sightings:
            del first_seen[gone]
    if aborted:
        log.info("aborted %d unfinished uploads that no write records", aborted)
    return aborted


def _stored_unreferenced(db: Database, key: str, blob_key: str | None) -> bool:
    """Whether ``key`` is the object of the blob ``blob_key`` and no file refers to it."""
    if blob_key is None or key != object_key(blob_key):
        return False
    with db.lookup() as connection:
        return connection.execute(_BLOB_BY_KEY, {"key": blob_key}).first() is None


_BLOB_BY_KEY = select(Blob.id).where(Blob.key == bindparam("key"))
_UNREFERENCED = InTransaction(
    select(Blob.region, Blob.key).where(Blob.id == bindparam("blob"), Blob.refcount <= 0)
)
_FORGET = InTransaction(delete(Blob).where(Blob.id == bindparam("blob"), Blob.refcount <= 0))
