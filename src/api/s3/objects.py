"""Object operations: PutObject, GetObject, HeadObject and DeleteObject.

An object ``key`` of bucket ``b`` is the file ``b/key`` of the caller's tree; the
folders a key implies are made on PutObject, as ``mkdir -p`` would. A key ending in
``/`` names a folder (a "folder marker"): putting one (with an empty body) makes the
folder, and it reads back as an empty object. Keys with empty segments (``a//b``,
a leading ``/``) or ``.``/``..`` segments are refused: the tree has no place for them.

PutObject streams: the body passes through the checks of :mod:`api.s3.body` into an
:class:`gateway.upload.Upload`; the object is committed only once the payload
verifier, the additional checksums and ``Content-MD5`` agree, so a bad body stores
nothing. The object keeps the metadata its headers give (:mod:`api.s3.metadata`),
which GetObject and HeadObject answer with, and the checksum it was sent with; one
sent without gets the CRC64NVME every upload computes (S3's default checksum,
:mod:`gateway.filechecksum`), which PutObject answers as S3 does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from api.s3.body import CheckedBody, declared_size, pump_checked
from api.s3.buckets import (
    EMPTY_ETAG,
    etag,
    last_modified,
    require_bucket,
    require_bucket_name,
)
from api.s3.checksums import stored_headers
from api.s3.conditional import conditioned, etag_matches, write_condition
from api.s3.context import S3Request
from api.s3.errors import (
    IncompleteBody,
    InvalidArgument,
    InvalidRange,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
)
from api.s3.metadata import DEFAULT_CONTENT_TYPE, ObjectMeta, answer_headers, from_headers
from api.s3.parts import part_number, part_window
from api.s3.refusals import refuse_customer_keys, refuse_unkept
from api.transfer import (
    RangeNotSatisfiable,
    declared_length,
    precondition,
    pump,
    response_window,
    stream_blocks,
)
from gateway.errors import Exists, NotFound
from gateway.filechecksum import with_checksum
from gateway.storage import Entry
from gateway.timefmt import http_date
from gateway.upload import Upload

T = TypeVar("T")

MAX_PUT_SIZE = 5 * 1024**3
"""S3's limit for one PutObject; larger objects need multipart."""
MAX_KEY_BYTES = 1024
SMALL_BODY = 256 * 1024
"""A PutObject body of at most this many bytes (as sent) is read before it is stored."""
CONDITIONS = frozenset(("if-match", "if-none-match", "if-modified-since", "if-unmodified-since"))
NOT_MODIFIED = ("ETag", "Last-Modified", "cache-control", "expires")
"""The headers a 304 answer of GetObject and HeadObject carries."""
"""The headers that make a GetObject or HeadObject conditional."""


def key_path(bucket: str, key: str) -> str:
    """The path in the caller's tree of ``key`` of ``bucket`` (without a folder's ``/``)."""
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise KeyTooLongError(
            f"Your key is too long: an object key is at most {MAX_KEY_BYTES} bytes."
        )
    body = key.removesuffix("/")
    if not body or any(part in ("", ".", "..") for part in body.split("/")):
        raise InvalidArgument(
            "lockr keeps objects in folders: a key may not be empty, start with '/', "
            "hold '//', or have '.' or '..' segments"
        )
    return f"{bucket}/{body}"


def object_path(s3: S3Request) -> str:
    """The path in the caller's tree of the request's key."""
    return key_path(s3.bucket, s3.key)


def find_object(
    s3: S3Request,
    bucket: str | None = None,
    key: str | None = None,
    *,
    bucket_found: bool = False,
) -> Entry:
    """The file (or folder, for a key ending in ``/``) the key names (the request's,
    unless another bucket and key are given), or ``NoSuchBucket`` / ``NoSuchKey``
    (``NoSuchKey`` only when ``bucket_found``: the caller has found the bucket).
    Blocking."""
    bucket = s3.bucket if bucket is None else bucket
    key = s3.key if key is None else key
    try:
        entry = s3.core.storage.stat(s3.account_id, key_path(bucket, key))
    except NotFound:
        if not bucket_found:
            require_bucket(s3, bucket)
        raise NoSuchKey() from None
    if entry.is_dir != key.endswith("/") or (entry.is_dir and not is_marker(entry)):
        raise NoSuchKey()
    return entry


def is_marker(entry: Entry) -> bool:
    """Whether the folder ``entry`` is a folder marker, the object ``key/`` (it has a
    content type: :data:`gateway.listing.OBJECT`); other folders are only implied by
    the objects below them."""
    return bool(entry.content_type)


def delete_key(s3: S3Request, key: str, *, bucket_found: bool = False) -> None:
    """Delete ``key`` of the request's bucket if it is there (``NoSuchBucket`` if the
    bucket is not, unless ``bucket_found``). A folder marker's folder goes only while
    it is empty; one that holds something stays, no longer a marker (the keys under
    it stay, as on S3). Blocking."""
    storage = s3.core.storage
    try:
        entry = find_object(s3, s3.bucket, key, bucket_found=bucket_found)
    except NoSuchKey:
        return
    try:
        if entry.is_dir and storage.children_of(entry, limit=1):
            storage.set_metadata(s3.account_id, entry, content_type="", meta={})
        else:
            storage.delete(s3.account_id, entry)
    except NotFound:
        pass


