"""Whole subtrees copied and deleted without holding the write lock for long.

A subtree of at most :data:`BATCH` entries is copied or deleted inside the caller's
transaction. A larger one works on a *detached* tree, in short transactions of at
most :data:`BATCH` rows each, so that other writers (on SQLite, every account's)
wait for one batch at most:

- a delete detaches the subtree in one short transaction (its top node loses its
  parent, and a :class:`~gateway.models.DetachedTree` row says which server
  instance removes it), then deletes its rows level by level, deepest first; each
  batch credits the account exactly the entries and bytes it deleted;
- a copy charges the whole subtree's entries and bytes first (all or nothing),
  builds the copy under a detached top, then attaches it in one short transaction
  that also settles any difference and replaces the target: the copy appears whole
  or not at all.

A detached tree is reached by no path, no file id (:func:`attached`) and no files
listing, and no write reaches into it (on PostgreSQL, one that found its folder
just before is deleted with the tree, and counted). When the instance working on
one is gone, recovery (:meth:`Subtrees.recover`) discards the copy or finishes the
delete, so a crash leaves neither a visible partial tree nor rows or quota held for
ever.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.db import Database
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.models import Blob, DetachedTree, Instance, Node
from gateway.quota import EntryLimits, charge, credit
from gateway.tree import HIDDEN, MAX_PATH_DEPTH, child_key, new_uid, rekey

BATCH = 1000
"""Rows one transaction of a large copy or delete touches at most (by default; a
:class:`Subtrees` has its own ``batch``); a subtree of at most this many entries is
copied or deleted in the caller's transaction."""

MAX_PAUSE = 0.05
"""Between batches the write lock stays free for as long as the batch held it, up to
this many seconds, so that writers of other threads and processes get in."""

_IN = 500  # ids per ``IN (...)`` while walking a tree

_COPY_COLUMNS = (
    Node.id,
    Node.uid,
    Node.account_id,
    Node.parent_id,
    Node.name,
    Node.is_dir,
    Node.blob_id,
    Node.size,
    Node.content_type,
    Node.mtime,
    Node.meta,
)
_INSERT_NODES = insert(Node).returning(Node.id, sort_by_parameter_order=True)
# A batch runs only while its instance still owns the tree (recovery may have taken
# it over); on PostgreSQL the update also keeps a takeover waiting until it commits.
_OWN = (
    update(DetachedTree)
    .where(
        DetachedTree.node_id == bindparam("top"),
        DetachedTree.purpose == bindparam("job"),
        DetachedTree.instance_id == bindparam("me"),
    )
    .values(
        entries=DetachedTree.entries - bindparam("made_entries"),
        bytes=DetachedTree.bytes - bindparam("made_bytes"),
    )
)


def attached(session: Session, node_id: int, account_id: int) -> bool:
    """Whether the node is in its account's namespace (not in a detached tree, whose
    keys start with ``/``)."""
    key = session.scalar(select(Node.key).where(Node.id == node_id, Node.account_id == account_id))
    return key is not None and not key.startswith(HIDDEN)


@dataclass
class Subtree:
    """A subtree's node ids level by level (the top alone first) and its file bytes."""

    levels: list[list[int]]
    bytes: int

    @property
    def entries(self) -> int:
        return sum(len(level) for level in self.levels)


def walk(
    session: Session, top: Node, *, limit: int | None = None, depth: int | None = None
) -> Subtree | None:
    """The subtree under ``top``; ``None`` once it has more than ``limit`` entries.
    With ``depth`` (the components of the path ``top`` would have), raise
    :class:`BadRequest` if the tree would reach deeper than the path limit."""
    levels = [[top.id]]
    total = 0 if top.is_dir else top.size
    count = 1
    folders = [top.id] if top.is_dir else []
    while folders:
        level: list[int] = []
        below: list[int] = []
        for start in range(0, len(folders), _IN):
            query = select(Node.id, Node.is_dir, Node.size).where(
                Node.parent_id.in_(folders[start : start + _IN])
            )
            if limit is not None:
                query = query.limit(limit + 1 - count)
            rows = session.execute(query).all()
            for node_id, is_dir, size in rows:
                level.append(node_id)
                if is_dir:
                    below.append(node_id)
                else:
                    total += size
            count += len(rows)
            if limit is not None and count > limit:
                return None
        if not level:
            break
        levels.append(level)
        if depth is not None and depth + len(levels) - 1 > MAX_PATH_DEPTH:
            raise BadRequest(
                f"a path has at most {MAX_PATH_DEPTH} components: this tree would "
                "reach deeper there"
            )
        folders = below
    return Subtree(levels, total)


