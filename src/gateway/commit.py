"""Committing a stored object as a file: the last step of every write.

Whatever wrote the bytes (a direct upload, a resumable session, an S3 multipart upload),
the object is durable in its region's store before this runs; then, in one
transaction, the write's reservation is settled, its bytes charged, the blob recorded
and the file created or replaced (or given a free name), so the file appears whole or
not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from gateway.db import InTransaction
from gateway.errors import Changed, Exists, FileExists, NotFound
from gateway.groupcommit import Writing
from gateway.models import Blob, Node
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

# Every write runs these: on the transaction's DBAPI connection (InTransaction), where
# SQLAlchemy's execution of each cost several times what SQLite takes to run it.
_CHILD = InTransaction(CHILD_BY_NAME)
_FOLDER_KEY = InTransaction(select(Node.key).where(Node.id == bindparam("folder")))
_BLOB_KEY = InTransaction(select(Blob.key).where(Blob.id == bindparam("blob")))
_UNREF = InTransaction(UNREF_BLOB)
_INSERT_BLOB = InTransaction(
    INSERT_BLOB,
    (
        "region",
        "key",
        "size",
        "md5",
        "sha1",
        "sha256",
        "refcount",
        "created_at",
        "multipart_etag",
    ),
)
_INSERT_NODE = InTransaction(
    INSERT_NODE,
    (
        "uid",
        "account_id",
        "parent_id",
        "name",
        "is_dir",
        "blob_id",
        "size",
        "content_type",
        "mtime",
        "created_at",
        "key_hash",
        "claim_hash",
        "key",
        "meta",
    ),
)
_REPLACE = InTransaction(
    REPLACE_CONTENT, ("blob_id", "size", "content_type", "mtime", "key_hash", "meta")
)


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
    folder: tuple[int, str] | None = None,
    if_blob: str | None = None,
) -> tuple[Entry, list[int]]:
    """In one transaction: settle the write's reservation (a write without one, as a
    small upload is, has its bytes charged if they fit), charge ``size``, record
    the durable blob (with its ``multipart_etag``, for bytes sent as the parts of a
    multipart upload) and create (or update) the file at ``parts``, and run ``also``
    (the caller's own bookkeeping, given the file's node id). Returns the entry
    and the ids of blobs to free once committed.

    ``meta`` is the file's metadata beyond its type (names to values, kept as given);
    it replaces whatever metadata a file being replaced had, so a writer that gives
    none (``None`` or empty) leaves the file with none.

    ``folder`` is the id and key of the folder at ``parts[:-1]`` as the caller found
    it (before the transaction): it is checked in the transaction (one lookup by id
    instead of the path's), and the path resolved again if the folder was moved or
    deleted meanwhile.

    With ``if_blob``, the write only replaces the file whose bytes are the blob of
    that key (a conditional write: the caller found it so); a file of other bytes,
    a folder or nothing at the path is :class:`Changed`, and nothing is written.
    ``on_conflict="fail"`` refuses any file or folder at the path (:class:`Exists`)."""
    now = storage.clock()
    meta = dict(meta) if meta else None

    def job(tx: Writing) -> tuple[Entry, list[int]]:
        nonlocal content_type, mtime, key_hash, claim_hash, uid
        freed: list[int] = []
        connection = tx.connection()
        folder_id, folder_key = _folder(tx, folder) or _resolve(tx)
        name = parts[-1]
        row = _CHILD.run(connection, {"parent": folder_id, "child": name}).first()
        existing = None if row is None else _Child(*row)
        if if_blob is not None and not _holds(connection, existing, if_blob):
            raise Changed(f"{'/'.join(parts)} changed meanwhile")
        if existing is not None and (existing.is_dir or on_conflict != "replace"):
            if on_conflict == "rename":
                name = free_name(tx.session, folder_id, name)
                existing = None
            elif existing.is_dir:
                raise Exists(f"{'/'.join(parts)} is a folder")
            else:
                raise FileExists(f"{'/'.join(parts)} exists")
        old_blob = None if existing is None else existing.blob_id
        grows = size - (0 if existing is None or old_blob is None else existing.size)
        if reservation_id is None:
            charge(tx, account_id, grows)
        else:
            storage.reservations.settle(tx, reservation_id, account_id, grows)
        if old_blob is not None:
            _UNREF.run(connection, {"blob": old_blob})
            freed.append(old_blob)
        blob_id = _INSERT_BLOB.run(
            connection,
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
        ).one()[0]
        mtime = now if mtime is None else mtime
        if existing is None:
            storage.entries.charge(tx, account_id)
            uid = uid or new_uid()
            created_at = now
            node_id = _INSERT_NODE.run(
                connection,
                {
                    "uid": uid,
                    "account_id": account_id,
                    "parent_id": folder_id,
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
            ).one()[0]
        else:
            node_id, uid, created_at = existing.id, existing.uid, existing.created_at
            content_type = content_type or existing.content_type
            key_hash = existing.key_hash if key_hash is None else key_hash
            claim_hash = existing.claim_hash
            _REPLACE.run(
                connection,
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
            also(tx.session, node_id)
        entry = Entry(
            id=node_id,
            uid=uid,
            account_id=account_id,
            parent_id=folder_id,
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

    def _resolve(tx: Writing) -> tuple[int, str]:
        found = storage._resolve_as(tx, account_id, parts[:-1], "folder")
        if found is None or not found.is_dir:
            raise not_a_folder(tx.session, account_id, parts[:-1])
        return found.id, storage._lock_folder(tx, found.id, found.key)

    def _folder(tx: Writing, seen: tuple[int, str] | None) -> tuple[int, str] | None:
        """The folder the caller found, if it is still where it was (locked, on
        PostgreSQL); ``None`` to resolve the path again."""
        if seen is None:
            return None
        folder_id, key = seen
        if storage.db.is_sqlite:
            row = _FOLDER_KEY.run(tx.connection(), {"folder": folder_id}).first()
            current = None if row is None else row[0]
        else:
            try:
                current = storage._lock_folder(tx, folder_id, key)
            except NotFound:
                return None
        return seen if current == key else None

    return storage.db.write_job(job)


def _holds(connection: Connection, existing: _Child | None, blob_key: str) -> bool:
    """Whether ``existing`` is a file whose bytes are the blob keyed ``blob_key``."""
    if existing is None or existing.is_dir or existing.blob_id is None:
        return False
    row = _BLOB_KEY.run(connection, {"blob": existing.blob_id}).first()
    return row is not None and row[0] == blob_key


class _Child(NamedTuple):
    """A row of ``CHILD_BY_NAME``: what a write needs of the entry it replaces."""

    id: int
    is_dir: bool
    blob_id: int | None
    size: int
    uid: str
    content_type: str
    created_at: float
    key_hash: str | None
    claim_hash: str | None
