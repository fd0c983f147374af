"""Making folders (through :class:`gateway.storage.Storage`): a folder at a path, with
its parents when asked, in a write job of its own (:meth:`FolderMaker.mkdir`) or
inside a caller's transaction (:meth:`FolderMaker.ensure`).

A folder is charged to the account's entry count in the transaction that makes it.
Its statements are built once and run on the transaction's connection
(:class:`gateway.db.InTransaction`), as a file's commit's are. Writers of names in one
folder take turns (:func:`gateway.lookup.lock_folder`); a name taken meanwhile all the
same (PostgreSQL runs writers side by side) inserts nothing, and the folder made
first is the answer.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.clock import Clock
from gateway.db import Database, HasConnection, InTransaction
from gateway.errors import Exists, NotFound
from gateway.groupcommit import Writing
from gateway.lookup import Lookup, lock_folder
from gateway.models import Account, Node
from gateway.quota import EntryLimits
from gateway.tree import (
    Entry,
    check_new_name,
    child_key,
    entry_query,
    new_uid,
    split_path,
    to_entry,
)


class FolderRef(NamedTuple):
    """A folder as a write found or made it, inside its transaction: its id and key."""

    id: int
    key: str


class _Child(NamedTuple):
    """A row of ``_CHILD``."""

    id: int
    is_dir: bool
    key: str


_ROOT_ID = InTransaction(select(Account.root_id).where(Account.id == bindparam("account")))
_CHILD = InTransaction(
    select(Node.id, Node.is_dir, Node.key).where(
        Node.parent_id == bindparam("parent"), Node.name == bindparam("child")
    )
)
# A folder whose name was taken meanwhile (by a concurrent writer, on PostgreSQL) is not
# inserted and no row is answered: a unique-index error would abort the transaction.
_INSERT_FOLDER = {
    name: InTransaction(
        insert(Node)
        .on_conflict_do_nothing(index_elements=["parent_id", "name"])
        .returning(Node.id),
        (
            "uid",
            "account_id",
            "parent_id",
            "name",
            "is_dir",
            "size",
            "content_type",
            "mtime",
            "created_at",
            "key",
        ),
    )
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
_ENTRY_BY_ID = InTransaction(entry_query().where(Node.id == bindparam("node")))


class FolderMaker:
    """Makes the folders of every account. One per process."""

    def __init__(self, db: Database, lookup: Lookup, entries: EntryLimits, clock: Clock) -> None:
        self.db = db
        self.lookup = lookup
        self.entries = entries
        self.clock = clock

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
                return self.lookup.stat(account_id, "")
            raise Exists("the root folder exists")
        if exist_ok:
            # The common case (every REST upload and rclone's MKCOLs) needs no write.
            found = self.lookup.find(account_id, parts)
            if found is not None and found.is_dir:
                return found

        def job(writing: Writing) -> Entry:
            folder = self._walk(
                writing, account_id, parts, parents=parents, exist_ok=exist_ok, mtime=mtime
            )
            return to_entry(_ENTRY_BY_ID.run(writing.connection(), {"node": folder.id}).one())

        return self.db.write_job(job)

    def ensure(self, tx: HasConnection, account_id: int, path: str) -> FolderRef:
        """Inside a caller's transaction: the folder at ``path``, made with its parents
        if missing. Raises :class:`Exists` where a file stands in the way."""
        return self._walk(tx, account_id, split_path(path), parents=True, exist_ok=True, mtime=None)

    def _walk(
        self,
        tx: HasConnection,
        account_id: int,
        parts: list[str],
        *,
        parents: bool,
        exist_ok: bool,
        mtime: float | None,
    ) -> FolderRef:
        """Walk down ``parts`` from the account's root, making the last folder (and
        the missing ones above it, with ``parents``) as :meth:`mkdir` says; the
        folder at ``parts``."""
        connection = tx.connection()
        found = _ROOT_ID.run(connection, {"account": account_id}).first()
        if found is None:
            raise NotFound("no such account")
        folder = FolderRef(found[0], "")
        for index, part in enumerate(parts):
            row = _CHILD.run(connection, {"parent": folder.id, "child": part}).first()
            child = None if row is None else _Child(*row)
            last = index == len(parts) - 1
            if child is None:
                if not (last or parents):
                    raise NotFound(f"folder {'/'.join(parts[: index + 1])} does not exist")
                folder = self._new_folder(
                    tx,
                    account_id,
                    folder,
                    part,
                    mtime if last else None,
                    exist_ok=exist_ok or not last,
                )
            elif not child.is_dir:
                raise Exists(f"{'/'.join(parts[: index + 1])} is a file")
            elif last and not exist_ok:
                raise Exists(f"folder {'/'.join(parts)} exists")
            else:
                folder = FolderRef(child.id, child.key)
        return folder

    def _new_folder(
        self,
        tx: HasConnection,
        account_id: int,
        parent: FolderRef,
        name: str,
        mtime: float | None,
        *,
        exist_ok: bool,
    ) -> FolderRef:
        """Make the folder ``name`` in ``parent``. When a concurrent writer made it
        first (PostgreSQL; SQLite's writers take turns), its folder is the answer, or
        :class:`Exists` without ``exist_ok`` (and always where a file took the name)."""
        check_new_name(name)
        now = self.clock()
        parent_key = lock_folder(tx, parent.id, parent.key, sqlite=self.db.is_sqlite)
        key = child_key(parent_key, name, True)
        connection = tx.connection()
        values = {
            "uid": new_uid(),
            "account_id": account_id,
            "parent_id": parent.id,
            "name": name,
            "is_dir": True,
            "size": 0,
            "content_type": "",
            "mtime": now if mtime is None else mtime,
            "created_at": now,
            "key": key,
        }
        made = _INSERT_FOLDER[connection.dialect.name].run(connection, values).first()
        if made is None:  # the name was taken meanwhile: nothing made, nothing charged
            winner = _Child(*_CHILD.run(connection, {"parent": parent.id, "child": name}).one())
            if not winner.is_dir or not exist_ok:
                raise Exists(f"{name} exists")
            return FolderRef(winner.id, winner.key)
        self.entries.charge(tx, account_id)
        return FolderRef(made[0], key)
