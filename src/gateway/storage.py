"""The storage engine: every account's tree of folders and files, over the regions'
object stores.

Fronts address files by path inside an account (``"photos/2024/a.jpg"``, one indexed
lookup of its key) or by the file's ``uid``. Writes stream through :class:`Upload`
(one part, stored by :meth:`ObjectStore.put`) and :mod:`gateway.sessions` (parts):
blocks are hashed (MD5, SHA-1, and SHA-256 when asked) and checked against the object
limit and the account's quota as they pass; the object is durable in its store before
the metadata commits in one transaction. Blobs are immutable and shared by
reference count, so a copy is a metadata operation; a delete gives the bytes back
to the quota and frees the blob when nothing references it. Every entry made or
removed is charged or credited to the account's entry count in the same transaction;
large copies and deletes run in batches (:mod:`gateway.subtrees`).

:class:`Storage` is the one door the fronts use; behind it, finding entries is
:mod:`gateway.lookup`, making folders :mod:`gateway.mkdir` and deleting entries
:mod:`gateway.deletes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from gateway.blobkeys import object_key
from gateway.clock import Clock
from gateway.db import Database, HasConnection
from gateway.deletes import Deletes
from gateway.errors import (
    BadRequest,
    Changed,
    Conflict,
    Exists,
    FileExists,
    Forbidden,
    NotFound,
    QuotaExceeded,
    TooLarge,
)
from gateway.lookup import (
    Lookup,
    child_node,
    load_entry,
    lock_folder,
    parent_folder,
    require_blob,
    require_node,
    resolve_as,
)
from gateway.mkdir import FolderMaker, FolderRef
from gateway.models import Account, Node
from gateway.objectstore import ObjectStore
from gateway.quota import EntryLimits, Reservations, charge, credit
from gateway.secret import same_secret
from gateway.strays import drop_unreferenced
from gateway.subtrees import CopyTop, Removal, Subtrees, attached, is_bucket, walk
from gateway.tree import (
    MAX_NAME_BYTES,
    Entry,
    OnConflict,
    check_name,
    check_new_name,
    child_key,
    free_name,
    new_uid,
    not_a_folder,
    rekey,
    split_path,
    too_large_message,
)

if TYPE_CHECKING:
    from gateway.upload import Upload

__all__ = [
    "MAX_NAME_BYTES",
    "Entry",
    "OnConflict",
    "Storage",
    "check_name",
    "check_new_name",
    "free_name",
    "new_uid",
    "split_path",
    "too_large_message",
]


class Storage:
    """The engine. One instance per process, shared by every front."""

    def __init__(
        self,
        db: Database,
        stores: dict[str, ObjectStore],
        reservations: Reservations,
        clock: Clock,
        entries: EntryLimits,
        *,
        redirecting: frozenset[str] = frozenset(),
    ) -> None:
        self.db = db
        self.stores = stores
        self.redirecting = redirecting
        self.reservations = reservations
        self.clock = clock
        self.entries = entries
        self.subtrees = Subtrees(db, entries, reservations.instance_id, clock, self.drop_blobs)
        self.lookup = Lookup(db)
        self.deletes = Deletes(db, self.subtrees)
        self.folders = FolderMaker(db, self.lookup, entries, clock)
        self._usage = db.prepare(_USAGE)

    # -- accounts' homes -------------------------------------------------------------

    def create_home(self, session: Session, account: Account) -> Node:
        """Inside the account-creation transaction: make the account's root folder
        (which is not one of the entries the account's limit counts)."""
        now = self.clock()
        root = Node(
            uid=new_uid(),
            account_id=account.id,
            parent_id=None,
            name="",
            is_dir=True,
            size=0,
            content_type="",
            mtime=now,
            created_at=now,
            key="",
        )
        session.add(root)
        session.flush()
        account.root_id = root.id
        return root

    def usage(self, account_id: int) -> tuple[int, int]:
        """``(used_bytes, quota_bytes)``; bytes of writes in progress count as used."""
        row = self._usage.first({"account": account_id})
        if row is None:
            raise NotFound("no such account")
        return int(row[0]), int(row[1])

    # -- lookups (gateway.lookup) ----------------------------------------------------------

    def stat(self, account_id: int, path: str) -> Entry:
        """:meth:`gateway.lookup.Lookup.stat`."""
        return self.lookup.stat(account_id, path)

    def get(self, uid: str) -> Entry:
        """:meth:`gateway.lookup.Lookup.get`."""
        return self.lookup.get(uid)

    def children(
        self,
        account_id: int,
        path: str,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """:meth:`gateway.lookup.Lookup.children`."""
        return self.lookup.children(account_id, path, after=after, limit=limit)

    def children_of(
        self, folder: Entry, *, after: str | None = None, limit: int | None = None
    ) -> list[Entry]:
        """:meth:`gateway.lookup.Lookup.children_of`."""
        return self.lookup.children_of(folder, after=after, limit=limit)

    def path_of(self, entry: Entry) -> str:
        """The path of ``entry`` inside its account's tree (a column, not a walk)."""
        return entry.path

    # The commit of a file (gateway.commit) finds its folder through the engine.
    _resolve_as = staticmethod(resolve_as)

    # -- folders -----------------------------------------------------------------------

    def mkdir(
        self,
        account_id: int,
        path: str,
        *,
        parents: bool = False,
        exist_ok: bool = False,
        mtime: float | None = None,
    ) -> Entry:
        """:meth:`gateway.mkdir.FolderMaker.mkdir`."""
        return self.folders.mkdir(account_id, path, parents=parents, exist_ok=exist_ok, mtime=mtime)

    def ensure_folder(self, session: HasConnection, account_id: int, path: str) -> FolderRef:
        """:meth:`gateway.mkdir.FolderMaker.ensure`."""
        return self.folders.ensure(session, account_id, path)

    # -- writing -----------------------------------------------------------------------

    def upload(
        self,
        account_id: int,
        path: str,
        *,
        max_size: int,
        expected_size: int | None = None,
        content_type: str = "",
        mtime: float | None = None,
        sha256: bool = False,
        on_conflict: OnConflict = "replace",
        region: str | None = None,
        key_hash: str | None = None,
        claim_hash: str | None = None,
        holder: str | None = None,
        meta: Mapping[str, str] | None = None,
        own_checksum: bool = False,
        if_blob: str | None = None,
    ) -> Upload:
        """Start streaming a file to ``path``. Its folder must exist when the upload
        commits. A declared ``expected_size`` over ``max_size`` or over the remaining
        quota is refused here, before any byte is stored. ``region`` defaults to the
        account's; ``key_hash`` and ``claim_hash`` are stored with the file as given.
        A ``holder`` (a guest's client address) keeps the write within its cap.

        ``meta`` is the file's metadata beyond its type: names to values, which the
        engine keeps as given and answers in :attr:`Entry.meta` (a front decides what
        they mean; the S3 front keeps header names and values). It replaces the
        metadata of a file the upload replaces: a write without any leaves none but
        the file's checksum, which the upload adds unless ``meta`` holds one
        (:mod:`gateway.filechecksum`); with ``own_checksum`` the writer puts the
        file's checksum in :attr:`Upload.meta` before the commit (an S3 PutObject
        sent with one) and the upload computes none. A move keeps it; a copy keeps it
        unless told otherwise (:meth:`copy`).

        With ``on_conflict="fail"`` the commit refuses anything at ``path``
        (:class:`Exists`); with ``if_blob`` it replaces only the file whose bytes are
        the blob of that key (else :class:`Changed`): conditional writes
        (:func:`gateway.commit.commit_blob`)."""
        parts = split_path(path)
        if not parts:
            raise BadRequest("a file needs a name")
        check_new_name(parts[-1])
        if expected_size is not None:
            if expected_size < 0:
                raise BadRequest("size cannot be negative")
            if expected_size > max_size:
                raise TooLarge(too_large_message(max_size))
        folder = self.lookup.folder_at(account_id, parts[:-1])
        if (
            folder is not None
            and folder.is_dir
            and not self.entries.fits(folder.entry_count, folder.is_guest)
        ):
            # A full account: a write that would make an entry is refused before any
            # byte (its commit decides; this saves sending the bytes).
            taken = self.lookup.has_child(folder.id, parts[-1])
            if not taken or on_conflict == "rename":
                raise QuotaExceeded(self.entries.message(folder.is_guest))
        if folder is None or not folder.is_dir:
            if not parts[:-1]:
                raise NotFound("no such account")
            with self.db.read() as session:
                raise not_a_folder(session, account_id, parts[:-1])
        region = region or folder.default_region
        store = self.store_for(region)
        from gateway.upload import Upload

        return Upload(
            self,
            account_id=account_id,
            parts=parts,
            region=region,
            store=store,
            max_size=max_size,
            expected_size=expected_size,
            content_type=content_type,
            mtime=mtime,
            sha256=sha256,
            on_conflict=on_conflict,
            key_hash=key_hash,
            claim_hash=claim_hash,
            holder=holder,
            meta=meta,
            folder=(folder.id, folder.key),
            own_checksum=own_checksum,
            if_blob=if_blob,
        )

    def store_for(self, region: str) -> ObjectStore:
        """The blob store of ``region``; a 400 naming the valid regions otherwise."""
        store = self.stores.get(region)
        if store is None:
            raise BadRequest(
                f"unknown region {region!r}; valid regions: {', '.join(sorted(self.stores))}"
            )
        return store

    def open(self, entry: Entry, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes of a file entry, in blocks of at most 1 MiB."""
        if entry.is_dir or entry.blob_key is None or entry.region is None:
            raise Conflict(f"{entry.name} is a folder")
        return self.stores[entry.region].open_reader(object_key(entry.blob_key), offset, length)

    def download_url(self, entry: Entry, *, expires: int) -> str | None:
        """A presigned URL of the store that serves ``entry`` for ``expires`` seconds,
        when its region redirects downloads and its store can presign; else ``None``."""
        if entry.is_dir or entry.blob_key is None or entry.region not in self.redirecting:
            return None
        store = self.stores[entry.region]
        return store.presigned_url(object_key(entry.blob_key), expires=expires, filename=entry.name)

    def set_mtime(self, account_id: int, path: str, mtime: float) -> Entry:
        with self.db.write() as session:
            node = require_node(session, account_id, path)
            node.mtime = mtime
            session.flush()
            return load_entry(session, node.id)

    def set_metadata(
        self,
        account_id: int,
        target: str | Entry,
        *,
        mtime: float | None = None,
        content_type: str | None = None,
        meta: Mapping[str, str] | None = None,
        if_blob: str | None = None,
    ) -> Entry:
        """Change what is said about a file or folder (at a path, or an entry found
        by its id) without touching its content: the ``mtime``, ``content_type`` and
        ``meta`` given (an empty ``meta``: none); what is not given stays. With
        ``if_blob``, only while the file's bytes are the blob of that key (else
        :class:`Changed`, nothing done): ``meta`` may say something of them."""
        with self.db.write() as session:
            node = require_node(session, account_id, target)
            require_blob(session, node, if_blob)
            if mtime is not None:
                node.mtime = mtime
            if content_type is not None:
                node.content_type = content_type
            if meta is not None:
                node.meta = dict(meta) or None
            session.flush()
            return load_entry(session, node.id)

    def file_node(self, session: Session, uid: str) -> Node:
        """Inside a caller's transaction: the file (not folder) with ``uid``, or 404."""
        node = session.scalars(
            select(Node).where(Node.uid == uid, Node.is_dir.is_(False))
        ).one_or_none()
        if node is None or not attached(session, node.id, node.account_id):
            raise NotFound("no such file")
        return node

    def adopt(self, uid: str, account_id: int, folder: str, *, proof_hash: str | None) -> Entry:
        """Move a guest's file into ``account_id``'s ``folder`` when ``proof_hash``
        matches the claim recorded at upload. Idempotent for the account's own files;
        another account's file is :class:`Forbidden`. The bytes move between quotas."""
        with self.db.write() as session:
            node = self.file_node(session, uid)
            if node.account_id == account_id:
                return load_entry(session, node.id)
            owner = session.get(Account, node.account_id)
            if owner is None or not owner.is_guest:
                raise Forbidden("this file belongs to another account")
            if (
                proof_hash is None
                or node.claim_hash is None
                or not same_secret(proof_hash, node.claim_hash)
            ):
                raise Forbidden(
                    "to register a guest upload, send the claimToken its upload returned"
                )
            parent = self.ensure_folder(session, account_id, folder)
            parent_key = self._lock_folder(session, parent.id, parent.key)
            charge(session, account_id, node.size)
            credit(session, owner.id, node.size)
            self.entries.charge(session, account_id)
            self.entries.credit(session, owner.id)
            taken = session.scalar(
                select(Node.id).where(Node.parent_id == parent.id, Node.name == node.name)
            )
            node.name = node.name if taken is None else free_name(session, parent.id, node.name)
            node.account_id = account_id
            node.parent_id = parent.id
            node.key = child_key(parent_key, node.name, False)
            node.claim_hash = None
            session.flush()
            return load_entry(session, node.id)

    # -- copy, move, delete --------------------------------------------------------------

    def copy(
        self,
        account_id: int,
        src: str | Entry,
        dst: str,
        *,
        overwrite: bool = True,
        keep_folders: bool = False,
        mtime: float | None = None,
        content_type: str | None = None,
        meta: Mapping[str, str] | None = None,
        if_blob: str | None = None,
        target_blob: str | None = None,
    ) -> Entry:
        """Copy a file or folder tree (at a path, or an entry found by its id) inside the
        account. Blobs are shared, not copied;
        the copy's entries and bytes count against the quota, all or nothing. A large
        tree is copied in batches out of sight and appears whole in one transaction.
        The copy keeps the source's mtime, content type and metadata, except those of
        ``mtime``, ``content_type`` and ``meta`` (an empty one: none) given for its top.
        With ``keep_folders``, a folder at ``dst`` is never replaced (:class:`Exists`).
        With ``if_blob``, the source is copied only while its bytes are the blob of
        that key (else :class:`Changed`, nothing done): what ``meta`` says of the bytes
        (a checksum the caller computed from them) stays true of the copy. With
        ``target_blob``, it replaces only the file at ``dst`` whose bytes are the blob
        of that key (else :class:`Changed`): a conditional write, as
        :func:`gateway.commit.commit_blob`'s ``if_blob``. A file at ``dst`` the copy
        may not replace is :class:`FileExists`."""
        dst_parts = split_path(dst)
        if dst_parts:
            check_new_name(dst_parts[-1])
        replace: bool | Literal["files"] = "files" if overwrite and keep_folders else overwrite
        with self.db.write() as session:
            source, parent = self._copy_source(session, account_id, src, dst_parts)
            require_blob(session, source, if_blob)
            tree = walk(session, source, limit=self.subtrees.batch, depth=len(dst_parts))
            top = CopyTop(dst_parts[-1], mtime, content_type, meta)
            if tree is not None:
                removal = self._clear_target(
                    session, account_id, parent.id, dst_parts, replace, target_blob
                )
                copy_id = self.subtrees.copy_here(session, source, tree, parent, top)
                entry = load_entry(session, copy_id)
        if tree is None:  # a folder of many entries: never a file's single blob
            if target_blob is not None:
                raise Changed(f"{'/'.join(dst_parts)} is not the file the copy may replace")
            entry, removal = self._copy_large(account_id, src, dst_parts, replace, top)
        self.subtrees.finish(removal)
        return entry

    def _copy_large(
        self,
        account_id: int,
        src: str | Entry,
        dst_parts: list[str],
        replace: bool | Literal["files"],
        change: CopyTop,
    ) -> tuple[Entry, Removal]:
        """Check and walk the source without a write lock, build the copy detached in
        batches, then attach it (replacing the target) in one short transaction."""
        with self.db.read() as session:
            source, parent = self._copy_source(session, account_id, src, dst_parts)
            self._check_target(child_node(session, parent.id, dst_parts[-1]), dst_parts, replace)
            tree = walk(session, source, depth=len(dst_parts))
            assert tree is not None
        top = self.subtrees.build_copy(source, tree, change)
        try:
            with self.db.write() as session:
                parent = parent_folder(session, account_id, dst_parts)
                removal = self._clear_target(session, account_id, parent.id, dst_parts, replace)
                self.subtrees.attach_copy(session, top, parent)
                return load_entry(session, top), removal
        except BaseException:
            self.subtrees.discard_copy(top)
            raise

    def _copy_source(
        self, session: Session, account_id: int, src: str | Entry, dst_parts: list[str]
    ) -> tuple[Node, Node]:
        """The node to copy and the folder its copy goes in, checked."""
        source, parent = self._source_and_parent(session, account_id, src, dst_parts, "copied")
        target = child_node(session, parent.id, dst_parts[-1])
        if target is not None and _inside(source.key, target):
            raise Conflict("a copy cannot replace its source or a folder holding it")
        return source, parent

    def move(
        self,
        account_id: int,
        src: str | Entry,
        dst: str,
        *,
        overwrite: bool = True,
        mtime: float | None = None,
    ) -> Entry:
        """Move or rename a file or folder (at a path, or an entry found by its id)
        inside the account, keeping its ``uid``. A top-level folder (an S3 bucket)
        moved away, or replaced at the target, is gone as a deleted one is: its
        unfinished multipart uploads end (:attr:`Subtrees.after_bucket`), as for a
        top-level folder a copy replaces."""
        dst_parts = split_path(dst)
        if dst_parts:
            check_new_name(dst_parts[-1])
        removal = Removal()
        with self.db.write() as session:
            source, parent = self._source_and_parent(session, account_id, src, dst_parts, "moved")
            walk(session, source, depth=len(dst_parts))
            if not (source.parent_id == parent.id and source.name == dst_parts[-1]):
                if source.key.startswith(child_key(parent.key, dst_parts[-1], True)):
                    raise Conflict("a folder holding what is moved cannot be replaced by it")
                removal = self._clear_target(session, account_id, parent.id, dst_parts, overwrite)
                old_key = source.key
                if is_bucket(source):  # an S3 bucket moved away is gone from S3's view
                    removal.buckets.append((account_id, old_key))
                new_key = child_key(parent.key, dst_parts[-1], source.is_dir)
                source.parent_id = parent.id
                source.name = dst_parts[-1]
                if not source.is_dir:
                    source.key = new_key
                session.flush()
                if source.is_dir:
                    rekey(session, account_id, old_key, new_key)  # the folder and all below
                    session.expire(source)
            if mtime is not None:
                source.mtime = mtime
            session.flush()
            entry = load_entry(session, source.id)
        self.subtrees.finish(removal)
        return entry

    def rename(self, account_id: int, entry: Entry, name: str) -> Entry:
        """Give the entry (found by its id) a new name in its folder."""
        folder = entry.path.rpartition("/")[0]
        return self.move(account_id, entry, f"{folder}/{check_new_name(name)}", overwrite=False)

    # -- deletes (gateway.deletes) ---------------------------------------------------------

    def delete(self, account_id: int, target: str | Entry, *, if_blob: str | None = None) -> None:
        """:meth:`gateway.deletes.Deletes.delete`."""
        self.deletes.delete(account_id, target, if_blob=if_blob)

    def delete_bare_folder(self, account_id: int, target: str | Entry) -> None:
        """:meth:`gateway.deletes.Deletes.delete_bare_folder`."""
        self.deletes.delete_bare_folder(account_id, target)

    def delete_uid(self, account_id: int, uid: str) -> None:
        """:meth:`gateway.deletes.Deletes.delete_uid`."""
        self.deletes.delete_uid(account_id, uid)

    # -- helpers ---------------------------------------------------------------------------

    def _source_and_parent(
        self,
        session: Session,
        account_id: int,
        src: str | Entry,
        dst_parts: list[str],
        verb: str,
    ) -> tuple[Node, Node]:
        """The node at ``src`` and the folder ``dst_parts`` names its new place in:
        never the root, never a folder into itself."""
        source = require_node(session, account_id, src)
        if source.parent_id is None or not dst_parts:
            raise Forbidden(f"the root folder cannot be {verb} or replaced")
        parent = parent_folder(session, account_id, dst_parts)
        if source.is_dir and _inside(parent.key, source):
            raise Conflict(f"a folder cannot be {verb} into itself")
        # The folder's key as it is now (PostgreSQL: after any move of it committed).
        set_committed_value(parent, "key", self._lock_folder(session, parent.id, parent.key))
        return source, parent

    def _lock_folder(self, session: HasConnection, folder_id: int, key: str) -> str:
        """:func:`gateway.lookup.lock_folder`."""
        return lock_folder(session, folder_id, key, sqlite=self.db.is_sqlite)

    def _clear_target(
        self,
        session: Session,
        account_id: int,
        parent_id: int,
        parts: list[str],
        replace: bool | Literal["files"],
        target_blob: str | None = None,
    ) -> Removal:
        """Remove what is at ``parts`` for a write there, if ``replace`` allows
        (``"files"``: a file, not a folder), else :class:`Exists`; with
        ``target_blob``, only the file whose bytes are that blob (else
        :class:`Changed`)."""
        existing = child_node(session, parent_id, parts[-1])
        if target_blob is not None:
            if existing is None or existing.is_dir:
                raise Changed(f"{'/'.join(parts)} is not the file the write may replace")
            require_blob(session, existing, target_blob)
        if existing is None:
            return Removal()
        self._check_target(existing, parts, replace)
        return self.subtrees.remove(session, existing)

    @staticmethod
    def _check_target(
        existing: Node | None, parts: list[str], replace: bool | Literal["files"]
    ) -> None:
        if existing is not None and (not replace or (replace == "files" and existing.is_dir)):
            kind = Exists if existing.is_dir else FileExists
            raise kind(f"{'/'.join(parts)} exists")

    def drop_blobs(self, blob_ids: list[int]) -> None:
        """Free blobs nothing references any more (:func:`~gateway.strays.drop_unreferenced`)."""
        drop_unreferenced(self.db, self.stores, blob_ids)


_USAGE = select(Account.used_bytes + Account.reserved_bytes, Account.quota_bytes).where(
    Account.id == bindparam("account")
)


def _inside(key: str, ancestor: Node) -> bool:
    """Whether the entry keyed ``key`` is ``ancestor`` or below it (a key column read,
    not a walk up the tree)."""
    return key == ancestor.key or (ancestor.is_dir and key.startswith(ancestor.key))
