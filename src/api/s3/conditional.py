"""Conditional writes: PutObject and CompleteMultipartUpload with ``If-None-Match: *``
(write only if no object is at the key) or ``If-Match: ETAG`` (write only over the
object with that ETag), as S3 has them.

The condition is checked when the request starts, before any byte is taken:
``412 PreconditionFailed`` when it does not hold, ``404 NoSuchKey`` for ``If-Match``
with no object at the key; ``If-None-Match`` with anything but ``*`` is
``501 NotImplemented``. It is checked again when the object is committed, in the
commit's transaction (:func:`gateway.commit.commit_blob`: ``on_conflict="fail"``,
``if_blob``), so two writers never both win: an object written or replaced at the key
meanwhile is ``409 ConditionalRequestConflict``, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from api.s3.context import S3Request
from api.s3.errors import (
    ConditionalRequestConflict,
    NoSuchKey,
    NotImplementedYet,
    PreconditionFailed,
)
from gateway.errors import Changed, FileExists
from gateway.tree import Entry, OnConflict

T = TypeVar("T")


@dataclass(frozen=True)
class WriteCondition:
    """What the commit of a conditional write is told (see the module)."""

    on_conflict: OnConflict = "replace"
    if_blob: str | None = None


UNCONDITIONAL = WriteCondition()


def write_condition(s3: S3Request, found: Callable[[], Entry]) -> WriteCondition:
    """The request's condition, checked against the object at its key now, which
    ``found()`` gives (or raises ``NoSuchKey``; it is called only when the request
    has a condition): see the module. Blocking."""
    none_match = s3.headers.get("if-none-match")
    match = s3.headers.get("if-match")
    if none_match is None and match is None:
        return UNCONDITIONAL
    if none_match is not None and none_match.strip() != "*":
        raise NotImplementedYet(
            "A header you provided implies functionality that is not implemented: "
            "If-None-Match takes only '*'"
        )
    try:
        entry = found()
    except NoSuchKey:
        if match is not None:
            raise
        return WriteCondition(on_conflict="fail")
    if none_match is not None:
        raise PreconditionFailed()
    assert match is not None
    if not etag_matches(match, entry.multipart_etag or entry.md5 or ""):
        raise PreconditionFailed()
    return WriteCondition(if_blob=entry.blob_key)


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-Match`` header (ETags, quoted or not, comma-separated; ``*``)
    names ``etag`` (quoted or not)."""
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    return "*" in tags or etag.strip('"') in tags


def conditioned(commit: Callable[[], T]) -> T:
    """``commit()``, which commits a conditional write; ``ConditionalRequestConflict``
    when its condition no longer held in the commit's transaction. Blocking."""
    try:
        return commit()
    except (FileExists, Changed):
        raise ConditionalRequestConflict() from None
