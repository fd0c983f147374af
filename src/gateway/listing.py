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
from gateway.models import Node
from gateway.tree import (
    HIDDEN,
    INDEXED_KEY,
    Entry,
    entry_query,
    keys_from,
    keys_under,
    successor,
    to_entry,
)

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
    base: list[ColumnElement[bool]] = [Node.account_id == account_id]
    if prefix:
        base.append(keys_under(prefix))
    else:
        base += [INDEXED_KEY > "", func.substr(Node.key, 1, 1) != HIDDEN]
    start: ColumnElement[bool] | None = None
    if after is not None and after >= prefix:
        if delimiter and after.endswith("/") and after != prefix:
            start = keys_from(successor(after))
        else:
            start = keys_from(after, inclusive=False)
    entries: list[Entry] = []
    prefixes: list[str] = []
    last: str | None = None
    with db.read() as session:
        connection = session.connection()
        while True:
            room = limit - len(entries) - len(prefixes)
            conditions = base if start is None else [*base, start]
            query = entry_query().where(*conditions).order_by(INDEXED_KEY, Node.key).limit(room + 1)
            rows = connection.execute(query).all()
            if not rows:
                return Listing(entries, prefixes, None)
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
                    start = keys_from(successor(common))
                    jumped = True
                    break
                entries.append(entry)
                last = entry.key
            if not jumped:
                # Every row fitted (one more would have ended the page above): the end.
                return Listing(entries, prefixes, None)
