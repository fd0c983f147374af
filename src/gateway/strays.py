"""Freeing bytes that nothing records any more, in the regions' object stores.

Three kinds: what an interrupted write left (its object if it was stored but never
committed, its multipart upload and parts, a resumable upload's tail), blobs that no
file references, and multipart uploads that no write records (a node killed in the
middle of a :meth:`ObjectStore.put`). Bytes go first and rows after, so a crash in
between leaves rows that the next pass finishes, never bytes that nothing names.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from gateway.blobkeys import blob_key_of, object_key, tail_key
from gateway.db import Database
from gateway.errors import LockrError
from gateway.models import Blob, Reservation, UploadSession
from gateway.objectstore import ObjectStore
from gateway.quota import release_in

log = logging.getLogger("lockr.recovery")

DROP_BATCH = 500


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
            else session.scalar(select(Blob.id).where(Blob.key == released.blob_key))
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
    the next collection finishes. Returns how many were freed."""
    freed = 0
    for start in range(0, len(blob_ids), DROP_BATCH):
        with db.read() as session:
            rows = session.execute(
                select(Blob.id, Blob.region, Blob.key).where(
                    Blob.id.in_(blob_ids[start : start + DROP_BATCH]), Blob.refcount <= 0
                )
            ).all()
        if not rows:
            continue
        for _blob_id, region, key in rows:
            store = stores.get(region)
            if store is not None:
                store.delete(object_key(key))
        with db.write() as session:
            session.execute(
                delete(Blob).where(Blob.id.in_([row[0] for row in rows]), Blob.refcount <= 0)
            )
        freed += len(rows)
    return freed


def sweep_uploads(db: Database, stores: dict[str, ObjectStore]) -> int:
    """Abort the multipart uploads of every region that no write in progress records
    (neither by its blob nor by its multipart id). A write records itself before its
    first byte reaches the store, so what is found unrecorded was left by a process
    that died. Keys lockr does not name are left alone (but ``""``: a local put cut
    short before its key was written). Returns how many were aborted."""
    aborted = 0
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
            store.abort_multipart(key, upload_id)
            aborted += 1
    if aborted:
        log.info("aborted %d unfinished uploads that no write records", aborted)
    return aborted