async def put_object(s3: S3Request) -> Response:
    """PutObject. A small body (:data:`SMALL_BODY`, declared, no ``Expect``) is read
    and checked first, then stored and committed in one job in a worker thread; a
    larger one is streamed into the upload (:func:`~api.s3.body.pump_checked`)."""
    request = s3.request
    headers = s3.headers
    refuse_unkept(headers)
    body = CheckedBody(s3.caller.verified, headers, hash_md5=s3.key.endswith("/"))
    path = object_path(s3)
    if s3.key.endswith("/"):
        return await _put_folder(s3, body, path)
    described = from_headers(headers)
    expected_size = declared_size(s3.caller.verified, request)
    length = declared_length(request)
    if length is not None and length <= SMALL_BODY and "expect" not in s3.headers:
        pieces = await _read_checked(request, body)

        def put_small() -> Entry:
            with _start_upload(s3, path, described, expected_size, body) as upload:
                for piece in pieces:
                    upload.write(piece)
                body.finish(upload.md5)
                upload.meta = body.stored_meta(described.meta)
                return committed(s3, lambda: conditioned(upload.commit))

        # Safe to abandon: the thread stores and commits the object, or nothing.
        entry = await s3.lookups.thread(put_small)
    else:
        upload = await run_in_threadpool(_start_upload, s3, path, described, expected_size, body)
        with upload:
            await pump_checked(request, body, upload.write)

            def finish() -> Entry:
                body.finish(upload.md5)
                upload.meta = body.stored_meta(described.meta)
                return committed(s3, lambda: conditioned(upload.commit))

            entry = await run_in_threadpool(finish)
    # The checksum sent, or the CRC64NVME the upload computed and kept (S3's default).
    answer = {"ETag": etag(entry)} | stored_headers(entry.meta)
    return Response(status_code=200, headers=answer)


def _start_upload(
    s3: S3Request, path: str, described: ObjectMeta, expected_size: int | None, body: CheckedBody
) -> Upload:
    """The upload of the request's object at ``path`` (:func:`in_folders`), once the
    request's write condition holds (:mod:`api.s3.conditional`), which its commit
    checks again; one whose ``body`` brings a checksum computes no CRC64NVME (the one
    sent is kept alone). Blocking."""
    condition = write_condition(s3, lambda: find_object(s3))
    return in_folders(
        s3,
        path,
        lambda: s3.core.storage.upload(
            s3.account_id,
            path,
            max_size=min(s3.core.config.max_object_size, MAX_PUT_SIZE),
            expected_size=expected_size,
            content_type=described.content_type,
            mtime=described.mtime,
            meta=described.meta,
            on_conflict=condition.on_conflict,
            if_blob=condition.if_blob,
            own_checksum=body.algorithm is not None,
        ),
    )


def in_folders(s3: S3Request, path: str, make: Callable[[], T]) -> T:
    """``make()``, which puts something at ``path`` of the request's bucket and needs
    the folder above it. Tried first as is (its own lookup finds the folder: the
    common case costs nothing more); if it finds none, the bucket is checked
    (``NoSuchBucket``), the folders the key implies are made, as ``mkdir -p`` would
    (``Exists`` where a file stands in the way), and ``make()`` runs again. Blocking."""
    require_bucket_name(s3.bucket)
    try:
        return make()
    except (NotFound, Exists):  # no folder at the key's parent: why, or make it
        require_bucket(s3)
        make_folders(s3, path.rpartition("/")[0])
        return make()


def make_folders(s3: S3Request, folder: str) -> None:
    """The folder at ``folder`` of the request's bucket, with those above it, made
    one level at a time: never the bucket, which a DeleteBucket may be removing now
    (a missing one is ``NoSuchBucket``, not made again). Blocking."""
    storage = s3.core.storage
    parts = folder.split("/")
    try:
        for depth in range(2, len(parts) + 1):
            storage.mkdir(s3.account_id, "/".join(parts[:depth]), exist_ok=True)
    except NotFound:
        raise NoSuchBucket() from None


def make_marker(s3: S3Request, path: str, described: ObjectMeta) -> Entry:
    """The folder marker at ``path`` (the object ``key/``): the folder, made if
    missing (:func:`make_folders`), with the content type (never empty: that marks
    it), modification time and metadata ``described``; its checksum is the one the
    metadata holds, else the CRC64NVME of no bytes (S3's default, as for any object
    sent without one). Blocking."""
    make_folders(s3, path)
    return s3.core.storage.set_metadata(
        s3.account_id,
        path,
        content_type=described.content_type or DEFAULT_CONTENT_TYPE,
        mtime=s3.core.storage.clock() if described.mtime is None else described.mtime,
        meta=with_checksum(described.meta, 0),
    )


def committed(s3: S3Request, commit: Callable[[], T]) -> T:
    """``commit()``, which commits an object of the request's bucket; ``NoSuchBucket``
    if its folder went because the bucket was deleted meanwhile. Blocking."""
    try:
        return commit()
    except NotFound:
        require_bucket(s3)
        raise


