"""A folder as people browse it: its entries sorted by name, size, modification time or
type, folders first, a page at a time.

Pages are *keyset* pages: a page ends at a :class:`Position` (the last entry's sort
value and name, names being unique in a folder), and the next page starts just after
it, so a page never repeats or skips an entry however the folder changes between
pages, and no page costs an ``OFFSET``. For each page the database sorts the ids of
the folder's entries after the position (folders first, which no index keeps), then
reads only the page's entries whole: a page of a folder of 10,000 entries costs a few
milliseconds on SQLite, and grows with the folder (``benchmarks/folders.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select

from gateway.db import Database
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.models import Node
from gateway.storage import Storage
from gateway.tree import Entry, entry_query, to_entry

Sort = Literal["name", "size", "modified", "type"]
SORTS: dict[str, Any] = {
    "name": Node.name,
    "size": Node.size,
    "modified": Node.mtime,
    "type": Node.content_type,
}
MAX_PAGE = 1000


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last entry's kind, sort value and name."""

    is_dir: bool
    value: str | int | float
    name: str


@dataclass(frozen=True)
class FolderPage:
    """A page of ``folder``'s entries; ``next`` is where the next page starts
    (``None`` on the last page); ``count`` is the number of entries in the folder,
    given when asked for (it reads every entry's index row)."""

    folder: Entry
    entries: list[Entry]
    next: Position | None
    count: int | None


class Folders:
    def __init__(self, db: Database, storage: Storage) -> None:
        self.db = db
        self.storage = storage

    def page(
        self,
        account_id: int,
        path: str,
        *,
        sort: str = "name",
        descending: bool = False,
        after: Position | None = None,
        limit: int = 100,
        folders_only: bool = False,
        count: bool = False,
    ) -> FolderPage:
        """Up to ``limit`` entries of the folder at ``path`` (``""``: the root),
        folders first, each kind ordered by ``sort`` (then by name) ascending or
        ``descending``, starting after ``after``. 404 for no such folder; 409 for a
        file; 400 for an unknown sort or a limit outside 1-1000."""
        column = SORTS.get(sort)
        if column is None:
            raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        folder = self.storage.stat(account_id, path)
        if not folder.is_dir:
            raise Conflict(f"{folder.path} is a file, not a folder")
        order: list[Any] = [Node.is_dir.desc()]
        order += [column.desc(), Node.name.desc()] if descending else [column, Node.name]
        # The page's ids are sorted from the folder's rows alone; only the page's
        # entries are then read whole, with their blobs (half the cost at 10,000).
        ids = select(Node.id).where(Node.parent_id == folder.id)
        if folders_only:
            ids = ids.where(Node.is_dir.is_(True))
        if after is not None:
            ids = ids.where(_after(column, after, descending=descending))
        chosen = ids.order_by(*order).limit(limit + 1).subquery()
        query = entry_query().join(chosen, chosen.c.id == Node.id).order_by(*order)
        with self.db.lookup() as connection:
            entries = [to_entry(row) for row in connection.execute(query)]
            total = None
            if count:
                condition = [Node.parent_id == folder.id]
                if folders_only:
                    condition.append(Node.is_dir.is_(True))
                total = connection.execute(
                    select(func.count()).select_from(Node).where(*condition)
                ).scalar_one()
        following = None
        if len(entries) > limit:
            entries = entries[:limit]
            last = entries[-1]
            following = Position(last.is_dir, _value_of(last, sort), last.name)
        return FolderPage(folder, entries, following, total)

    def folder_of(self, account_id: int, uid: str) -> Entry:
        """The account's folder with ``uid`` (a move's destination); 404 otherwise."""
        entry = self.storage.get(uid)
        if entry.account_id != account_id or not entry.is_dir:
            raise NotFound("no such folder")
        return entry


def _after(column: Any, position: Position, *, descending: bool) -> ColumnElement[bool]:
    """The entries after ``position`` in the order folders first, then ``column`` and
    name (both descending with ``descending``)."""

    def beyond(column: Any, value: object) -> ColumnElement[bool]:
        return column < value if descending else column > value  # type: ignore[no-any-return]

    same_kind = Node.is_dir.is_(position.is_dir)
    if column is Node.name:
        later = beyond(Node.name, position.name)
    else:
        later = or_(
            beyond(column, position.value),
            and_(column == position.value, beyond(Node.name, position.name)),
        )
    # Folders come first in both orders: after a folder, every file follows.
    files_after = Node.is_dir.is_(False) if position.is_dir else None
    condition = and_(same_kind, later)
    return condition if files_after is None else or_(files_after, condition)


def _value_of(entry: Entry, sort: str) -> str | int | float:
    if sort == "size":
        return entry.size
    if sort == "modified":
        return entry.mtime
    if sort == "type":
        return entry.content_type
    return entry.name
