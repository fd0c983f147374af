"""Listing an account's namespace by key prefix, in key (byte) order, as S3 lists a
bucket: every entry's key is a column indexed by its account, so a page costs an
indexed range scan of about its own size, however large the account.

Keys are S3's: ``docs/a.txt`` for a file, ``docs/`` for a folder (its marker). With a
delimiter (any non-empty string, as S3 takes), each key under the prefix that holds
the delimiter after the prefix rolls up into the common prefix that ends at its first
delimiter there, and the scan seeks past every key of that common prefix with one
more indexed query, so a page costs about its own size however many keys a common
prefix holds; without one, the whole subtree is listed, folders included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, String, bindparam, func, or_, select

from gateway.db import Database
from gateway.models import KEY_INDEX_CHARS, Node
from gateway.tree import (
    HIDDEN,
    INDEXED_KEY,
    Entry,
    entry_query,
    keys_under,
    successor,
    to_entry,
)

MAX_KEYS = 1000
"""The most entries and common prefixes one page holds (S3's limit too)."""


OBJECT: ColumnElement[bool] = or_(Node.is_dir.is_(False), Node.content_type != "")
"""The entries that are S3 objects: files, and folder markers. A folder marker is a
folder with a content type: one that an S3 PutObject of ``key/`` made or marked, the
object ``key/`` of S3 (other folders have none; a front that makes a marker MUST give
it one, and one that deletes the marker of a folder that stays MUST clear it)."""


def holds_objects(connection: Connection, account_id: int, folder_key: str) -> bool:
    """Whether anything below the folder keyed ``folder_key`` is an object
    (:data:`OBJECT`): one indexed query, which passes over folders alone."""
    found = connection.execute(
        select(Node.id)
        .where(Node.account_id == account_id, keys_under(folder_key), OBJECT)
        .where(Node.key != folder_key)
        .limit(1)
    )
    return found.first() is not None


@dataclass(frozen=True)
class Listing:
    """One page: ``entries`` and ``prefixes`` (common prefixes) in key order, and the
    marker to pass as ``after`` for the next page (``None`` on the last)."""

    entries: list[Entry]
    prefixes: list[str]
    next_after: str | None


def list_keys(
    db: Database,
    account_id: int,
    prefix: str = "",
    *,
    delimiter: str | None = None,
    after: str | None = None,
    limit: int = MAX_KEYS,
    objects: bool = False,
) -> Listing:
    """Up to ``limit`` entries (and, with a ``delimiter``, common prefixes) of the
    account whose keys start with ``prefix``, after the key ``after``, in key order.
    With ``objects``, only S3's objects (:data:`OBJECT`) are listed or rolled up, as
    S3 lists a bucket: a folder is a common prefix only while an object lies below it.
    With a delimiter, an ``after`` that is itself a common prefix (the prefix, then
    anything up to and including the first delimiter) skips every key under it, as S3
    resumes from a ``NextMarker`` that names one."""
    limit = max(1, min(limit, MAX_KEYS))
    delimiter = delimiter or None
    # The scan starts at ``low`` (itself included or not) and stays under the prefix.
    low, inclusive = prefix, bool(prefix)  # the root's key, "", is never listed
    if after is not None and after >= prefix:
        if delimiter is not None and common_prefix(after, prefix, delimiter) == after:
            low, inclusive = successor(after), True  # past a common prefix
        else:
            low, inclusive = after, False
    entries: list[Entry] = []
    prefixes: list[str] = []
    last: str | None = None
    shape = _shape(prefix)
    params = _bounds(account_id, prefix, shape)
    with db.lookup() as connection:
        # With a delimiter the next row often starts another folder (a jump past it),
        # so rows are fetched a few at a time, more while they keep being entries.
        batch = 2 if delimiter is not None else limit + 1
        while True:
            room = limit - len(entries) - len(prefixes)
            want = min(room + 1, batch)
            params |= {"low": low, "low_head": low[:KEY_INDEX_CHARS], "want": want}
            rows = connection.execute(_PAGES[shape, inclusive, objects], params).all()
            jumped = False
            for row in rows:
                entry = to_entry(row)
                if len(entries) + len(prefixes) == limit:
                    return Listing(entries, prefixes, last)
                common = None if delimiter is None else common_prefix(entry.key, prefix, delimiter)
                if common is not None:
                    prefixes.append(common)
                    last = common
                    low, inclusive = successor(common), True
                    jumped = True
                    break
                entries.append(entry)
                last = low = entry.key
                inclusive = False
            if jumped:
                batch = 2
            elif len(rows) < want:
                return Listing(entries, prefixes, None)  # the range has no more
            else:
                batch *= 4


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix ``key`` (which starts with ``prefix``) rolls up into: the key
    up to and including the first ``delimiter`` after ``prefix``; ``None`` if there
    is none (the key is listed as itself)."""
    found = key.find(delimiter, len(prefix))
    return None if found < 0 else key[: found + len(delimiter)]


_ROOT, _SHORT, _LONG = "root", "short", "long"
"""The prefix's shapes: none (the whole namespace, trees out of sight left out), one
that the indexed key prefix holds whole, and a longer one."""


def _shape(prefix: str) -> str:
    if not prefix:
        return _ROOT
    return _SHORT if len(prefix) < KEY_INDEX_CHARS else _LONG


def _bounds(account_id: int, prefix: str, shape: str) -> dict[str, object]:
    """The parameters that stay the same for every page of one listing."""
    if shape == _ROOT:
        return {"account": account_id}
    if shape == _SHORT:
        return {"account": account_id, "upper_head": successor(prefix)}
    return {
        "account": account_id,
        "prefix_head": prefix[:KEY_INDEX_CHARS],
        "upper": successor(prefix),
    }


def _page_query(shape: str, *, inclusive: bool, objects: bool) -> Any:
    """The account's keys (its objects' only, with ``objects``) from ``low`` (itself
    included or not) that start with the prefix, as one range of the index (one lower
    and one upper bound on the indexed key prefix, so that both databases seek to the
    start and stop at the end), the whole key checked after; at most ``want`` rows."""
    low = bindparam("low", type_=String())
    conditions = [
        Node.account_id == bindparam("account"),
        INDEXED_KEY >= bindparam("low_head", type_=String()),
        Node.key >= low if inclusive else Node.key > low,
    ]
    if objects:
        conditions.append(OBJECT)
    if shape == _ROOT:
        conditions.append(func.substr(Node.key, 1, 1) != HIDDEN)
    elif shape == _SHORT:
        conditions.append(INDEXED_KEY < bindparam("upper_head", type_=String()))
    else:
        conditions += [
            INDEXED_KEY == bindparam("prefix_head", type_=String()),
            Node.key < bindparam("upper", type_=String()),
        ]
    return (
        entry_query()
        .where(*conditions)
        .order_by(INDEXED_KEY, Node.key)
        .limit(bindparam("want", type_=Integer()))
    )


_PAGES = {
    (shape, inclusive, objects): _page_query(shape, inclusive=inclusive, objects=objects)
    for shape in (_ROOT, _SHORT, _LONG)
    for inclusive in (False, True)
    for objects in (False, True)
}
"""Built once: a listing runs one or more of them per page."""
