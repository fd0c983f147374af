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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from gateway.blobkeys import object_key
from gateway.clock import Clock
from gateway.db import Database, HasConnection
from gateway.errors import (
    BadRequest,
    Conflict,
    Exists,
    Forbidden,
    NotFound,
    QuotaExceeded,
    TooLarge,
)
from gateway.listing import holds_objects
from gateway.models import KEY_INDEX_CHARS, Account, Node
from gateway.objectstore import ObjectStore
from gateway.quota import EntryLimits, Reservations, charge, credit
from gateway.secret import same_secret
from gateway.strays import drop_unreferenced
from gateway.subtrees import CopyTop, Removal, Subtrees, attached, walk
from gateway.tree import (
    CHILD_BY_NAME,
    HIDDEN,
    INDEXED_KEY,
    LOCK_FOLDER,
    MAX_NAME_BYTES,
    Entry,
    OnConflict,
    check_name,
    check_new_name,
    child_key,
    entry_query,
    free_name,
    key_of,
    keys_under,
    new_uid,
    not_a_folder,
    rekey,
    split_path,
    to_entry,
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
        self._entry_at = db.prepare(_ENTRY_AT)
        self._folder_at = db.prepare(_FOLDER_AT)
        self._child_by_name = db.prepare(CHILD_BY_NAME)
        self._children_by_name = db.prepare(_CHILDREN)
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

    # -- lookups -----------------------------------------------------------------------

    def _root_id(self, session: Session, account_id: int) -> int:
        root_id = session.scalar(select(Account.root_id).where(Account.id == account_id))
        if root_id is None:
            raise NotFound("no such account")
        return root_id

    def _resolve(self, session: Session, account_id: int, parts: list[str]) -> Node | None:
        """The node at ``parts``: one indexed lookup of its key, whatever its depth."""
        node = session.scalars(_NODE_AT, _at_params(account_id, parts)).one_or_none()
        if node is None and not parts:
            raise NotFound("no such account")
        return node

    def _require(self, session: Session, account_id: int, target: str | Entry) -> Node:
        """The account's node at the path ``target``, or the node of the entry
        ``target`` (found by its id: it may have moved since), or 404."""
        if isinstance(target, Entry):
            node = session.get(Node, target.id)
            if node is None or node.account_id != account_id or node.key.startswith(HIDDEN):
                raise NotFound(f"{target.name or '/'} does not exist any more")
            return node
        node = self._resolve(session, account_id, split_path(target))
        if node is None:
            raise NotFound(f"{target.strip('/') or '/'} does not exist")
        return node

    def _parent_folder(self, session: Session, account_id: int, parts: list[str]) -> Node:
        parent = self._resolve(session, account_id, parts[:-1])
        if parent is None or not parent.is_dir:
            raise NotFound(f"folder {'/'.join(parts[:-1]) or '/'} does not exist")
        return parent

    def _load(self, session: Session, node_id: int) -> Entry:
        return to_entry(session.execute(entry_query().where(Node.id == node_id)).one())

    def _resolve_as(
        self, session: HasConnection, account_id: int, parts: list[str], shape: str
    ) -> Any:
        """One row for the entry at ``parts``: ``entry`` the columns of an
        :class:`Entry`; ``folder`` its id, whether it is a folder, its key, and the
        account's default region, entry count and whether it is the guest account."""
        query = _ENTRY_AT if shape == "entry" else _FOLDER_AT
        return session.connection().execute(query, _at_params(account_id, parts)).one_or_none()

    def stat(self, account_id: int, path: str) -> Entry:
        """The entry at ``path`` in the account's tree (``""`` is the root)."""
        row = self._entry_at.first(_at_params(account_id, split_path(path)))
        if row is None:
            raise NotFound(f"{path.strip('/') or '/'} does not exist")
        return to_entry(row)

    def get(self, uid: str) -> Entry:
        """The entry with this ``uid``, whoever owns it."""
        with self.db.read() as session:
            row = session.execute(entry_query().where(Node.uid == uid)).one_or_none()
            if row is None or not attached(session, row.id, row.account_id):
                raise NotFound("no such file")
        return to_entry(row)

    def children(
        self,
        account_id: int,
        path: str,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """A folder's entries ordered by name, from just after ``after``, at most
        ``limit`` of them: one indexed range query, whatever the folder's size."""
        with self.db.read() as session:
            folder = self._require(session, account_id, path)
            if not folder.is_dir:
                raise Conflict(f"{path.strip('/')} is a file, not a folder")
            return self._children(session, folder.id, after, limit)

    def children_of(
        self, folder: Entry, *, after: str | None = None, limit: int | None = None
    ) -> list[Entry]:
        """Like :meth:`children`, for a folder already looked up (no path to resolve);
        empty if the folder has gone since."""
        if after is None and limit is None:
            return [to_entry(row) for row in self._children_by_name.all({"folder": folder.id})]
        with self.db.read() as session:
            return self._children(session, folder.id, after, limit)

    def _children(
        self, session: Session, folder_id: int, after: str | None, limit: int | None
    ) -> list[Entry]:
        query = entry_query().where(Node.parent_id == folder_id)
        if after is not None:
            query = query.where(Node.name > after)
        query = query.order_by(Node.name)
        if limit is not None:
            query = query.limit(limit)
        return [to_entry(row) for row in session.connection().execute(query)]

    def path_of(self, entry: Entry) -> str:
        """The path of ``entry`` inside its account's tree (a column, not a walk)."""
        return entry.path

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
        """Make a folder. Its parent must exist unless ``parents``; an existing folder
        raises :class:`Exists` unless ``exist_ok``; an existing file always does."""
        parts = split_path(path)
        if not parts:
            if exist_ok:
                return self.stat(account_id, "")
            raise Exists("the root folder exists")
        if exist_ok:
            # The common case (every REST upload and rclone's MKCOLs) needs no write.
            row = self._entry_at.first(_at_params(account_id, parts))
            found = None if row is None else to_entry(row)
            if found is not None and found.is_dir:
                return found
        with self.db.write() as session:
            node = session.get(Node, self._root_id(session, account_id))
            assert node is not None
            for index, part in enumerate(parts):
                child = session.scalars(
                    select(Node).where(Node.parent_id == node.id, Node.name == part)
                ).one_or_none()
                last = index == len(parts) - 1
                if child is None:
                    if not (last or parents):
                        raise NotFound(f"folder {'/'.join(parts[: index + 1])} does not exist")
                    child = self._new_folder(
                        session,
                        account_id,
                        node,
                        part,
                        mtime if last else None,
                        exist_ok=exist_ok or not last,
                    )
                elif not child.is_dir:
                    raise Exists(f"{'/'.join(parts[: index + 1])} is a file")
                elif last and not exist_ok:
                    raise Exists(f"folder {'/'.join(parts)} exists")
                node = child
            return self._load(session, node.id)

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
    ) -> Upload:
        """Start streaming a file to ``path``. Its folder must exist when the upload
        commits. A declared ``expected_size`` over ``max_size`` or over the remaining
        quota is refused here, before any byte is stored. ``region`` defaults to the
        account's; ``key_hash`` and ``claim_hash`` are stored with the file as given.
        A ``holder`` (a guest's client address) keeps the write within its cap.

        ``meta`` is the file's metadata beyond its type: names to values, which the
        engine keeps as given and answers in :attr:`Entry.meta` (a front decides what
        they mean; the S3 front keeps header names and values). It replaces the
        metadata of a file the upload replaces: a write without any leaves none. A
        move keeps it; a copy keeps it unless told otherwise (:meth:`copy`)."""
        parts = split_path(path)
        if not parts:
            raise BadRequest("a file needs a name")
        check_new_name(parts[-1])
        if expected_size is not None:
            if expected_size < 0:
                raise BadRequest("size cannot be negative")
            if expected_size > max_size:
                raise TooLarge(too_large_message(max_size))
        found = self._folder_at.first(_at_params(account_id, parts[:-1]))
        folder = None if found is None else FolderRow(*found)
        if (
            folder is not None
            and folder.is_dir
            and not self.entries.fits(folder.entry_count, folder.is_guest)
        ):
            # A full account: a write that would make an entry is refused before any
            # byte (its commit decides; this saves sending the bytes).
            child = {"parent": folder.id, "child": parts[-1]}
            taken = self._child_by_name.first(child) is not None
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
            node = self._require(session, account_id, path)
            node.mtime = mtime
            session.flush()
            return self._load(session, node.id)

    def set_metadata(
        self,
        account_id: int,
        target: str | Entry,
        *,
        mtime: float | None = None,
        content_type: str | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Entry:
        """Change what is said about a file or folder (at a path, or an entry found
        by its id) without touching its content: the ``mtime``, ``content_type`` and
        ``meta`` given (an empty ``meta``: none); what is not given stays."""
        with self.db.write() as session:
            node = self._require(session, account_id, target)
            if mtime is not None:
                node.mtime = mtime
            if content_type is not None:
                node.content_type = content_type
            if meta is not None:
                node.meta = dict(meta) or None
            session.flush()
            return self._load(session, node.id)

    def _new_folder(
        self,
        session: Session,
        account_id: int,
        parent: Node,
        name: str,
        mtime: float | None,
        *,
        exist_ok: bool = True,
    ) -> Node:
        """Make the folder ``name`` in ``parent``. When a concurrent writer made it
        first (PostgreSQL; SQLite's writers take turns), its folder is the answer, or
        :class:`Exists` without ``exist_ok`` (and always where a file took the name)."""
        check_new_name(name)
        now = self.clock()
        parent_id = parent.id
        parent_key = self._lock_folder(session, parent_id, parent.key)
        folder = Node(
            uid=new_uid(),
            account_id=account_id,
            parent_id=parent_id,
            key=child_key(parent_key, name, True),
            name=name,
            is_dir=True,
            size=0,
            content_type="",
            mtime=now if mtime is None else mtime,
            created_at=now,
        )
        try:
            with session.begin_nested():  # a lost race undoes the charge too
                self.entries.charge(session, account_id)
                session.add(folder)
                session.flush()
        except IntegrityError:
            winner = session.scalars(
                select(Node).where(Node.parent_id == parent_id, Node.name == name)
            ).one()
            if not winner.is_dir or not exist_ok:
                raise Exists(f"{name} exists") from None
            return winner
        return folder

    def ensure_folder(self, session: Session, account_id: int, path: str) -> Node:
        """Inside a caller's transaction: the folder at ``path``, made with its parents
        if missing. Raises :class:`Exists` where a file stands in the way."""
        node = session.get(Node, self._root_id(session, account_id))
        assert node is not None
        for index, part in enumerate(parts := split_path(path)):
            child = session.scalars(
                select(Node).where(Node.parent_id == node.id, Node.name == part)
            ).one_or_none()
            if child is None:
                child = self._new_folder(session, account_id, node, part, None)
            elif not child.is_dir:
                raise Exists(f"{'/'.join(parts[: index + 1])} is a file")
            node = child
        return node

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
                return self._load(session, node.id)
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
            return self._load(session, node.id)

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
    ) -> Entry:
        """Copy a file or folder tree (at a path, or an entry found by its id) inside the
        account. Blobs are shared, not copied;
        the copy's entries and bytes count against the quota, all or nothing. A large
        tree is copied in batches out of sight and appears whole in one transaction.
        The copy keeps the source's mtime, content type and metadata, except those of
        ``mtime``, ``content_type`` and ``meta`` (an empty one: none) given for its top.
        With ``keep_folders``, a folder at ``dst`` is never replaced (:class:`Exists`)."""
        dst_parts = split_path(dst)
        if dst_parts:
            check_new_name(dst_parts[-1])
        replace: bool | Literal["files"] = "files" if overwrite and keep_folders else overwrite
        with self.db.write() as session:
            source, parent = self._copy_source(session, account_id, src, dst_parts)
            tree = walk(session, source, limit=self.subtrees.batch, depth=len(dst_parts))
            top = CopyTop(dst_parts[-1], mtime, content_type, meta)
            if tree is not None:
                removal = self._clear_target(session, account_id, parent.id, dst_parts, replace)
                copy_id = self.subtrees.copy_here(session, source, tree, parent, top)
                entry = self._load(session, copy_id)
        if tree is None:
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
            self._check_target(self._child(session, parent.id, dst_parts[-1]), dst_parts, replace)
            tree = walk(session, source, depth=len(dst_parts))
            assert tree is not None
        top = self.subtrees.build_copy(source, tree, change)
        try:
            with self.db.write() as session:
                parent = self._parent_folder(session, account_id, dst_parts)
                removal = self._clear_target(session, account_id, parent.id, dst_parts, replace)
                self.subtrees.attach_copy(session, top, parent)
                return self._load(session, top), removal
        except BaseException:
            self.subtrees.discard_copy(top)
            raise

    def _copy_source(
        self, session: Session, account_id: int, src: str | Entry, dst_parts: list[str]
    ) -> tuple[Node, Node]:
        """The node to copy and the folder its copy goes in, checked."""
        source, parent = self._source_and_parent(session, account_id, src, dst_parts, "copied")
        target = self._child(session, parent.id, dst_parts[-1])
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
        inside the account, keeping its ``uid``."""
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
            entry = self._load(session, source.id)
        self.subtrees.finish(removal)
        return entry

    def rename(self, account_id: int, entry: Entry, name: str) -> Entry:
        """Give the entry (found by its id) a new name in its folder."""
        folder = entry.path.rpartition("/")[0]
        return self.move(account_id, entry, f"{folder}/{check_new_name(name)}", overwrite=False)

    def delete(self, account_id: int, target: str | Entry) -> None:
        """Delete a file, or a folder with everything in it (at a path, or an entry
        found by its id); its entries and bytes leave the quota. A large tree leaves
        the namespace at once and its rows go in batches before this returns."""
        with self.db.write() as session:
            node = self._require(session, account_id, target)
            if node.parent_id is None:
                raise Forbidden("the root folder cannot be deleted")
            removal = self.subtrees.remove(session, node)
        self.subtrees.finish(removal)

    def delete_bare_folder(self, account_id: int, target: str | Entry) -> None:
        """Delete a folder (at a path, or an entry found by its id) that holds no
        object (:func:`~gateway.listing.holds_objects`: folders at most), with the
        folders in it, or raise :class:`Conflict`. The check and the delete are one
        transaction, so a file written into the folder concurrently is either seen
        (:class:`Conflict`) or finds its folder gone: SQLite's writers take turns, and
        on PostgreSQL every folder below is locked first, which waits for the writers
        holding one (:meth:`_lock_folder`) and makes later ones wait for the delete."""
        with self.db.write() as session:
            node = self._require(session, account_id, target)
            if node.parent_id is None:
                raise Forbidden("the root folder cannot be deleted")
            if not node.is_dir:
                raise Conflict(f"{node.name} is a file, not a folder")
            connection = session.connection()
            if not self.db.is_sqlite:
                self._lock_folders_under(connection, account_id, node.key)
            if holds_objects(connection, account_id, node.key):
                raise Conflict(f"{node.name} is not empty")
            removal = self.subtrees.remove(session, node)
        self.subtrees.finish(removal)

    @staticmethod
    def _lock_folders_under(connection: Connection, account_id: int, key: str) -> None:
        """PostgreSQL: lock the folder keyed ``key`` and every folder below it. Again
        until no new one shows: a folder made while the locks were taken committed
        before its parent's lock was granted, so the next statement sees it."""
        folders = (
            select(Node.id)
            .where(Node.account_id == account_id, keys_under(key), Node.is_dir.is_(True))
            .order_by(Node.id)
            .with_for_update()
        )
        locked: set[int] = set()
        while not (found := set(connection.execute(folders).scalars())) <= locked:
            locked |= found

    def delete_uid(self, account_id: int, uid: str) -> None:
        """Delete the file or folder with this ``uid`` if the account owns it."""
        with self.db.write() as session:
            node = session.scalars(
                select(Node).where(Node.uid == uid, Node.account_id == account_id)
            ).one_or_none()
            if node is None or not attached(session, node.id, account_id):
                raise NotFound("no such file")
            if node.parent_id is None:
                raise Forbidden("the root folder cannot be deleted")
            removal = self.subtrees.remove(session, node)
        self.subtrees.finish(removal)

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
        source = self._require(session, account_id, src)
        if source.parent_id is None or not dst_parts:
            raise Forbidden(f"the root folder cannot be {verb} or replaced")
        parent = self._parent_folder(session, account_id, dst_parts)
        if source.is_dir and _inside(parent.key, source):
            raise Conflict(f"a folder cannot be {verb} into itself")
        # The folder's key as it is now (PostgreSQL: after any move of it committed).
        set_committed_value(parent, "key", self._lock_folder(session, parent.id, parent.key))
        return source, parent

    def _lock_folder(self, session: HasConnection, folder_id: int, key: str) -> str:
        """Inside a write: make the writers of names in one folder take turns, so that
        two of the same name end as the caller asked (replace, rename or Exists), never
        in a unique-index error, and return the folder's key as it is now (``key``, as
        the caller found it). SQLite's writers take turns already; on PostgreSQL the
        folder's row is locked until the transaction ends, and each statement after the
        wait sees what the writer before committed (a move of the folder, or its delete,
        included)."""
        if self.db.is_sqlite:
            return key
        current = session.connection().execute(LOCK_FOLDER, {"folder": folder_id}).scalar()
        if current is None or current.startswith(HIDDEN):
            raise NotFound("the folder was deleted meanwhile")
        return str(current)

    def _child(self, session: Session, parent_id: int, name: str) -> Node | None:
        return session.scalars(
            select(Node).where(Node.parent_id == parent_id, Node.name == name)
        ).one_or_none()

    def _clear_target(
        self,
        session: Session,
        account_id: int,
        parent_id: int,
        parts: list[str],
        replace: bool | Literal["files"],
    ) -> Removal:
        """Remove what is at ``parts`` for a write there, if ``replace`` allows
        (``"files"``: a file, not a folder), else :class:`Exists`."""
        existing = self._child(session, parent_id, parts[-1])
        if existing is None:
            return Removal()
        self._check_target(existing, parts, replace)
        return self.subtrees.remove(session, existing)

    @staticmethod
    def _check_target(
        existing: Node | None, parts: list[str], replace: bool | Literal["files"]
    ) -> None:
        if existing is not None and (not replace or (replace == "files" and existing.is_dir)):
            raise Exists(f"{'/'.join(parts)} exists")

    def drop_blobs(self, blob_ids: list[int]) -> None:
        """Free blobs nothing references any more (:func:`~gateway.strays.drop_unreferenced`)."""
        drop_unreferenced(self.db, self.stores, blob_ids)


# The lookup of an entry by its path, asked several times by every request: built once
# (building one costs more than running it). The entry's key as a file or as a folder
# (the root's is ``""``, both), through the index. Written as two IN lists, not as
# ``prefix = ? AND key = ?`` (or two of those ORed): SQLite propagates ``key = ?``
# into ``substr(key, ...)``, which then no longer matches the indexed expression, and
# scans every entry of the account instead.
_AT = (
    Node.account_id == bindparam("account"),
    INDEXED_KEY.in_([bindparam("file_prefix"), bindparam("folder_prefix")]),
    Node.key.in_([bindparam("file"), bindparam("folder")]),
)
_NODE_AT = select(Node).where(*_AT)
_ENTRY_AT = entry_query().where(*_AT)
_USAGE = select(Account.used_bytes + Account.reserved_bytes, Account.quota_bytes).where(
    Account.id == bindparam("account")
)
_CHILDREN = entry_query().where(Node.parent_id == bindparam("folder")).order_by(Node.name)
_FOLDER_AT = (
    select(
        Node.id,
        Node.is_dir,
        Node.key,
        Account.default_region,
        Account.entry_count,
        Account.is_guest,
    )
    .join(Account, Account.id == Node.account_id)
    .where(*_AT)
)


class FolderRow(NamedTuple):
    """A row of ``_FOLDER_AT``: where a new file goes."""

    id: int
    is_dir: bool
    key: str
    default_region: str
    entry_count: int
    is_guest: bool


def _at_params(account_id: int, parts: list[str]) -> dict[str, Any]:
    """The parameters of the statements above for the entry at ``parts``."""
    file, folder = key_of(parts, False), key_of(parts, True)
    return {
        "account": account_id,
        "file": file,
        "file_prefix": file[:KEY_INDEX_CHARS],
        "folder": folder,
        "folder_prefix": folder[:KEY_INDEX_CHARS],
    }


def _inside(key: str, ancestor: Node) -> bool:
    """Whether the entry keyed ``key`` is ``ancestor`` or below it (a key column read,
    not a walk up the tree)."""
    return key == ancestor.key or (ancestor.is_dir and key.startswith(ancestor.key))
