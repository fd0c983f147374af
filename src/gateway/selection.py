"""Several entries of one account taken together, as a download of many files needs
them: the ids checked before anything is sent, then every file and folder below the
chosen ones, walked a page at a time, each with its path relative to the selection.

Folders are walked with :func:`gateway.listing.list_keys` (an indexed range of the
account's keys), so a folder of any size is read a thousand entries at a time and
nothing holds the whole tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gateway.db import Database
from gateway.errors import BadRequest, Forbidden, NotFound
from gateway.files import uid_of
from gateway.listing import list_keys
from gateway.storage import Storage
from gateway.tree import Entry

MAX_SELECTED = 200
"""The most ids one selection names (about 7 KiB of query string)."""


@dataclass(frozen=True)
class Member:
    """One entry of a selection and its path in it: ``name`` for a chosen file,
    ``folder/`` for a chosen folder, ``folder/sub/a.txt`` for what is below it
    (a folder's path ends with ``/``)."""

    path: str
    entry: Entry


def select(storage: Storage, account_id: int, ids: list[str]) -> list[Entry]:
    """The entries ``ids`` name, in that order, repeats dropped. MUST be called before
    anything is sent: 400 for no id, more than :data:`MAX_SELECTED`, or the top
    folder; 404 for an id of no entry; 403 for another account's entry."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise BadRequest("name at least one file or folder: ?id=…")
    if len(unique) > MAX_SELECTED:
        raise BadRequest(f"at most {MAX_SELECTED} ids may be named at once")
    entries = []
    for entry_id in unique:
        try:
            entry = storage.get(uid_of(entry_id))
        except NotFound:
            raise NotFound(f"no file or folder has the id {entry_id!r}") from None
        if entry.account_id != account_id:
            raise Forbidden(f"{entry_id!r} belongs to another account")
        if entry.parent_id is None:
            raise BadRequest("the top folder cannot be named; name what is in it")
        entries.append(entry)
    return entries


def members(db: Database, account_id: int, chosen: list[Entry]) -> Iterator[Member]:
    """Every chosen entry and, below each chosen folder, every folder and file in key
    order, read a page at a time as the iteration goes. Two chosen entries of one
    name (from different folders) are told apart as ``a (2).txt``."""
    taken: set[str] = set()
    for entry in chosen:
        top = _free(entry.name, taken)
        if not entry.is_dir:
            yield Member(top, entry)
            continue
        yield Member(top + "/", entry)
        after: str | None = None
        while True:
            page = list_keys(db, account_id, entry.key, after=after)
            for below in page.entries:
                if below.key != entry.key:
                    yield Member(f"{top}/{below.key[len(entry.key) :]}", below)
            if page.next_after is None:
                break
            after = page.next_after


def _free(name: str, taken: set[str]) -> str:
    """``name``, or ``stem (n).ext`` for the first n from 2 that is not taken."""
    candidate = name
    stem, dot, extension = name.rpartition(".")
    if not stem:
        stem, dot, extension = name, "", ""
    number = 2
    while candidate in taken:
        candidate = f"{stem} ({number}){dot}{extension}"
        number += 1
    taken.add(candidate)
    return candidate
