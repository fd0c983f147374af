"""How blobs are named in their region's object store.

A blob's key (in the database) is 32 hex digits; its object in the store is
``ab/cd/abcd…`` (the key under two levels of prefixes, which spreads an S3 store's
keys; a local store keeps the object in a file of its own layout,
:mod:`gateway.objectstore_local_layout`). A resumable upload keeps the bytes it
cannot yet send as a part (fewer than the store's smallest part) in a second object,
the *tail*, ``ab/cd/abcd….tail``.
"""

from __future__ import annotations

import re
import uuid

_KEY = re.compile(r"[0-9a-f]{32}")


def new_key() -> str:
    """A fresh random blob key."""
    return uuid.uuid4().hex


def object_key(blob_key: str) -> str:
    """The object that holds the blob ``blob_key``."""
    return f"{blob_key[:2]}/{blob_key[2:4]}/{blob_key}"


def tail_key(blob_key: str) -> str:
    """The object that holds a resumable upload's unsent tail."""
    return object_key(blob_key) + ".tail"


def blob_key_of(key: str) -> str | None:
    """The blob key an object key (of a blob or of its tail) belongs to, or ``None``
    for an object lockr did not name."""
    name = key.rsplit("/", 1)[-1].removesuffix(".tail")
    if _KEY.fullmatch(name) and key in {object_key(name), tail_key(name)}:
        return name
    return None
