"""Deleting entries (through :class:`gateway.storage.Storage`): a file, or a folder
with everything in it, found by path, by an entry looked up before, or by uid; and a
folder that holds no object, as S3 deletes a bucket. Every entry and byte removed
leaves the account's counts in the transaction that removes it; a large tree leaves
the namespace at once and its rows go in batches (:mod:`gateway.subtrees`).

A top-level folder is an S3 bucket, which S3 deletes with its unfinished multipart
uploads: however it is deleted (a WebDAV DELETE, the REST API, S3's DeleteBucket),
the hooks of :attr:`gateway.subtrees.Subtrees.after_bucket` run once it is gone (as
when a move takes it away or a move or copy replaces it), and the core's aborts the
uploads recorded under it (:meth:`gateway.multipart.MultipartUploads.abort_under`).
A deeper folder's uploads stay: S3 has no folders, and completing an upload makes the
folders of its key.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from gateway.db import Database
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.listing import holds_objects
from gateway.lookup import require_blob, require_node
from gateway.models import Node
from gateway.subtrees import Subtrees, attached
from gateway.tree import Entry, keys_under


class Deletes:
    """The deletes of every account. One per process."""

    def __init__(self, db: Database, subtrees: Subtrees) -> None:
        self.db = db
        self.subtrees = subtrees

    def delete(self, account_id: int, target: str | Entry, *, if_blob: str | None = None) -> None:
        """Delete a file, or a folder with everything in it (at a path, or an entry
        found by its id); its entries and bytes leave the quota. A large tree leaves
        the namespace at once and its rows go in batches before this returns. With
        ``if_blob``, only a file whose bytes are the blob of that key (else
        :class:`Changed`, nothing deleted): a conditional delete."""

        def find(session: Session) -> Node:
            node = require_node(session, account_id, target)
            require_blob(session, node, if_blob)
            return node

        self._remove(find)

    def delete_bare_folder(self, account_id: int, target: str | Entry) -> None:
        """Delete a folder (at a path, or an entry found by its id) that holds no
        object (:func:`~gateway.listing.holds_objects`: folders at most), with the
        folders in it, or raise :class:`Conflict`. The check and the delete are one
        transaction, so a file written into the folder concurrently is either seen
        (:class:`Conflict`) or finds its folder gone: SQLite's writers take turns, and
        on PostgreSQL every folder below is locked first, which waits for the writers
        holding one (:func:`gateway.lookup.lock_folder`) and makes later ones wait
        for the delete."""

        def bare_folder(session: Session) -> Node:
            node = _not_the_root(require_node(session, account_id, target))
            if not node.is_dir:
                raise Conflict(f"{node.name} is a file, not a folder")
            connection = session.connection()
            if not self.db.is_sqlite:
                _lock_folders_under(connection, account_id, node.key)
            if holds_objects(connection, account_id, node.key):
                raise Conflict(f"{node.name} is not empty")
            return node

        self._remove(bare_folder)

    def delete_uid(self, account_id: int, uid: str) -> None:
        """Delete the file or folder with this ``uid`` if the account owns it."""
        self._remove(lambda session: _owned(session, account_id, uid))

    def _remove(self, find: Callable[[Session], Node]) -> None:
        """Remove the entry ``find`` gives (in the write transaction; never the root)
        with everything below it (:meth:`gateway.subtrees.Subtrees.finish` then runs
        the hooks of a top-level folder)."""
        with self.db.write() as session:
            removal = self.subtrees.remove(session, _not_the_root(find(session)))
        self.subtrees.finish(removal)


def _owned(session: Session, account_id: int, uid: str) -> Node:
    node = session.scalars(
        select(Node).where(Node.uid == uid, Node.account_id == account_id)
    ).one_or_none()
    if node is None or not attached(session, node.id, account_id):
        raise NotFound("no such file")
    return node


def _not_the_root(node: Node) -> Node:
    if node.parent_id is None:
        raise Forbidden("the root folder cannot be deleted")
    return node


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
