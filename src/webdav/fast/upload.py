"""PUT of a file: its body streamed into the engine's :class:`~gateway.upload.Upload`.

``X-OC-Mtime`` sets the modification time (answered with ``X-OC-Mtime: accepted``),
``OC-Checksum`` is checked before the file appears (400 on a mismatch, nothing
stored). A small body (up to :data:`SMALL_BODY`, declared) is read first and the
whole PUT, credentials to commit, is one job in a worker thread; a larger or chunked
one is pumped in 1 MiB blocks (:func:`api.transfer.pump`) once the caller and the
target are checked, so ``Expect: 100-continue`` is answered only then. Answers as
wsgidav's: 201 for a new file, 204 for a replaced one, with the ETag; 405 onto a
folder, 409 when the parent folder is missing."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.transfer import pump
from gateway.errors import Exists, LockrError, NotFound
from gateway.numbers import whole_number_or_none
from gateway.upload import Upload
from webdav.answers import MTIME_ACCEPTED, Answer, Receive, empty, error_page
from webdav.errors import dav_status
from webdav.fast.dispatch import CONDITIONAL, Answered, Fast, read_body
from webdav.request import DavRequest, parse_checksums, parse_mtime

SMALL_BODY = 256 * 1024
REFUSED = (*CONDITIONAL, "content-encoding", "content-range")
"""Headers wsgidav answers (501, 400, or conditions against the current file)."""
ON_A_FOLDER = "Cannot PUT to a collection"


async def put(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """PUT of a file inside the caller's home, or ``None``."""
    headers = request.headers
    if any(name in headers for name in REFUSED):
        return None
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = None if chunked else whole_number_or_none(headers.get("content-length") or "0")
    if length is not None and length <= SMALL_BODY and "expect" not in headers:
        body = await read_body(request, receive, SMALL_BODY)
        if body is None:
            return None
        return await fast.run(_put_small, request, fast, body)
    started = await fast.run(_start, request, fast, length, look=True)
    if not isinstance(started, tuple):
        return started
    upload, existed = started
    try:
        _, complete = await pump(Request(request.scope, receive), upload.write)
        if not complete:
            await run_in_threadpool(upload.abort)
            return error_page(400, "the request body ended early")
    except LockrError as error:
        await run_in_threadpool(upload.abort)
        answer = error_page(dav_status(error), error.message)
        answer.headers.append((b"connection", b"close"))  # the rest of the body is not read
        return answer
    except BaseException:
        await run_in_threadpool(upload.abort)
        raise
    return await fast.run(_finish, request, fast, upload, existed)


def _start(
    request: DavRequest, fast: Fast, length: int | None, *, look: bool
) -> tuple[Upload, bool | None] | None:
    """The upload of the file the request names; with ``look``, whether a file was
    there (a folder is refused before any byte)."""
    inner = fast.enter(request, plain=True)
    if not inner:
        return None
    existing = fast.lookup(request, inner) if look else None
    if existing is not None and existing.is_dir:
        raise Answered(error_page(405, ON_A_FOLDER))
    principal = request.caller
    headers = request.headers
    mtime = parse_mtime(headers.get("x-oc-mtime"))
    try:
        upload = fast.core.storage.upload(
            principal.account_id,
            inner,
            max_size=principal.max_object_size,
            expected_size=length,
            content_type=headers.get("content-type") or "",
            mtime=mtime,
        )
    except (NotFound, Exists):
        raise Answered(error_page(409, "PUT parent must be a collection")) from None
    return upload, (existing is not None) if look else None


def _put_small(request: DavRequest, fast: Fast, body: bytes) -> Answer | None:
    """The whole PUT of a body in hand: no lookup before it, the commit tells whether
    a file was replaced."""
    started = _start(request, fast, len(body), look=False)
    if started is None:
        return None
    upload, _ = started
    with upload:
        upload.write(body)
        return _finish(request, fast, upload, None)


def _finish(request: DavRequest, fast: Fast, upload: Upload, existed: bool | None) -> Answer:
    try:
        entry = upload.commit(checksums=parse_checksums(request.headers.get("oc-checksum")))
    except Exists:
        found = fast.lookup(request, request.home_path() or "")
        if found is not None and found.is_dir:
            return error_page(405, ON_A_FOLDER)
        raise
    if existed is None:
        # A file this commit made was created when it was uploaded; a replaced one before.
        existed = entry.created_at != entry.uploaded_at
    headers = [(b"etag", f'"{entry.md5}"'.encode())]
    if "x-oc-mtime" in request.headers:
        headers.append(MTIME_ACCEPTED)
    return empty(204 if existed else 201, headers)
