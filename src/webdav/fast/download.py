"""GET and HEAD of a file: one lookup, then its bytes streamed from the blob store.

A single range (the first, as wsgidav serves), If-Range, and the HTTP conditions
(If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) follow wsgidav's
rules exactly, through the same helpers of :mod:`wsgidav.util`, so both paths answer
alike. The first block is read in the request's job: a small file is answered with
no further hop to a worker thread. Folders, the root and other homes are wsgidav's
(403 or 404 pages)."""

from __future__ import annotations

from wsgidav import util
from wsgidav.dav_error import HTTP_RANGE_NOT_SATISFIABLE, DAVError

from gateway.storage import Entry
from gateway.timefmt import http_date
from webdav.answers import Answer, Receive, dav_error_answer, empty, error_page
from webdav.fast.dispatch import CONDITIONAL, Fast, has_body
from webdav.request import DavRequest

ACCEPT_RANGES = (b"accept-ranges", b"bytes")


async def download(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """GET or HEAD of a file inside the caller's home, or ``None``."""
    if has_body(request) or request.headers.get("depth", "0") != "0":
        return None
    return await fast.run(_download, request, fast)


class _File:
    """The two questions wsgidav's condition helper asks of a resource."""

    def support_etag(self) -> bool:
        return True

    def support_modified(self) -> bool:
        return True


def _download(request: DavRequest, fast: Fast) -> Answer | None:
    inner = fast.enter(request, plain=False)
    if not inner:
        return None
    entry = fast.lookup(request, inner)
    if entry is None:
        return empty(404) if request.method == "HEAD" else error_page(404, request.normal_path)
    if entry.is_dir:
        return None
    try:
        status, start, length, headers = _window(request, entry)
    except DAVError as error:
        return dav_error_answer(error)
    if request.method == "HEAD" or length == 0:
        return Answer(status, headers)
    blocks = fast.core.storage.open(entry, start, length)
    return Answer(status, headers, next(blocks, b""), blocks)


def _window(request: DavRequest, entry: Entry) -> tuple[int, int, int, list[tuple[bytes, bytes]]]:
    """The answer's status, where its bytes start, their length, and its headers.
    Raises DAVError (304, 412, 416) as wsgidav does (which, for HEAD, leaves the
    body out of some of its error pages and not of others)."""
    headers = request.headers
    etag = entry.md5 or ""
    if any(name in headers for name in CONDITIONAL):
        util.evaluate_http_conditionals(
            _File(),
            int(entry.mtime),
            etag,
            {
                f"HTTP_{name.upper().replace('-', '_')}": headers[name]
                for name in CONDITIONAL
                if name in headers
            }
            | {"REQUEST_METHOD": request.method},
        )
    size = entry.size
    answer = [
        (b"content-type", (entry.content_type or "application/octet-stream").encode()),
        (b"last-modified", http_date(entry.mtime).encode()),
        (b"etag", f'"{etag}"'.encode()),
        ACCEPT_RANGES,
    ]
    wanted = headers.get("range")
    if wanted is None or size == 0 or not _range_applies(headers.get("if-range"), entry, etag):
        answer.append((b"content-length", b"%d" % size))
        return 200, 0, size, answer
    ranges, _ = util.obtain_content_ranges(wanted, size)
    if not ranges:
        raise DAVError(
            HTTP_RANGE_NOT_SATISFIABLE,
            "No valid ranges present",
            add_body=request.method != "HEAD",
        )
    start, end, length = ranges[0]
    answer.append((b"content-length", b"%d" % length))
    answer.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
    return 206, start, length, answer


def _range_applies(if_range: str | None, entry: Entry, etag: str) -> bool:
    """If-Range as wsgidav reads it: a date that must equal the modification time's
    second, or else an entity tag."""
    if if_range is None:
        return True
    seconds: int | None = util.parse_time_string(if_range)
    if seconds:
        return int(entry.mtime) == seconds
    return if_range.strip('" ') == etag