@dataclass(frozen=True)
class CopyTop:
    """How the copy of a subtree's top differs from its source: its ``name``, and,
    where given, its ``mtime``, ``content_type`` and ``meta`` (an empty mapping: no
    metadata). What is not given is the source's."""

    name: str
    mtime: float | None = None
    content_type: str | None = None
    meta: Mapping[str, str] | None = None


def is_bucket(node: Node) -> bool:
    """Whether ``node`` is a top-level folder (an S3 bucket: key ``photos/``)."""
    key = node.key
    return node.is_dir and key.find("/") == len(key) - 1


@dataclass
class Removal:
    """What a removal leaves for after its transaction commits: blobs whose last
    reference went, detached trees whose rows are still to delete, and the top-level
    folders (S3 buckets) gone from their places, as (account id, key) pairs."""

    freed: list[int] = field(default_factory=list)
    detached: list[int] = field(default_factory=list)
    buckets: list[tuple[int, str]] = field(default_factory=list)


class Subtrees:
    """Copies and deletes of whole subtrees for :class:`~gateway.storage.Storage`."""

    def __init__(
        self,
        db: Database,
        entries: EntryLimits,
        instance_id: str,
        clock: Clock,
        drop_blobs: Callable[[list[int]], None],
    ) -> None:
        self.db = db
        self.entries = entries
        self.instance_id = instance_id
        self.clock = clock
        self.drop_blobs = drop_blobs
        self.batch = BATCH
        self.after_bucket: list[Callable[[int, str], object]] = []
        """Called with the account's id and the key (``photos/``) of each top-level
        folder a removal took from its place (:attr:`Removal.buckets`), in order, once
        the removal's transaction has committed (:meth:`finish`); what one raises,
        ``finish`` raises (the folder is gone by then)."""

    # -- deleting ------------------------------------------------------------------------

    def remove(self, session: Session, node: Node) -> Removal:
        """Inside the caller's transaction: delete ``node`` and everything below it,
        crediting the quota, when that is at most ``batch`` entries; otherwise detach
        it, to be deleted by :meth:`finish` once the transaction commits. A top-level
        folder removed is one of the removal's :attr:`Removal.buckets`."""
        buckets = [(node.account_id, node.key)] if is_bucket(node) else []
        tree = walk(session, node, limit=self.batch)
        if tree is None:
            session.connection().execute(
                update(Node).where(Node.id == node.id).values(parent_id=None)
            )
            rekey(session, node.account_id, node.key, f"{HIDDEN}gone/{node.uid}/")
            self._record(session, node.id, "delete")
            session.expire(node)
            return Removal(detached=[node.id], buckets=buckets)
        freed: list[int] = []
        for level in reversed(tree.levels):
            freed += self._delete_rows(session, level)
        session.expire_all()
        return Removal(freed=freed, buckets=buckets)

    def finish(self, removal: Removal) -> None:
        """After the removal's transaction: free blobs, delete detached trees, then
        run :attr:`after_bucket` for each top-level folder gone."""
        self.drop_blobs(removal.freed)
        for top in removal.detached:
            self._reap(top)
        for account_id, key in removal.buckets:
            for hook in self.after_bucket:
                hook(account_id, key)

    def _reap(self, top: int) -> None:
        """Delete a detached tree this instance owns, deepest level first, in batches."""
        with self.db.read() as session:
            node = session.get(Node, top)
            tree = None if node is None else walk(session, node)
        if tree is None:
            return
        for level in reversed(tree.levels):
            for start in range(0, len(level), self.batch):
                with self._batch() as session:
                    if not self._own(session, top, "delete"):
                        return  # taken over by recovery elsewhere: it finishes
                    freed = self._delete_rows(session, level[start : start + self.batch])
                self.drop_blobs(freed)

    def _delete_rows(self, session: Session, ids: list[int]) -> list[int]:
        """Delete nodes whose children the walk found are gone; credit their accounts
        what was deleted; return the blobs they referenced."""
        connection = session.connection()
        # A child made after the walk (a write that found its folder just before the
        # tree was detached, on PostgreSQL) goes first, counted; the lock keeps any
        # more from coming until the folders are gone.
        connection.execute(select(Node.id).where(Node.id.in_(ids)).with_for_update())
        freed: list[int] = []
        for late in session.scalars(select(Node).where(Node.parent_id.in_(ids))).all():
            tree = walk(session, late)
            assert tree is not None
            for level in reversed(tree.levels):
                freed += self._delete_rows(session, level)
        rows = connection.execute(
            delete(Node).where(Node.id.in_(ids)).returning(Node.account_id, Node.blob_id, Node.size)
        ).all()
        entries: Counter[int] = Counter()
        sizes: Counter[int] = Counter()
        blobs: Counter[int] = Counter()
        for account_id, blob_id, size in rows:
            entries[account_id] += 1
            sizes[account_id] += size
            if blob_id is not None:
                blobs[blob_id] += 1
        _count_references(session, blobs, -1)
        for account_id, count in entries.items():
            self.entries.credit(session, account_id, count)
            credit(session, account_id, sizes[account_id])
        return freed + list(blobs)

    # -- copying -------------------------------------------------------------------------

    def copy_here(
        self,
        session: Session,
        source: Node,
        tree: Subtree,
        parent: Node,
        top: CopyTop,
    ) -> int:
        """Inside the caller's transaction: charge and copy a small subtree under
        ``parent`` as ``top`` says. Returns the copy's id."""
        self.entries.charge(session, source.account_id, tree.entries)
        charge(session, source.account_id, tree.bytes)
        mapping: dict[int | None, int | None] = {source.parent_id: parent.id}
        keys: dict[int | None, str] = {parent.id: parent.key}
        made = (0, 0)
        for level in tree.levels:
            made = _add(made, self._copy_rows(session, level, mapping, keys, (source.id, top)))
        if source.id not in mapping:
            raise NotFound("the source is gone")
        # What changed since the walk (another transaction, on PostgreSQL) is settled.
        self.entries.charge(session, source.account_id, made[0] - tree.entries)
        charge(session, source.account_id, made[1] - tree.bytes)
        copy_id = mapping[source.id]
        assert copy_id is not None
        return copy_id

    def build_copy(self, source: Node, tree: Subtree, top: CopyTop) -> int:
        """Charge a large subtree's entries and bytes (QuotaExceeded leaves nothing
        behind), then copy it in batches under a detached top (as ``top`` says), whose
        id is returned for :meth:`attach_copy`. The source is copied as each batch
        finds it."""
        account_id = source.account_id
        with self._batch() as session:
            self.entries.charge(session, account_id, tree.entries)
            charge(session, account_id, tree.bytes)
            # Built out of sight: the top's key starts with "/" until it is attached.
            mapping: dict[int | None, int | None] = {source.parent_id: None}
            keys: dict[int | None, str] = {None: f"{HIDDEN}copy/"}
            made = self._copy_rows(session, [source.id], mapping, keys, (source.id, top))
            top_id = mapping.get(source.id)
            if top_id is None:
                raise NotFound("the source is gone")
            self._record(session, top_id, "copy", tree.entries - made[0], tree.bytes - made[1])
        try:
            for level in tree.levels[1:]:
                for start in range(0, len(level), self.batch):
                    with self._batch() as session:
                        made = self._copy_rows(
                            session, level[start : start + self.batch], mapping, keys
                        )
                        if not self._own(session, top_id, "copy", made):
                            raise Conflict("the copy was interrupted; try again")
        except BaseException:
            self.discard_copy(top_id)
            raise
        return top_id

    def attach_copy(self, session: Session, top: int, parent: Node) -> None:
        """Inside the caller's transaction: settle what the source changed while the
        copy was built (QuotaExceeded if it grew past the quota) and put the copy
        under ``parent``, where the caller made room for its name: its keys move into
        the namespace in one statement."""
        pending = session.execute(
            delete(DetachedTree)
            .where(
                DetachedTree.node_id == top,
                DetachedTree.purpose == "copy",
                DetachedTree.instance_id == self.instance_id,
            )
            .returning(DetachedTree.entries, DetachedTree.bytes)
        ).one_or_none()
        if pending is None:
            raise Conflict("the copy was interrupted; try again")
        account_id, name, key = session.execute(
            select(Node.account_id, Node.name, Node.key).where(Node.id == top)
        ).one()
        self.entries.charge(session, account_id, -pending.entries)
        charge(session, account_id, -pending.bytes)
        session.execute(update(Node).where(Node.id == top).values(parent_id=parent.id))
        rekey(session, account_id, key, child_key(parent.key, name, True))

    def discard_copy(self, top: int) -> None:
        """Delete a copy :meth:`build_copy` made that will not be attached."""
        self._give_up_copy(top, self.instance_id)

    def _copy_rows(
        self,
        session: Session,
        ids: list[int],
        mapping: dict[int | None, int | None],
        keys: dict[int | None, str],
        top: tuple[int, CopyTop] | None = None,
    ) -> tuple[int, int]:
        """Copy the nodes ``ids`` (as they are now) whose parents ``mapping`` maps to
        their copies, adding theirs (and ``keys`` the copies' keys: a copy's is its
        parent copy's and its name; a top built out of sight gets its own uid under the
        key of ``None``); ``top`` changes one (source id, and how).
        Returns the entries and bytes made. The sources are locked until commit
        (PostgreSQL), so no blob they share can be freed meanwhile."""
        connection = session.connection()
        rows = [
            row
            for row in connection.execute(
                select(*_COPY_COLUMNS).where(Node.id.in_(ids)).with_for_update(read=True)
            )
            if row.parent_id in mapping
        ]
        if not rows:
            return 0, 0
        now = self.clock()
        params = []
        for row in rows:
            name, mtime, content_type, meta = row.name, row.mtime, row.content_type, row.meta
            if top is not None and row.id == top[0]:
                change = top[1]
                name = change.name
                mtime = mtime if change.mtime is None else change.mtime
                content_type = content_type if change.content_type is None else change.content_type
                meta = meta if change.meta is None else dict(change.meta) or None
            uid = new_uid()
            parent = mapping[row.parent_id]
            if parent is None:
                key = f"{keys[None]}{uid}/"
            else:
                key = child_key(keys[parent], name, row.is_dir)
            params.append(
                {
                    "uid": uid,
                    "key": key,
                    "account_id": row.account_id,
                    "parent_id": mapping[row.parent_id],
                    "name": name,
                    "is_dir": row.is_dir,
                    "blob_id": row.blob_id,
                    "size": row.size,
                    "content_type": content_type,
                    "mtime": mtime,
                    "created_at": now,
                    "key_hash": None,
                    "claim_hash": None,
                    "meta": meta,
                }
            )
        new_ids = connection.execute(_INSERT_NODES, params).scalars().all()
        mapping.update(zip((row.id for row in rows), new_ids, strict=True))
        keys.update(zip(new_ids, (param["key"] for param in params), strict=True))
        _count_references(
            session, Counter(row.blob_id for row in rows if row.blob_id is not None), 1
        )
        return len(rows), sum(row.size for row in rows)

    def _give_up_copy(self, top: int, owner: str) -> None:
        """Turn ``owner``'s unfinished copy into a delete this instance finishes:
        the entries and bytes charged for rows never made go back at once."""
        with self.db.write() as session:
            pending = session.execute(
                delete(DetachedTree)
                .where(
                    DetachedTree.node_id == top,
                    DetachedTree.purpose == "copy",
                    DetachedTree.instance_id == owner,
                )
                .returning(DetachedTree.entries, DetachedTree.bytes)
            ).one_or_none()
            if pending is None:
                return
            account_id = session.scalar(select(Node.account_id).where(Node.id == top))
            assert account_id is not None
            self.entries.credit(session, account_id, pending.entries)
            credit(session, account_id, pending.bytes)
            self._record(session, top, "delete")
        self._reap(top)

    # -- bookkeeping -----------------------------------------------------------------

    def _record(
        self, session: Session, top: int, purpose: str, entries: int = 0, nbytes: int = 0
    ) -> None:
        session.connection().execute(
            insert(DetachedTree),
            {
                "node_id": top,
                "purpose": purpose,
                "instance_id": self.instance_id,
                "entries": entries,
                "bytes": nbytes,
                "created_at": self.clock(),
            },
        )

    def _own(
        self, session: Session, top: int, purpose: str, made: tuple[int, int] = (0, 0)
    ) -> bool:
        """Whether this instance still works on ``top``; a copy's batch also moves
        what it ``made`` from the pending charge to the rows."""
        result = session.connection().execute(
            _OWN,
            {
                "top": top,
                "job": purpose,
                "me": self.instance_id,
                "made_entries": made[0],
                "made_bytes": made[1],
            },
        )
        return bool(result.rowcount == 1)

    @contextmanager
    def _batch(self) -> Iterator[Session]:
        """One batch's write transaction, then a pause that leaves the lock free."""
        started = time.monotonic()
        with self.db.write() as session:
            yield session
        time.sleep(min(time.monotonic() - started, MAX_PAUSE))

    def recover(self) -> int:
        """Discard the copies and finish the deletes that server instances no longer
        running left detached. Returns how many trees were taken over."""
        with self.db.read() as session:
            abandoned = session.execute(
                select(DetachedTree.node_id, DetachedTree.purpose, DetachedTree.instance_id).where(
                    DetachedTree.instance_id.not_in(select(Instance.id))
                )
            ).all()
        for top, purpose, owner in abandoned:
            if purpose == "copy":
                self._give_up_copy(top, owner)
                continue
            with self.db.write() as session:
                taken = session.execute(
                    update(DetachedTree)
                    .where(DetachedTree.node_id == top, DetachedTree.instance_id == owner)
                    .values(instance_id=self.instance_id)
                )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                self._reap(top)
        return len(abandoned)


def _count_references(session: Session, blobs: Counter[int], sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) references to blobs: one ``UPDATE`` per
    distinct count, so usually one for a whole batch."""
    by_count: dict[int, list[int]] = {}
    for blob_id, count in blobs.items():
        by_count.setdefault(count, []).append(blob_id)
    for count, ids in by_count.items():
        for start in range(0, len(ids), _IN):
            session.connection().execute(
                update(Blob)
                .where(Blob.id.in_(ids[start : start + _IN]))
                .values(refcount=Blob.refcount + sign * count)
            )


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]
