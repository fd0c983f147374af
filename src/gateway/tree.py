"""The vocabulary of an account's tree: entries, names and paths, and the statements
that find and write nodes, built once (building one costs more than running it).
:mod:`gateway.storage` is the engine that uses them."""

from __future__ import annotations

import functools
import re
import secrets
from base64 import b32encode
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from gateway.errors import BadRequest, Conflict, Exists, LockrError, NotFound
from gateway.models import KEY_INDEX_CHARS, Blob, Node

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
MAX_PATH_DEPTH = 64
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")
OnConflict = Literal["replace", "rename", "fail"]


@dataclass(frozen=True)
class Entry:
    """A snapshot of one folder or file, safe to pass between threads."""

    id: int
    uid: str
    account_id: int
    parent_id: int | None
    name: str
    is_dir: bool
    size: int
    content_type: str
    mtime: float
    created_at: float
    region: str | None = None
    blob_key: str | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    uploaded_at: float | None = None
    key_hash: str | None = None
    claim_hash: str | None = None
    key: str = ""
    """The full key in the account: ``docs/a.txt``, ``docs/`` for a folder."""
    meta: Mapping[str, str] | None = field(default=None, hash=False)
    """The file's metadata beyond its type, as its writer gave it (see
    :meth:`gateway.storage.Storage.upload`); ``None`` for none."""
    multipart_etag: str | None = None
    """A file sent as the parts of a multipart upload: its S3 ETag (see
    :attr:`gateway.models.Blob.multipart_etag`); ``None`` when that is its MD5."""

    @property
    def path(self) -> str:
        """The path in the account's tree (the key without a folder's ``/``)."""
        return self.key.removesuffix("/")

    @property
    def key_protected(self) -> bool:
        return self.key_hash is not None

    @property
    def file_id(self) -> str:
        """The id every API uses for a file: ``REGION_OBJECT`` (region, then uid)."""
        return f"{self.region or 'folder'}_{self.uid}"


def new_uid() -> str:
    """A random, URL-safe, underscore-free id for a node (20 characters)."""
    return b32encode(secrets.token_bytes(10)).decode().lower()


def split_path(path: str) -> list[str]:
    """``"/a//b/"`` -> ``["a", "b"]``, within the path limits: at most
    :data:`MAX_PATH_BYTES` bytes of UTF-8 and :data:`MAX_PATH_DEPTH` components, each
    checked with :func:`check_name`. Cheap, and called before any transaction, so
    an oversized path never reaches the database.

    A request's path is checked by the front and again by the engine, and clients
    name the same folders over and over: the parts of the last
    :data:`SPLIT_PATHS` short paths that passed are remembered."""
    if len(path) > SPLIT_PATH_CHARS:
        return list(_split_path(path))
    return list(_remembered_split_path(path))


SPLIT_PATHS = 1024
SPLIT_PATH_CHARS = 512
"""Paths longer than this are checked every time (the cache stays small)."""


def _split_path(path: str) -> tuple[str, ...]:
    size = _utf8_size(path, "a path")
    if size > MAX_PATH_BYTES:
        raise BadRequest(f"a path is at most {MAX_PATH_BYTES} bytes (this one is {size})")
    parts = tuple(part for part in path.split("/") if part != "")
    if len(parts) > MAX_PATH_DEPTH:
        raise BadRequest(
            f"a path has at most {MAX_PATH_DEPTH} components (this one has {len(parts)})"
        )
    for part in parts:
        check_name(part)
    return parts


_remembered_split_path = functools.lru_cache(maxsize=SPLIT_PATHS)(_split_path)


def check_name(name: str) -> str:
    """A name that may be looked up: 1-255 UTF-8 bytes, not ``.`` or ``..``, no ``/``
    or NUL. Entries made before :func:`check_new_name` existed may hold other control
    characters; they stay reachable (to rename or delete them)."""
    if name in ("", ".", ".."):
        raise BadRequest(f"{name!r} is not a usable file name")
    if "/" in name or "\x00" in name:
        raise BadRequest("a file name cannot contain '/' or NUL")
    if _utf8_size(name, "a file name") > MAX_NAME_BYTES:
        raise BadRequest(f"a file name is at most {MAX_NAME_BYTES} bytes")
    return name


def check_new_name(name: str) -> str:
    """A name for a new entry: :func:`check_name`, and no control characters
    (U+0000-U+001F, U+007F), which XML (WebDAV listings) cannot carry."""
    check_name(name)
    if CONTROL_CHARACTERS.search(name):
        raise BadRequest("a file name cannot contain control characters (U+0000-U+001F, U+007F)")
    return name


