"""Object metadata: what PutObject (and CopyObject with ``REPLACE``) keeps of a
request's headers, and what GetObject and HeadObject answer with.

The file keeps, in :attr:`gateway.storage.Entry.meta`, header names (lowercase) to
values as they were received:

- user metadata, the ``x-amz-meta-*`` headers: at most 2 KB in all, counting names
  (without the prefix) and values, as S3 does (``MetadataTooLarge``);
- ``Cache-Control``, ``Content-Disposition``, ``Content-Encoding`` (without the
  ``aws-chunked`` of a streaming upload), ``Content-Language`` and ``Expires``.

``Content-Type`` is the file's own content type, and ``x-amz-meta-mtime`` (as rclone
writes it) its modification time: both are answered from the file, so a change made
over WebDAV or REST shows here too. The mtime's text as given is kept as well and
answered while it still names the file's time: rclone writes nanoseconds, which a
stored float cannot hold, and compares them to the nanosecond on its next sync.
GetObject's and HeadObject's ``response-*`` query parameters replace the headers
they name in the answer.
"""

from __future__ import annotations

import base64
import email.header
import math
from collections.abc import Mapping
from dataclasses import dataclass

from api.s3.buckets import last_modified
from api.s3.errors import InvalidArgument, MetadataTooLarge
from gateway.storage import Entry

USER_PREFIX = "x-amz-meta-"
CHECKSUM_PREFIX = "x-amz-checksum-"
"""The object's checksum and its type (``x-amz-checksum-type``), kept with the file's
metadata by PutObject and CompleteMultipartUpload."""
MTIME = "x-amz-meta-mtime"
MAX_USER_METADATA = 2 * 1024
"""S3's limit on user metadata, in bytes of names (without the prefix) and values."""
MTIME_SLACK = 1e-6
"""How far a kept ``x-amz-meta-mtime`` text may be from the file's stored time (a
float: about 0.2 µs apart at today's times) and still be answered as given."""
MTIME_OWN = 1.0
"""How far a file's modification time must be from its LastModified to be a time
of its own (:func:`carries_mtime`): a write without one stores the two together."""
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
STANDARD = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)
"""Standard headers an object keeps, besides its Content-Type."""
OVERRIDES = {
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
    "response-content-language": "content-language",
    "response-content-type": "content-type",
    "response-expires": "expires",
}
"""GetObject's query parameters that replace a header of the answer."""


@dataclass(frozen=True)
class ObjectMeta:
    """What a write says about its object. A write commits it as the file's
    ``content_type``, ``mtime`` (``None``: the time of the write) and ``meta``
    (see :meth:`gateway.storage.Storage.upload`)."""

    content_type: str
    mtime: float | None
    meta: dict[str, str]


def from_headers(headers: Mapping[str, str]) -> ObjectMeta:
    """The metadata a PutObject (or CreateMultipartUpload, or CopyObject with
    ``REPLACE``) gives with its headers (by lowercase name, a repeated one's values
    joined with commas: :attr:`api.s3.context.S3Request.headers`); ``MetadataTooLarge``
    past S3's limit."""
    meta: dict[str, str] = {}
    user_size = 0
    for name in headers:
        if not name.startswith(USER_PREFIX):
            continue
        value = _from_the_wire(headers[name])
        user_size += _size(name.removeprefix(USER_PREFIX)) + _size(value)
        if name != MTIME or _mtime(value) is not None:
            meta[name] = value
    if user_size > MAX_USER_METADATA:
        raise MetadataTooLarge(
            f"Your metadata headers exceed the maximum allowed metadata size "
            f"({user_size} bytes; the limit is {MAX_USER_METADATA})."
        )
    for name in STANDARD:
        given = headers.get(name)
        if given is not None and name == "content-encoding":
            given = _without_aws_chunked(given)
        if given:
            meta[name] = given
    return ObjectMeta(
        content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
        mtime=_mtime(headers.get(MTIME)),
        meta=dict(sorted(meta.items())),
    )


def answer_headers(
    entry: Entry, query: Mapping[str, str], *, checksum_mode: bool = False
) -> dict[str, str]:
    """The metadata headers of a GetObject or HeadObject answer for ``entry``, with
    the request's ``response-*`` overrides; with ``checksum_mode`` (the request's
    ``x-amz-checksum-mode: ENABLED``), the object's checksum and its type too."""
    headers = {
        name: value
        for name, value in (entry.meta or {}).items()
        if checksum_mode or not name.startswith(CHECKSUM_PREFIX)
    }
    for name, kept in headers.items():
        if name.startswith(USER_PREFIX) and not kept.isascii():
            headers[name] = _rfc2047(kept)
    given = _mtime(headers.get(MTIME))
    if (given is None and carries_mtime(entry)) or (
        given is not None and abs(given - entry.mtime) > MTIME_SLACK
    ):
        headers[MTIME] = f"{entry.mtime:.6f}"
    headers["content-type"] = entry.content_type or DEFAULT_CONTENT_TYPE
    for parameter, name in OVERRIDES.items() if query else ():
        value = query.get(parameter)
        if value is None:
            continue
        if any(character in value for character in "\r\n\x00"):
            raise InvalidArgument(f"{parameter} cannot hold line breaks or NUL.")
        headers[name] = _on_the_wire(value)
    return headers


def carries_mtime(entry: Entry) -> bool:
    """Whether ``entry`` has a modification time of its own, answered as
    ``x-amz-meta-mtime`` (rclone's): one sent with it (over S3, or set over WebDAV
    or REST since), or one that is not its LastModified (by a second or more: a time
    a WebDAV or REST client gave). An object given none has none, as on S3."""
    if MTIME in (entry.meta or {}):
        return True
    return abs(entry.mtime - last_modified(entry)) >= MTIME_OWN


def _size(text: str) -> int:
    """The bytes of a value's UTF-8."""
    return len(text.encode("utf-8", "surrogateescape"))


def _from_the_wire(value: str) -> str:
    """A user metadata value as S3 keeps it: an RFC 2047 encoded word
    (``=?UTF-8?B?...?=``) decoded, raw bytes read as UTF-8 (a header arrives as
    Latin-1, one character a byte; bytes that are not UTF-8 stay as they came)."""
    if value.startswith("=?") and value.endswith("?="):
        try:
            return str(email.header.make_header(email.header.decode_header(value)))
        except (LookupError, ValueError, UnicodeDecodeError):
            return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _rfc2047(value: str) -> str:
    """A value that is not ASCII as S3 answers it: an RFC 2047 encoded word of its
    UTF-8."""
    encoded = base64.b64encode(value.encode("utf-8", "surrogateescape")).decode("ascii")
    return f"=?UTF-8?B?{encoded}?="


def _without_aws_chunked(value: str) -> str:
    """Content-Encoding without ``aws-chunked``, which names how the request's body
    was sent, not how the object is encoded (S3 keeps the others)."""
    codings = [coding.strip() for coding in value.split(",")]
    return ",".join(coding for coding in codings if coding and coding.lower() != "aws-chunked")


def _mtime(value: str | None) -> float | None:
    """``x-amz-meta-mtime``: seconds since the epoch, as rclone writes it."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _on_the_wire(value: str) -> str:
    """A query parameter's text as a header value: its UTF-8 bytes, as S3 sends them
    (headers go out as Latin-1, one byte a character)."""
    return value.encode("utf-8", "surrogateescape").decode("latin-1")
