"""Listing an account's namespace by key prefix, in key (byte) order, as S3 lists a
bucket: every entry's key is a column indexed by its account, so a page costs an
indexed range scan of about its own size, however large the account.

Keys are S3's: ``docs/a.txt`` for a file, ``docs/`` for a folder (its marker). With a
delimiter (``/``), the keys under the prefix that hold another ``/`` roll up into
common prefixes, one per folder, and the scan jumps past each folder's contents with
one more indexed query; without one, the whole subtree is listed, folders included.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func

from gateway.db import Database
from gateway.models import KEY_INDEX_CHARS, Node
from gateway.tree import HIDDEN, INDEXED_KEY, Entry, entry_query, successor, to_entry

MAX_KEYS = 1000
"""The most entries and common prefixes one page holds (S3's limit too)."""


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
    delimiter: bool = False,
    after: str | None = None,
    limit: int = MAX_KEYS,
) -> Listing:
    """Up to ``limit`` entries (and, with ``delimiter``, common prefixes) of the
    account whose keys start with ``prefix``, after the key ``after``. With a
    delimiter, an ``after`` that is a common prefix skips everything under it."""
    limit = max(1, min(limit, MAX_KEYS))
    # The scan starts at ``low`` (itself included or not) and stays under the prefix.
    low, inclusive = prefix, bool(prefix)  # the root's key, "", is never listed
    if after is not None and after >= prefix:
        if delimiter and after.endswith("/") and after != prefix:
            low, inclusive = successor(after), True  # past a common prefix
        else:
            low, inclusive = after, False
    entries: list[Entry] = []
    prefixes: list[str] = []
    last: str | None = None
    with db.read() as session:
        connection = session.connection()
        # With a delimiter the next row often starts another folder (a jump past it),
        # so rows are fetched a few at a time, more while they keep being entries.
        batch = 4 if delimiter else limit + 1
        while True:
            room = limit - len(entries) - len(prefixes)
            want = min(room + 1, batch)
            conditions = _scan(account_id, prefix, low, inclusive)
            query = entry_query().where(*conditions).order_by(INDEXED_KEY, Node.key).limit(want)
            rows = connection.execute(query).all()
            jumped = False
            for row in rows:
                entry = to_entry(row)
                rest = entry.key[len(prefix) :]
                slash = rest.find("/") if delimiter else -1
                if len(entries) + len(prefixes) == limit:
                    return Listing(entries, prefixes, last)
                if slash >= 0:
                    common = prefix + rest[: slash + 1]
                    prefixes.append(common)
                    last = common
                    low, inclusive = successor(common), True
                    jumped = True
                    break
                entries.append(entry)
                last = low = entry.key
                inclusive = False
            if jumped:
                batch = 4
            elif len(rows) < want:
                return Listing(entries, prefixes, None)  # the range has no more
            else:
                batch *= 4


def _scan(account_id: int, prefix: str, low: str, inclusive: bool) -> list[ColumnElement[bool]]:
    """The account's keys from ``low`` that start with ``prefix``, as one range of the
    index (one lower and one upper bound on the indexed key prefix, so that both
    databases seek to the start and stop at the end), the whole key checked after."""
    conditions = [
        Node.account_id == account_id,
        INDEXED_KEY >= low[:KEY_INDEX_CHARS],
        Node.key >= low if inclusive else Node.key > low,
    ]
    if not prefix:
        conditions.append(func.substr(Node.key, 1, 1) != HIDDEN)  # trees out of sight
    elif len(prefix) < KEY_INDEX_CHARS:
        conditions.append(INDEXED_KEY < successor(prefix))
    else:
        conditions += [INDEXED_KEY == prefix[:KEY_INDEX_CHARS], Node.key < successor(prefix)]
    return conditions
