"""Moving bytes over HTTP without holding them: request bodies pumped into the core
about 1 MiB at a time, responses streamed from blobs, and the Range and
conditional-request rules of RFC 9110."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from gateway.feed import Pieces
from gateway.numbers import whole_number_or_none

BLOCK = 1024 * 1024


async def pump(
    request: Request, write: Callable[[bytes], None], *, limit: int | None = None
) -> tuple[int, bool]:
    """Feed the request body to ``write`` (run in a worker thread) piece by piece, in
    the pieces it arrives in (runs of small ones joined: :class:`gateway.feed.Pieces`),
    handing about 1 MiB of them to the thread at a time and receiving the next while
    the last are written and hashed, so about 2 MiB are held and no byte is copied on
    the way. Stops after ``limit`` bytes if given. Returns ``(bytes, complete)``;
    ``complete`` is False when the client went away or sent more than ``limit``."""
    pending: asyncio.Task[None] | None = None
    written = 0

    def write_all(pieces: list[bytes]) -> None:
        for piece in pieces:
            write(piece)

    async def hand_over(pieces: Pieces) -> None:
        nonlocal pending, written
        if pending is not None:
            await pending
        written += pieces.size
        pending = asyncio.ensure_future(run_in_threadpool(write_all, pieces.take()))

    pieces = Pieces()
    complete = True
    try:
        try:
            async for chunk in request.stream():
                if limit is not None and written + pieces.size + len(chunk) > limit:
                    chunk = chunk[: limit - written - pieces.size]
                    complete = False
                pieces.add(chunk)
                if not complete:
                    break
                if pieces.size >= BLOCK:
                    await hand_over(pieces)
        except ClientDisconnect:
            complete = False
        if pieces.size:
            await hand_over(pieces)
    finally:
        if pending is not None:
            await pending
    return written, complete


def declared_length(request: Request) -> int | None:
    """The Content-Length, unless the body is chunked."""
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        return None
    return whole_number_or_none(request.headers.get("content-length"))


async def stream_blocks(blocks: Iterator[bytes]) -> AsyncIterator[bytes]:
    async for block in iterate_in_threadpool(blocks):
        yield block


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(Exception):
    pass


_RANGE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$")
BEYOND_ANY_FILE = 1 << 63


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """A single ``bytes=`` range, or None for the whole body. Several ranges, or a
    form this does not know, are answered with the whole body, as RFC 9110 allows.
    Raises RangeNotSatisfiable for a range wholly past the end."""
    if not header or "," in header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = _position(last)
        if suffix == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1) if size else None
    start = _position(first)
    end = size - 1 if last == "" else min(_position(last), size - 1)
    if last != "" and _position(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, end)


def _position(digits: str) -> int:
    """A byte position; one too long to be a number is past the end of any file."""
    value = whole_number_or_none(digits)
    return BEYOND_ANY_FILE if value is None else value


def _http_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if weak and candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def precondition(
    request: Request,
    etag: str,
    last_modified: float,
    *,
    prefix: str = "",
) -> int | None:
    """304 or 412 when a conditional request says so, else None (RFC 9110 13.2.2).
    A GET or HEAD of an unchanged representation is 304. With a ``prefix`` (S3's
    ``x-amz-copy-source-``), the conditions so named are read as a GET's would be,
    about the source a request copies from."""
    headers = request.headers
    reading = bool(prefix) or request.method in ("GET", "HEAD")
    if_match = headers.get(prefix + "if-match")
    if if_match is not None:
        if not _etag_matches(if_match, etag, weak=False):
            return 412
    else:
        since = _http_time(headers.get(prefix + "if-unmodified-since"))
        if since is not None and int(last_modified) > since:
            return 412
    if_none_match = headers.get(prefix + "if-none-match")
    if if_none_match is not None:
        if _etag_matches(if_none_match, etag, weak=True):
            return 304 if reading else 412
    elif reading:
        modified_since = _http_time(headers.get(prefix + "if-modified-since"))
        if modified_since is not None and int(last_modified) <= modified_since:
            return 304
    return None


def response_window(
    request: Request, size: int, etag: str, last_modified: float, headers: dict[str, str]
) -> tuple[int, int, int]:
    """The ``(offset, length, status)`` of the answer to a GET or HEAD of ``size``
    bytes: the whole body (200) or the single range asked for (206), honouring
    If-Range. Sets ``Content-Range`` (for a range) and ``Content-Length`` in
    ``headers``. Raises RangeNotSatisfiable for a range wholly past the end."""
    byte_range = (
        parse_range(request.headers.get("range"), size)
        if range_applies(request, etag, last_modified)
        else None
    )
    if byte_range is None:
        offset, length, status = 0, size, 200
    else:
        offset, length, status = byte_range.start, byte_range.length, 206
        headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    headers["Content-Length"] = str(length)
    return offset, length, status


def range_applies(request: Request, etag: str, last_modified: float) -> bool:
    """If-Range: serve the range only if the representation is unchanged."""
    if_range = request.headers.get("if-range")
    if if_range is None:
        return True
    if if_range.startswith('"') or if_range.startswith("W/"):
        return if_range == etag
    when = _http_time(if_range)
    return when is not None and int(last_modified) <= when