def _utf8_size(text: str, what: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadRequest(f"{what} must be valid UTF-8") from None


ENTRY_COLUMNS = (
    Node.id,
    Node.uid,
    Node.account_id,
    Node.parent_id,
    Node.name,
    Node.is_dir,
    Node.size,
    Node.content_type,
    Node.mtime,
    Node.created_at,
    Blob.region,
    Blob.key,
    Blob.md5,
    Blob.sha1,
    Blob.sha256,
    Blob.created_at,
    Node.key_hash,
    Node.claim_hash,
    Node.key,
    Node.meta,
    Blob.multipart_etag,
)


def entry_query() -> Any:
    return select(*ENTRY_COLUMNS).outerjoin(Blob, Blob.id == Node.blob_id)


def to_entry(row: Any) -> Entry:
    return Entry(*row)


# The statements of every file write, built once (building one costs more than running it).
CHILD_BY_NAME = select(
    Node.id,
    Node.is_dir,
    Node.blob_id,
    Node.size,
    Node.uid,
    Node.content_type,
    Node.created_at,
    Node.key_hash,
    Node.claim_hash,
).where(Node.parent_id == bindparam("parent"), Node.name == bindparam("child"))
UNREF_BLOB = update(Blob).where(Blob.id == bindparam("blob")).values(refcount=Blob.refcount - 1)
INSERT_BLOB = insert(Blob).returning(Blob.id)
INSERT_NODE = insert(Node).returning(Node.id)
REPLACE_CONTENT = update(Node).where(Node.id == bindparam("node"))
LOCK_FOLDER = select(Node.key).where(Node.id == bindparam("folder")).with_for_update(key_share=True)


def too_large_message(limit: int) -> str:
    return f"file too large: the limit is {limit} bytes per file"


def free_name(session: Session, parent_id: int, name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    for number in range(1, 10_000):
        candidate = f"{stem} ({number}){dot}{ext}"
        taken = session.scalar(
            select(Node.id).where(Node.parent_id == parent_id, Node.name == candidate)
        )
        if taken is None:
            return candidate
    raise Conflict(f"too many files named like {name!r}")


# -- keys -------------------------------------------------------------------------------

HIDDEN = "/"
"""Keys outside the namespace start with this (no name can: names hold no ``/``)."""

INDEXED_KEY: ColumnElement[str] = literal_column(
    f"substr(nodes.key, 1, {KEY_INDEX_CHARS})", String()
)
"""The indexed expression (:data:`~gateway.models.KEY_PREFIX_SQL`), written out so that
both databases match it to their index."""


def key_of(parts: list[str], is_dir: bool) -> str:
    """The key of the entry at ``parts``: ``a/b`` for a file, ``a/b/`` for a folder,
    ``""`` for the root."""
    if not parts:
        return ""
    return "/".join(parts) + ("/" if is_dir else "")


def child_key(parent_key: str, name: str, is_dir: bool) -> str:
    return parent_key + name + ("/" if is_dir else "")


def successor(prefix: str) -> str:
    """The smallest key after every key that starts with ``prefix`` (non-empty)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def keys_under(prefix: str) -> ColumnElement[bool]:
    """Keys that start with ``prefix`` (non-empty), through the index: a range of the
    indexed prefix, and the whole key checked where the prefix is longer than that."""
    if len(prefix) < KEY_INDEX_CHARS:
        return and_(INDEXED_KEY >= prefix, INDEXED_KEY < successor(prefix))
    return and_(
        INDEXED_KEY == prefix[:KEY_INDEX_CHARS],
        Node.key >= prefix,
        Node.key < successor(prefix),
    )


def rekey(session: Session, account_id: int, old: str, new: str) -> None:
    """Give the folder keyed ``old`` and everything below it keys starting with
    ``new`` instead, in one statement."""
    session.connection().execute(
        update(Node)
        .where(Node.account_id == account_id, keys_under(old))
        .values(
            key=literal(new, String()).concat(func.substr(Node.key, len(old) + 1, type_=String()))
        )
    )


def not_a_folder(session: Session, account_id: int, parts: list[str]) -> LockrError:
    """Why no folder is at ``parts`` (where a file was to go): :class:`Exists` when a
    file stands there or at any folder above it (a file and a folder never share a
    name; S3 would have the keys ``a`` and ``a/b`` both), :class:`NotFound` otherwise.
    One indexed query, on the error path only."""
    prefixes = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    file = session.scalar(
        select(Node.key)
        .where(
            Node.account_id == account_id,
            INDEXED_KEY.in_([key[:KEY_INDEX_CHARS] for key in prefixes]),
            Node.key.in_(prefixes),
        )
        .order_by(Node.key)
        .limit(1)
    )
    if file is not None:
        return Exists(f"{file} is a file, so it cannot hold other files")
    return NotFound(f"folder {'/'.join(parts) or '/'} does not exist")