async def _read_checked(request: Request, body: CheckedBody) -> list[bytes]:
    """The payload of a small body, read whole and fed through its checks (not
    vouched for until :meth:`CheckedBody.finish`); ``IncompleteBody`` if the client
    stops short."""
    pieces: list[bytes] = []
    try:
        async for chunk in request.stream():
            pieces.extend(body.feed(chunk))
    except ClientDisconnect:
        raise IncompleteBody() from None
    return pieces


async def _put_folder(s3: S3Request, body: CheckedBody, path: str) -> Response:
    """A key ending in ``/``: the folder, made with its parents and marked as the
    object (:func:`is_marker`) with the request's metadata; no bytes allowed."""
    received = 0

    def count(block: bytes) -> None:
        nonlocal received
        received += sum(len(piece) for piece in body.feed(block))

    _, complete = await pump(s3.request, count)
    if not complete:
        raise IncompleteBody()
    body.finish()
    if received:
        raise InvalidArgument("A key ending in '/' names a folder: it cannot hold bytes.")

    given = from_headers(s3.headers)
    described = ObjectMeta(given.content_type, given.mtime, body.stored_meta(given.meta))

    def make() -> Entry:
        require_bucket(s3)
        # Checked before the marker is made, not again as it is made.
        write_condition(s3, lambda: find_object(s3, bucket_found=True))
        return make_marker(s3, path, described)

    entry = await run_in_threadpool(make)
    return Response(status_code=200, headers={"ETag": EMPTY_ETAG} | stored_headers(entry.meta))


def read_conditions(
    s3: S3Request, tag: str, modified: float, headers: Mapping[str, str]
) -> Response | None:
    """The conditions of a read (``If-Match`` and the others) against the object's
    ``tag`` and ``modified`` time: ``PreconditionFailed``, a 304 answer carrying the
    validators and caching headers of ``headers`` alone (RFC 9110 15.4.5, as S3: no
    checksum, which a client in checksum mode would check against the empty body, and
    no metadata), or ``None`` to answer the read."""
    if CONDITIONS.isdisjoint(s3.headers):
        return None
    status = precondition(s3.request, tag, modified)
    if status == 304:
        kept = {name: headers[name] for name in NOT_MODIFIED if name in headers}
        return Response(status_code=304, headers=kept)
    if status is not None:
        raise PreconditionFailed()
    return None


async def get_object(s3: S3Request) -> Response:
    """GetObject and HeadObject: ranges (206), conditional requests (304, 412)."""
    request = s3.request
    refuse_customer_keys(s3.headers)
    # A part number out of range is InvalidArgument, whether or not the key is there.
    number = part_number(s3) if "partNumber" in s3.query else None
    entry = await s3.lookups.read(find_object, s3)
    tag = etag(entry)
    modified = last_modified(entry)
    headers = {
        "ETag": tag,
        "Last-Modified": http_date(modified),
        "Accept-Ranges": "bytes",
    }
    # A range's (or a part's) bytes have no checksum of their own: S3 answers none.
    query = s3.query
    whole = "range" not in s3.headers and "partNumber" not in query
    checksum_mode = s3.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and whole
    headers |= answer_headers(entry, query, checksum_mode=checksum_mode)
    not_modified = read_conditions(s3, tag, modified, headers)
    if not_modified is not None:
        return not_modified
    if number is not None:
        offset, length, code = await part_window(s3, entry, number, headers)
    elif "range" in s3.headers:
        try:
            offset, length, code = response_window(request, entry.size, tag, modified, headers)
        except RangeNotSatisfiable:
            raise InvalidRange() from None
    else:  # the whole body, as response_window answers without a range
        offset, length, code = 0, entry.size, 200
        headers["Content-Length"] = str(length)
    if request.method == "HEAD" or entry.is_dir or length == 0:
        return Response(status_code=code, headers=headers)
    blocks = s3.core.storage.open(entry, offset, length)
    return StreamingResponse(stream_blocks(blocks), status_code=code, headers=headers)


async def delete_object(s3: S3Request) -> Response:
    """204 whether or not the key was there (S3's answer). With ``If-Match``, the
    object goes only while its ETag is the one given (``*``: any): another is
    ``412 PreconditionFailed``, one replaced as it is deleted
    ``409 ConditionalRequestConflict``; a missing key is 204 still."""
    match = s3.headers.get("if-match")
    if match is None:
        await run_in_threadpool(delete_key, s3, s3.key)
    else:
        await run_in_threadpool(_delete_if_match, s3, match)
    return Response(status_code=204)


def _delete_if_match(s3: S3Request, match: str) -> None:
    """DeleteObject with ``If-Match``. Blocking."""
    try:
        entry = find_object(s3)
    except NoSuchKey:
        return
    if entry.is_dir or not etag_matches(match, etag(entry)):
        raise PreconditionFailed()
    try:
        conditioned(lambda: s3.core.storage.delete(s3.account_id, entry, if_blob=entry.blob_key))
    except NotFound:
        pass
