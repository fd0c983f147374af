"""Committing a stored object as a file: the last step of every write.

Whatever wrote the bytes (a direct upload, a resumable session, an S3 multipart upload),
the object is durable in its region's store before this runs; then, in one
transaction, the write's reservation is settled, its bytes charged, the blob recorded
and the file created or replaced (or given a free name), so the file appears whole or
not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from gateway.errors import Exists
from gateway.quota import charge
from gateway.tree import (
    CHILD_BY_NAME,
    INSERT_BLOB,
    INSERT_NODE,
    REPLACE_CONTENT,
    UNREF_BLOB,
    Entry,
    OnConflict,
    child_key,
    free_name,
    new_uid,
    not_a_folder,
)

if TYPE_CHECKING:
    from gateway.storage import Storage


def commit_blob(
    storage: Storage,
    *,
    reservation_id: str | None,
    account_id: int,
    parts: list[str],
    region: str,
    blob_key: str,
    size: int,
    digests: dict[str, str],
    content_type: str,
    mtime: float | None,
    on_conflict: OnConflict,
    key_hash: str | None = None,
    claim_hash: str | None = None,
    also: Callable[[Session, int], object] | None = None,
    uid: str | None = None,
    meta: Mapping[str, str] | None = None,
    multipart_etag: str | None = None,
) -> tuple[Entry, list[int]]:
    """In one transaction: settle the write's reservation (a write without one, as a
    small upload is, has its bytes charged if they fit), charge ``size``, record
    the durable blob (with its ``multipart_etag``, for bytes sent as the parts of a
    multipart upload) and create (or update) the file at ``parts``, and run ``also``
    (the caller's own bookkeeping, given the file's node id). Returns the entry
    and the ids of blobs to free once committed.

    ``meta`` is the file's metadata beyond its type (names to values, kept as given);
    it replaces whatever metadata a file being replaced had, so a writer that gives
    none (``None`` or empty) leaves the file with none."""
    now = storage.clock()
    meta = dict(meta) if meta else None

    def job(session: Session) -> tuple[Entry, list[int]]:
        nonlocal content_type, mtime, key_hash, claim_hash, uid
        freed: list[int] = []
        folder = storage._resolve_as(session, account_id, parts[:-1], "folder")
        if folder is None or not folder.is_dir:
            raise not_a_folder(session, account_id, parts[:-1])
        folder_key = storage._lock_folder(session, folder.id, folder.key)
        name = parts[-1]
        connection = session.connection()
        existing = connection.execute(
            CHILD_BY_NAME, {"parent": folder.id, "child": name}
        ).one_or_none()
        if existing is not None and (existing.is_dir or on_conflict != "replace"):
            if on_conflict == "rename":
                name = free_name(session, folder.id, name)
                existing = None
            elif existing.is_dir:
                raise Exists(f"{'/'.join(parts)} is a folder")
            else:
                raise Exists(f"{'/'.join(parts)} exists")
        old_blob = None if existing is None else existing.blob_id
        grows = size - (0 if existing is None or old_blob is None else existing.size)
        if reservation_id is None:
            charge(session, account_id, grows)
        else:
            storage.reservations.settle(session, reservation_id, account_id, grows)
        if old_blob is not None:
            connection.execute(UNREF_BLOB, {"blob": old_blob})
            freed.append(old_blob)
        blob_id = connection.execute(
            INSERT_BLOB,
            {
                "region": region,
                "key": blob_key,
                "size": size,
                "md5": digests["md5"],
                "sha1": digests["sha1"],
                "sha256": digests.get("sha256"),
                "refcount": 1,
                "created_at": now,
                "multipart_etag": multipart_etag,
            },
        ).scalar_one()
        mtime = now if mtime is None else mtime
        if existing is None:
            storage.entries.charge(session, account_id)
            uid = uid or new_uid()
            created_at = now
            node_id = connection.execute(
                INSERT_NODE,
                {
                    "uid": uid,
                    "account_id": account_id,
                    "parent_id": folder.id,
                    "name": name,
                    "is_dir": False,
                    "blob_id": blob_id,
                    "size": size,
                    "content_type": content_type,
                    "mtime": mtime,
                    "created_at": now,
                    "key_hash": key_hash,
                    "claim_hash": claim_hash,
                    "key": child_key(folder_key, name, False),
                    "meta": meta,
                },
            ).scalar_one()
        else:
            node_id, uid, created_at = existing.id, existing.uid, existing.created_at
            content_type = content_type or existing.content_type
            key_hash = existing.key_hash if key_hash is None else key_hash
            claim_hash = existing.claim_hash
            connection.execute(
                REPLACE_CONTENT,
                {
                    "node": node_id,
                    "blob_id": blob_id,
                    "size": size,
                    "content_type": content_type,
                    "mtime": mtime,
                    "key_hash": key_hash,
                    "meta": meta,
                },
            )
        if also is not None:
            also(session, node_id)
        entry = Entry(
            id=node_id,
            uid=uid,
            account_id=account_id,
            parent_id=folder.id,
            name=name,
            is_dir=False,
            size=size,
            content_type=content_type,
            mtime=mtime,
            created_at=created_at,
            region=region,
            blob_key=blob_key,
            md5=digests["md5"],
            sha1=digests["sha1"],
            sha256=digests.get("sha256"),
            uploaded_at=now,
            key_hash=key_hash,
            claim_hash=claim_hash,
            key=child_key(folder_key, name, False),
            meta=meta,
            multipart_etag=multipart_etag,
        )
        return entry, freed

    return storage.db.write_job(job)
