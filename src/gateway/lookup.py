"""Finding entries in an account's tree, the read side of
:class:`gateway.storage.Storage`: by path (one indexed lookup of its key, whatever its
depth), by the id of an entry looked up before (it may have moved since), by uid,
and a folder's children in name order.

:class:`Lookup` answers outside any transaction, through statements prepared once
per process (:meth:`gateway.db.Database.prepare`); the functions that take a session
find nodes inside a caller's transaction, for a write to change them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.db import Database, HasConnection
from gateway.errors import Changed, Conflict, NotFound
from gateway.models import KEY_INDEX_CHARS, Account, Blob, Node
from gateway.subtrees import attached
from gateway.tree import (
    CHILD_BY_NAME,
    HIDDEN,
    INDEXED_KEY,
    LOCK_FOLDER,
    Entry,
    entry_query,
    key_of,
    split_path,
    to_entry,
)

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
    """Where a new file goes: the folder at its path, and the account's default
    region, entry count and whether it is the guest account."""

    id: int
    is_dir: bool
    key: str
    default_region: str
    entry_count: int
    is_guest: bool


class Lookup:
    """The lookups every front makes, outside any transaction. One per process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._entry_at = db.prepare(_ENTRY_AT)
        self._folder_at = db.prepare(_FOLDER_AT)
        self._child_by_name = db.prepare(CHILD_BY_NAME)
        self._children_by_name = db.prepare(_CHILDREN)

    def find(self, account_id: int, parts: list[str]) -> Entry | None:
        """The entry at ``parts``, or ``None``."""
        row = self._entry_at.first(_at_params(account_id, parts))
        return None if row is None else to_entry(row)

    def folder_at(self, account_id: int, parts: list[str]) -> FolderRow | None:
        """What is at ``parts``, as a place for a new file (:class:`FolderRow`; a file
        there is one whose ``is_dir`` is false), or ``None``."""
        row = self._folder_at.first(_at_params(account_id, parts))
        return None if row is None else FolderRow(*row)

    def has_child(self, folder_id: int, name: str) -> bool:
        """Whether the folder holds an entry named ``name``."""
        return self._child_by_name.first({"parent": folder_id, "child": name}) is not None

    def stat(self, account_id: int, path: str) -> Entry:
        """The entry at ``path`` in the account's tree (``""`` is the root)."""
        entry = self.find(account_id, split_path(path))
        if entry is None:
            raise NotFound(f"{path.strip('/') or '/'} does not exist")
        return entry

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
            folder = require_node(session, account_id, path)
            if not folder.is_dir:
                raise Conflict(f"{path.strip('/')} is a file, not a folder")
            return _children(session, folder.id, after, limit)

    def children_of(
        self, folder: Entry, *, after: str | None = None, limit: int | None = None
    ) -> list[Entry]:
        """Like :meth:`children`, for a folder already looked up (no path to resolve);
        empty if the folder has gone since."""
        if after is None and limit is None:
            return [to_entry(row) for row in self._children_by_name.all({"folder": folder.id})]
        with self.db.read() as session:
            return _children(session, folder.id, after, limit)


# -- inside a caller's transaction ------------------------------------------------------


def root_id(session: Session, account_id: int) -> int:
    """The id of the account's root folder, or 404."""
    found = session.scalar(select(Account.root_id).where(Account.id == account_id))
    if found is None:
        raise NotFound("no such account")
    return found


def node_at(session: Session, account_id: int, parts: list[str]) -> Node | None:
    """The node at ``parts``: one indexed lookup of its key, whatever its depth."""
    node = session.scalars(_NODE_AT, _at_params(account_id, parts)).one_or_none()
    if node is None and not parts:
        raise NotFound("no such account")
    return node


def require_node(session: Session, account_id: int, target: str | Entry) -> Node:
    """The account's node at the path ``target``, or the node of the entry
    ``target`` (found by its id: it may have moved since), or 404."""
    if isinstance(target, Entry):
        node = session.get(Node, target.id)
        if node is None or node.account_id != account_id or node.key.startswith(HIDDEN):
            raise NotFound(f"{target.name or '/'} does not exist any more")
        return node
    node = node_at(session, account_id, split_path(target))
    if node is None:
        raise NotFound(f"{target.strip('/') or '/'} does not exist")
    return node


def parent_folder(session: Session, account_id: int, parts: list[str]) -> Node:
    """The folder that holds (or is to hold) the entry at ``parts``, or 404."""
    parent = node_at(session, account_id, parts[:-1])
    if parent is None or not parent.is_dir:
        raise NotFound(f"folder {'/'.join(parts[:-1]) or '/'} does not exist")
    return parent


def child_node(session: Session, parent_id: int, name: str) -> Node | None:
    """The entry named ``name`` in the folder ``parent_id``, or ``None``."""
    return session.scalars(
        select(Node).where(Node.parent_id == parent_id, Node.name == name)
    ).one_or_none()


def load_entry(session: Session, node_id: int) -> Entry:
    """The entry of the node ``node_id``, as the transaction sees it."""
    return to_entry(session.execute(entry_query().where(Node.id == node_id)).one())


def resolve_as(session: HasConnection, account_id: int, parts: list[str], shape: str) -> Any:
    """One row for the entry at ``parts``: ``entry`` the columns of an
    :class:`Entry`; ``folder`` a :class:`FolderRow`'s."""
    query = _ENTRY_AT if shape == "entry" else _FOLDER_AT
    return session.connection().execute(query, _at_params(account_id, parts)).one_or_none()


def lock_folder(session: HasConnection, folder_id: int, key: str, *, sqlite: bool) -> str:
    """Inside a write: make the writers of names in one folder take turns, so that
    two of the same name end as the caller asked (replace, rename or Exists), never
    in a unique-index error, and return the folder's key as it is now (``key``, as
    the caller found it). SQLite's writers take turns already (``sqlite``); on
    PostgreSQL the folder's row is locked until the transaction ends, and each
    statement after the wait sees what the writer before committed (a move of the
    folder, or its delete, included)."""
    if sqlite:
        return key
    current = session.connection().execute(LOCK_FOLDER, {"folder": folder_id}).scalar()
    if current is None or current.startswith(HIDDEN):
        raise NotFound("the folder was deleted meanwhile")
    return str(current)


def _children(
    session: Session, folder_id: int, after: str | None, limit: int | None
) -> list[Entry]:
    query = entry_query().where(Node.parent_id == folder_id)
    if after is not None:
        query = query.where(Node.name > after)
    query = query.order_by(Node.name)
    if limit is not None:
        query = query.limit(limit)
    return [to_entry(row) for row in session.connection().execute(query)]


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


def require_blob(session: Session, node: Node, blob_key: str | None) -> None:
    """Inside a transaction: unless ``blob_key`` is ``None``, :class:`Changed` unless
    ``node`` is a file whose bytes are the blob of that key (a write told to act on
    the bytes it found, which another write may have replaced)."""
    if blob_key is None:
        return
    current = None
    if node.blob_id is not None:
        current = session.scalar(select(Blob.key).where(Blob.id == node.blob_id))
    if current != blob_key:
        raise Changed(f"{node.name} was written while it was read; send the request again")
