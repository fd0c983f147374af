"""Where a local object store keeps each object: its *layout*.

Keys are ``/``-separated, and an object is the file its key names under the store's
root, with one exception that makes the two layouts:

- **flat**, every store made since this layout came: a key of lockr's blob shape
  (:mod:`gateway.blobkeys`: ``ab/cd/abcd…``, the key ``abcd…`` 32 hex digits, with
  or without ``.tail``) is the file ``ab/abcd…``, one level deep. The 256 folders
  ``00`` to ``ff`` are made when the store is, so that no write of a blob ever makes
  a folder (a folder per write cost a mkdir, a chmod and an fsync of its parent, and
  a 4 KiB block, on every store with fewer blobs than the 65,536 leaf folders of
  ``ab/cd/``). The store says so in the marker file ``@layout`` in its root (holding
  ``flat``); its name is no key (``@`` is not a key character), so no object can be it.
- **nested**, a store without the marker that earlier versions made: every key is
  its file, ``ab/cd/abcd…`` included. It stays so; nothing is moved.

Any other key is its file in both, so a key of another shape MAY name the same file as
a blob's (``ab/abcd…`` in a flat store): the local store is meant for lockr's blob keys
(and the arbitrary keys of its contract tests, which never take that shape).

A store is told apart when it is opened: by the marker (a flat store, whose missing
folders are made again); or else by a folder ``ab/cd/`` (a nested store: earlier
versions made one with a blob and never removed it), unless a blob's file is found
first right in an ``ab/`` (a flat store restored without its marker); or else it is
new, or an empty store of an earlier version, and is made flat. A new store gets the
marker first, made durable, then the folders, and the root is fsynced before the
store is used (on every opening of a flat store too, since another process opening
it at once may have made them): a crash between the two leaves the marker. Processes
opening one new store together agree: none makes an ``ab/cd/`` before the marker
exists, and each reads the marker again after looking for one. Earlier versions do
not read the marker: a flat store MUST NOT be opened by them.
"""

from __future__ import annotations

import enum
import os
import re
import uuid
from pathlib import Path

from gateway.errors import Conflict
from gateway.private import fsync_folder, open_private, private_folder

MARKER = "@layout"
"""The file in a flat store's root that names its layout (none in a nested store)."""

_FOLDERS = [f"{number:02x}" for number in range(256)]
_FOLDER = re.compile(r"[0-9a-f]{2}")
_FLAT_FILE = re.compile(r"[0-9a-f]{32}(?:\.tail)?")
_BLOB = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{28}(?:\.tail)?")


class Layout(enum.Enum):
    """The two layouts; :meth:`file` maps a checked key to its file under the root."""

    NESTED = "nested"
    FLAT = "flat"

    def file(self, key: str) -> str:
        """The file, relative to the store's root, that holds the object ``key``."""
        if self is Layout.FLAT and _BLOB.fullmatch(key):
            return key[:3] + key[6:]
        return key


def open_layout(root: Path, scratch: Path) -> Layout:
    """The layout of the store at ``root`` (an existing folder), made flat if the store
    is new: the marker (written by way of a file in the existing folder ``scratch``)
    and the 256 folders are durable when this returns. A marker naming a layout this
    version does not know is :class:`Conflict`."""
    layout = _read_marker(root)
    if layout is None:
        nested = _earlier_blob_folders(root)
        # Read again after the listing: see the module's docstring.
        layout = _read_marker(root)
        if layout is None:
            if nested:
                return Layout.NESTED
            _write_marker(root, scratch, Layout.FLAT)
    _make_folders(root, set(os.listdir(root)))
    # Also when nothing was missing: another process opening the store may have made
    # the marker or a folder and not yet made it durable.
    fsync_folder(root)
    return Layout.FLAT


def _earlier_blob_folders(root: Path) -> bool:
    """Whether the store holds a folder ``ab/cd/``, where earlier versions kept blobs
    (made with the first blob in it, and left when the blobs went). The first blob
    file found in a folder ``ab/`` says no: a flat store that lost its marker."""
    for name in sorted(os.listdir(root)):
        if not _FOLDER.fullmatch(name):
            continue
        try:
            inside = os.scandir(root / name)
        except (NotADirectoryError, FileNotFoundError):
            continue
        with inside:
            for entry in inside:
                if _FOLDER.fullmatch(entry.name):
                    return True
                if _FLAT_FILE.fullmatch(entry.name):
                    return False
    return False


def _read_marker(root: Path) -> Layout | None:
    try:
        named = (root / MARKER).read_text().strip()
    except FileNotFoundError:
        return None
    if named != Layout.FLAT.value:
        raise Conflict(
            f"the object store {str(root)!r} is laid out as {named!r}, "
            "which this version of lockr does not know"
        )
    return Layout.FLAT


def _write_marker(root: Path, scratch: Path, layout: Layout) -> None:
    """Make the marker naming ``layout`` durable in one step (several processes may
    write it at once: each its own file, renamed over the others' marker)."""
    temp = scratch / f".layout-{uuid.uuid4().hex}"
    fd = open_private(temp, os.O_WRONLY | os.O_EXCL)
    try:
        os.write(fd, f"{layout.value}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, root / MARKER)
    fsync_folder(root)


def _make_folders(root: Path, present: set[str]) -> None:
    """Make the folders of a flat store not in ``present``, owner-only (the caller
    fsyncs the root)."""
    for name in _FOLDERS:
        if name not in present:
            private_folder(root / name)  # one made meanwhile by another process is fine
