"""Object operations: PutObject, GetObject, HeadObject and DeleteObject.

An object ``key`` of bucket ``b`` is the file ``b/key`` of the caller's tree; the
folders a key implies are made on PutObject, as ``mkdir -p`` would. A key ending in
``/`` names a folder (a "folder marker"): putting one (with an empty body) makes the
folder, and it reads back as an empty object. Keys with empty segments (``a//b``,
a leading ``/``) or ``.``/``..`` segments are refused: the tree has no place for them.

PutObject streams: the body passes through the checks of :mod:`s3.body` into an
:class:`gateway.upload.Upload`; the object is committed only once the payload's
signature, the additional checksums and ``Content-MD5`` agree, so a bad body stores
nothing.
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from api.s3.body import CheckedBody
from api.s3.buckets import etag, require_bucket
from api.s3.context import S3Request
from api.s3.errors import (
    InvalidArgument,
    InvalidRange,
    NoSuchKey,
    NotImplementedYet,
    PreconditionFailed,
)
from api.transfer import (
    RangeNotSatisfiable,
    precondition,
    response_window,
    stream_blocks,
)
from gateway.errors import NotFound
from gateway.storage import Entry
from gateway.timefmt import http_date
from gateway.upload import Upload

MAX_PUT_SIZE = 5 * 1024**3
"""S3's limit for one PutObject; larger objects need multipart."""
MAX_KEY_BYTES = 1024


def object_path(s3: S3Request) -> str:
    """The path in the caller's tree of the request's key (without a folder's ``/``)."""
    key = s3.key
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidArgument(f"An object key is at most {MAX_KEY_BYTES} bytes.")
    body = key.removesuffix("/")
    if not body or any(part in ("", ".", "..") for part in body.split("/")):
        raise InvalidArgument(
            "lockr keeps objects in folders: a key may not be empty, start with '/', "
            "hold '//', or have '.' or '..' segments"
        )
    return f"{s3.bucket}/{body}"


def find_object(s3: S3Request) -> Entry:
    """The file (or folder, for a key ending in ``/``) the key names, or
    ``NoSuchBucket`` / ``NoSuchKey``. Blocking."""
    path = object_path(s3)
    try:
        entry = s3.core.storage.stat(s3.account_id, path)
    except NotFound:
        require_bucket(s3)
        raise NoSuchKey() from None
    if entry.is_dir != s3.key.endswith("/"):
        raise NoSuchKey()
    return entry


def meta_mtime(value: str | None) -> float | None:
    """``x-amz-meta-mtime`` (seconds since the epoch, as rclone writes it)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


async def put_object(s3: S3Request) -> Response:
    headers = s3.request.headers
    if "x-amz-copy-source" in headers:
        raise NotImplementedYet("CopyObject is not supported yet.")
    body = CheckedBody(s3)
    path = object_path(s3)
    if s3.key.endswith("/"):
        return await _put_folder(s3, body, path)
    storage = s3.core.storage
    folder = path.rpartition("/")[0]

    def start() -> Upload:
        require_bucket(s3)
        if folder != s3.bucket:
            storage.mkdir(s3.account_id, folder, parents=True, exist_ok=True)
        return storage.upload(
            s3.account_id,
            path,
            max_size=min(s3.core.config.max_object_size, MAX_PUT_SIZE),
            expected_size=body.size,
            content_type=headers.get("content-type") or "binary/octet-stream",
            mtime=meta_mtime(headers.get("x-amz-meta-mtime")),
            on_conflict="replace",
        )

    upload = await run_in_threadpool(start)
    with upload:
        await body.pump(upload.write)

        def finish() -> Entry:
            body.verify(upload.md5)
            return upload.commit()

        entry = await run_in_threadpool(finish)
    return Response(status_code=200, headers={"ETag": etag(entry)} | body.echoed())


async def _put_folder(s3: S3Request, body: CheckedBody, path: str) -> Response:
    """A key ending in ``/``: the folder, made with its parents; no bytes allowed."""
    received = 0

    def count(piece: bytes) -> None:
        nonlocal received
        received += len(piece)

    await body.pump(count)
    body.verifier.finish()
    if received:
        raise InvalidArgument("A key ending in '/' names a folder: it cannot hold bytes.")

    def make() -> None:
        require_bucket(s3)
        s3.core.storage.mkdir(s3.account_id, path, parents=True, exist_ok=True)

    await run_in_threadpool(make)
    return Response(status_code=200, headers={"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'})


async def get_object(s3: S3Request) -> Response:
    """GetObject and HeadObject: ranges (206), conditional requests (304, 412)."""
    request = s3.request
    entry = await run_in_threadpool(find_object, s3)
    tag = etag(entry)
    modified = entry.uploaded_at or entry.mtime
    headers = {
        "ETag": tag,
        "Last-Modified": http_date(modified),
        "Accept-Ranges": "bytes",
        "x-amz-meta-mtime": f"{entry.mtime:.6f}",
    }
    status = precondition(request, tag, modified)
    if status == 304:
        return Response(status_code=304, headers=headers)
    if status is not None:
        raise PreconditionFailed()
    try:
        offset, length, code = response_window(request, entry.size, tag, modified, headers)
    except RangeNotSatisfiable:
        raise InvalidRange() from None
    # As stored: no charset added.
    headers["Content-Type"] = entry.content_type or "binary/octet-stream"
    if request.method == "HEAD" or entry.is_dir or length == 0:
        return Response(status_code=code, headers=headers)
    blocks = s3.core.storage.open(entry, offset, length)
    return StreamingResponse(stream_blocks(blocks), status_code=code, headers=headers)


async def delete_object(s3: S3Request) -> Response:
    """204 whether or not the key was there (S3's answer). The marker of a folder
    that still holds something is left: the keys under it stay."""
    storage = s3.core.storage

    def delete() -> None:
        path = object_path(s3)
        try:
            entry = storage.stat(s3.account_id, path)
        except NotFound:
            require_bucket(s3)
            return
        if entry.is_dir != s3.key.endswith("/"):
            return
        if entry.is_dir and storage.children_of(entry, limit=1):
            return
        try:
            storage.delete(s3.account_id, entry)
        except NotFound:
            pass

    await run_in_threadpool(delete)
    return Response(status_code=204)
