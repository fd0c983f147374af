"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListParts and ListMultipartUploads,
over :mod:`gateway.multipart` (which holds every rule; this module translates).

A part's body is checked as a PutObject body is (:mod:`s3.body`) and recorded only
once it checks out; its ETag is its quoted MD5. A completed object's ETag is
``"<md5 of the part MD5s>-<N>"``. Assembling and hashing a large object takes a
while, so CompleteMultipartUpload answers as S3 does when it is slow: after
:data:`KEEPALIVE_SECONDS` without a result it sends ``200 OK`` and the XML
declaration, then a space every :data:`KEEPALIVE_SECONDS` until the result or an
``Error`` document ends the body (clients read an ``Error`` in a 200 as a failure).

A CompleteMultipartUpload sent again after its upload was completed (the client lost
the answer) is answered as the first one was, as S3 does, while the same part list is
sent within a day and the object is still the one the upload made
(:meth:`gateway.multipart.MultipartUploads.completed`); otherwise the upload is gone,
``NoSuchUpload``, as it is for AbortMultipartUpload, ListParts and UploadPart.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from api.s3.body import CheckedBody, declared_size, pump_checked
from api.s3.buckets import XML, etag, last_modified, require_bucket
from api.s3.checksums import (
    ALGORITHMS,
    COMPOSITE,
    DEFAULT,
    FULL_OBJECT,
    PREFIX,
    TYPE_HEADER,
    Algorithm,
    algorithm_named,
    composite,
    full_object,
    stored_checksum,
)
from api.s3.conditional import UNCONDITIONAL, conditioned, write_condition
from api.s3.context import Handler, S3Request, whole_number
from api.s3.copy import SOURCE, copy_source
from api.s3.errors import (
    BadDigest,
    InternalError,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    InvalidRequest,
    MalformedXML,
    MethodNotAllowed,
    NoSuchBucket,
    PreconditionFailed,
    as_s3_error,
)
from api.s3.metadata import from_headers
from api.s3.objects import committed, find_object, get_object, make_folders, object_path
from api.s3.parts import part_number
from api.s3.refusals import refuse_unkept
from api.s3.xml import (
    HEAD,
    PartItem,
    PartsPage,
    UploadItem,
    UploadsPage,
    complete_multipart_document,
    copy_result_document,
    error_document,
    initiate_multipart_document,
    list_parts_document,
    list_uploads_document,
)
from api.s3.xmlrequest import XmlNode, parse_xml
from api.transfer import precondition
from gateway.errors import LockrError, NotFound
from gateway.multipart_completion import Completion
from gateway.multipart_part import PartWriter
from gateway.multipart_terms import (
    MAX_LISTED,
    Completed,
    MultipartInfo,
    NoSuchUpload,
    PartInfo,
    UploadPage,
)
from gateway.numbers import whole_number_or_none
from gateway.objectstore import MAX_PART_NUMBER
from gateway.timefmt import iso

log = logging.getLogger("lockr")

QUERIES = frozenset({"uploads", "uploadId", "partNumber"})
"""The sub-resources of multipart uploads: a request naming one is routed here."""
KEEPALIVE_SECONDS = 10.0
MAX_PART_LIST = 4 * 1024 * 1024
"""The largest CompleteMultipartUpload document read (10,000 parts fit, checksums too)."""
_COPY_RANGE = re.compile(r"bytes=([0-9]{1,18})-([0-9]{1,18})")


def route(method: str, key: str, query: set[str]) -> Handler:
    """The handler of a request whose query names a multipart sub-resource."""
    if not key:
        if method == "GET" and "uploads" in query:
            return list_multipart_uploads
        raise MethodNotAllowed()
    if "uploadId" in query:
        table: dict[str, Handler] = {
            "PUT": upload_part,
            "POST": complete_multipart_upload,
            "GET": list_parts,
            "DELETE": abort_multipart_upload,
        }
    elif "uploads" in query:
        table = {"POST": create_multipart_upload}
    else:  # partNumber alone: one part of an object
        table = {"GET": get_object, "HEAD": get_object}
    handler = table.get(method)
    if handler is None:
        raise MethodNotAllowed()
    return handler


def _upload(s3: S3Request) -> MultipartInfo:
    """The upload the request's ``uploadId`` names, for its key: ``NoSuchBucket``
    when the bucket is not there (as S3 answers any request naming a missing bucket;
    a bucket deleted meanwhile took its uploads), else the upload or
    ``NoSuchUpload``. Blocking."""
    require_bucket(s3)
    return s3.core.multipart.get(
        s3.account_id, s3.request.query_params["uploadId"], object_path(s3)
    )


async def create_multipart_upload(s3: S3Request) -> Response:
    """``POST /bucket/key?uploads``: keeps the metadata its headers give
    (:mod:`api.s3.metadata`) for the file the upload makes."""
    path = object_path(s3)
    if s3.key.endswith("/"):
        raise InvalidArgument("A key ending in '/' names a folder: it cannot be uploaded.")
    refuse_unkept(s3.headers)
    described = from_headers(s3.headers)
    checksum = _upload_checksum(s3.headers)

    def create() -> MultipartInfo:
        require_bucket(s3)
        try:
            # The bucket is checked again as the upload is recorded: a DeleteBucket
            # meanwhile either aborts the upload or is seen here.
            return s3.core.multipart.create(
                s3.account_id,
                path,
                content_type=described.content_type,
                mtime=described.mtime,
                meta=described.meta or None,
                checksum=None if checksum is None else (checksum[0].name, checksum[1]),
                in_bucket=True,
            )
        except NotFound:
            raise NoSuchBucket() from None

    info = await run_in_threadpool(create)
    headers: dict[str, str] = {}
    if checksum is not None:
        headers = {"x-amz-checksum-algorithm": checksum[0].name, TYPE_HEADER: checksum[1]}
    return Response(
        initiate_multipart_document(s3.bucket, s3.key, info.id), media_type=XML, headers=headers
    )


def _upload_checksum(headers: Mapping[str, str]) -> tuple[Algorithm, str] | None:
    """The checksum algorithm and type a CreateMultipartUpload asks for, if any; the
    type defaults to the algorithm's first (``COMPOSITE``, ``FULL_OBJECT`` for
    CRC64NVME)."""
    name = headers.get("x-amz-checksum-algorithm")
    kind = headers.get(TYPE_HEADER)
    if name is None:
        if kind is not None:
            raise InvalidRequest(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None
    algorithm = algorithm_named(name)
    if kind is None:
        return algorithm, algorithm.types()[0]
    kind = kind.strip().upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise InvalidRequest(f"Value for {TYPE_HEADER} header is invalid.")
    if kind not in algorithm.types():
        raise InvalidRequest(
            f"The {kind} checksum type cannot be used with the {algorithm.name.lower()} "
            "checksum algorithm."
        )
    return algorithm, kind


def _algorithm(info: MultipartInfo) -> Algorithm | None:
    return None if info.checksum_algorithm is None else ALGORITHMS[info.checksum_algorithm]


async def upload_part(s3: S3Request) -> Response:
    """``PUT /bucket/key?partNumber=N&uploadId=ID``, or UploadPartCopy with
    ``x-amz-copy-source``."""
    number = part_number(s3)
    refuse_unkept(s3.headers)
    if SOURCE in s3.request.headers:
        return await upload_part_copy(s3, number)
    info = await s3.lookups.read(_upload, s3)
    algorithm = _algorithm(info)
    # Without an algorithm, each part's CRC64NVME is recorded (not answered): the
    # object gets S3's default checksum, combined from them.
    body = CheckedBody(
        s3.caller.verified,
        s3.headers,
        hash_md5=False,
        compute=algorithm,
        also=None if algorithm is not None else DEFAULT,
    )
    if algorithm is not None and body.algorithm != algorithm:
        assert body.algorithm is not None
        raise InvalidRequest(
            "Checksum Type mismatch occurred, expected checksum Type: "
            f"{algorithm.name.lower()}, actual checksum Type: {body.algorithm.name.lower()}"
        )
    size = declared_size(s3.caller.verified, s3.request)

    def start() -> PartWriter:
        return s3.core.multipart.part(info, number, size=size)

    writer = await run_in_threadpool(start)
    try:
        with writer:
            await pump_checked(s3.request, body, writer.write)

            def finish() -> PartInfo:
                body.finish(writer.md5)
                return writer.finish(
                    checksum=body.checksum if algorithm is not None else body.also_checksum
                )

            part = await run_in_threadpool(finish)
    except NoSuchUpload:
        # Aborted while the part streamed: by a DeleteBucket, if the bucket went too.
        await s3.lookups.read(require_bucket, s3)
        raise
    return Response(status_code=200, headers={"ETag": f'"{part.md5}"'} | body.answer_headers())


def _copy_range(text: str | None, size: int) -> tuple[int, int]:
    """The offset and length ``x-amz-copy-source-range`` (``bytes=first-last``) names
    in an object of ``size`` bytes; the whole object without one."""
    if text is None:
        return 0, size
    match = _COPY_RANGE.fullmatch(text.strip())
    if match is None:
        raise InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy"
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first > last or last >= size:
        raise InvalidRange(f"Range specified is not valid for source object of size: {size}")
    return first, last - first + 1


async def upload_part_copy(s3: S3Request, number: int) -> Response:
    """Part ``number`` from bytes of one of the caller's objects (the range given by
    ``x-amz-copy-source-range``, or all of it), if the ``x-amz-copy-source-if-*``
    conditions hold. The part's checksum of the upload's algorithm is computed as the
    bytes pass, and answered in the ``CopyPartResult`` (as S3 does when the upload has
    an algorithm)."""
    headers = s3.request.headers
    source_bucket, source_key = copy_source(headers[SOURCE])

    def copy() -> tuple[Algorithm | None, PartInfo]:
        info = _upload(s3)
        source = find_object(s3, source_bucket, source_key)
        if source.is_dir:
            raise InvalidArgument("A key ending in '/' names a folder: it has no bytes to copy.")
        status = precondition(s3.request, etag(source), last_modified(source), prefix=SOURCE + "-")
        if status is not None:
            raise PreconditionFailed()
        offset, length = _copy_range(headers.get("x-amz-copy-source-range"), source.size)
        algorithm = _algorithm(info)
        checksum = (algorithm or DEFAULT).new()
        part = s3.core.multipart.copy_part(info, number, source, offset, length, checksum=checksum)
        return algorithm, part

    algorithm, part = await run_in_threadpool(copy)
    checksum = None
    if algorithm is not None and part.checksum is not None:
        checksum = (algorithm.name, part.checksum)
    document = copy_result_document(
        f'"{part.md5}"', iso(part.stored_at), root="CopyPartResult", checksum=checksum
    )
    return Response(document, media_type=XML)


@dataclass(frozen=True)
class Listed:
    """A part of a CompleteMultipartUpload's list: its number, ETag and the
    checksums given (algorithm names to values)."""

    number: int
    etag: str
    checksums: dict[str, str]


async def _part_list(s3: S3Request) -> list[Listed]:
    """The parts a CompleteMultipartUpload body lists, read (at most
    :data:`MAX_PART_LIST` bytes) and checked as any body is (its ``x-amz-checksum-*``
    headers are the object's, not the body's)."""
    headers = {name: value for name, value in s3.headers.items() if not name.startswith(PREFIX)}
    body = CheckedBody(s3.caller.verified, headers, hash_md5=False)
    data = bytearray()
    md5 = hashlib.md5()

    def take(piece: bytes) -> None:
        if len(data) + len(piece) > MAX_PART_LIST:
            raise MalformedXML(f"The part list is larger than {MAX_PART_LIST} bytes.")
        data.extend(piece)
        md5.update(piece)

    await pump_checked(s3.request, body, take)
    body.finish(md5.hexdigest())
    root = parse_xml(bytes(data))
    if root.tag != "CompleteMultipartUpload":
        raise MalformedXML()
    parts = root.find_all("Part")
    if not parts or len(parts) > MAX_PART_NUMBER:
        raise MalformedXML(f"A part list holds 1 to {MAX_PART_NUMBER} parts.")
    return [_listed(part) for part in parts]


def _listed(part: XmlNode) -> Listed:
    text = part.child_text("PartNumber")
    number = whole_number_or_none(text)
    tag = part.child_text("ETag")
    if text is None or not tag:
        raise MalformedXML("Every Part needs a PartNumber and an ETag.")
    if number is None:  # a negative or not a number: no part of any upload
        raise InvalidPart(f"Part numbers go from 1 to {MAX_PART_NUMBER}, not {text[:20]!r}.")
    checksums = {}
    for name in ALGORITHMS:
        value = part.child_text(f"Checksum{name}")
        if value is not None:
            checksums[name] = value
    return Listed(number, tag, checksums)


def object_checksum(
    s3: S3Request, info: MultipartInfo, listed: list[Listed], parts: list[tuple[str | None, int]]
) -> dict[str, str]:
    """The object's checksum (as metadata: its header and type) from the listed
    parts' recorded checksums, after checking the list's checksums against them and
    the request's (``x-amz-checksum-type``, the object's ``x-amz-checksum-*``,
    ``x-amz-mp-object-size``) against the object. An upload with a checksum algorithm
    is completed from parts numbered 1 to N (``InvalidPartOrder`` otherwise, as S3
    documents for CompletedPart)."""
    headers = s3.headers
    size = sum(part_size for _, part_size in parts)
    given_size = headers.get("x-amz-mp-object-size")
    if given_size is not None and whole_number_or_none(given_size.strip()) != size:
        raise InvalidRequest(
            f"The provided 'x-amz-mp-object-size' header value {given_size.strip()[:20]} does "
            f"not match what was computed: {size}"
        )
    algorithm = _algorithm(info)
    if algorithm is None or info.checksum_type is None:
        return _default_checksum(headers, parts)
    kind = headers.get(TYPE_HEADER)
    if kind is not None and kind.strip().upper() != info.checksum_type:
        raise InvalidRequest(
            f"The upload was created using the {info.checksum_type} checksum mode. The "
            "complete request must use the same checksum mode."
        )
    if [part.number for part in listed] != list(range(1, len(listed) + 1)):
        raise InvalidPartOrder(
            "The upload was created with a checksum algorithm: its parts must be numbered "
            "from 1 without a gap."
        )
    values: list[str] = []
    for part, (recorded, _) in zip(listed, parts, strict=True):
        given = part.checksums.get(algorithm.name)
        if recorded is None:
            return {}  # a part stored before the upload had checksums recorded
        if given is None and info.checksum_type == COMPOSITE:
            raise InvalidRequest(
                f"The upload was created using a {algorithm.name.lower()} checksum. The "
                "complete request must include the checksum for each part. It was missing "
                f"for part {part.number} in the request."
            )
        if given is not None and given.strip() != recorded:
            raise InvalidPart()
        values.append(recorded)
    if info.checksum_type == COMPOSITE:
        value = composite(algorithm, values)
    else:
        value = full_object(
            algorithm, [(value, n) for value, (_, n) in zip(values, parts, strict=True)]
        )
    _check_claimed(headers, algorithm, value)
    return {algorithm.header: value, TYPE_HEADER: info.checksum_type}


def _default_checksum(
    headers: Mapping[str, str], parts: list[tuple[str | None, int]]
) -> dict[str, str]:
    """The checksum of an object whose upload was created without an algorithm: S3's
    default, the CRC64NVME of the whole object (``FULL_OBJECT``), combined from the
    parts' (recorded as they arrived); none if a part has none (it was stored by an
    earlier lockr)."""
    recorded = [(value, size) for value, size in parts if value is not None]
    if len(recorded) != len(parts):
        return {}
    value = full_object(DEFAULT, recorded)
    _check_claimed(headers, DEFAULT, value)
    return {DEFAULT.header: value, TYPE_HEADER: FULL_OBJECT}


def _check_claimed(headers: Mapping[str, str], algorithm: Algorithm, value: str) -> None:
    """``BadDigest`` if the request gives the object's checksum of ``algorithm``
    (with or without a COMPOSITE checksum's ``-N``) and it is not ``value``."""
    claimed = headers.get(algorithm.header)
    if claimed is not None and claimed.strip() not in (value, value.partition("-")[0]):
        raise BadDigest(
            f"The {algorithm.name} you specified did not match the calculated checksum."
        )


async def complete_multipart_upload(s3: S3Request) -> Response:
    """``POST /bucket/key?uploadId=ID`` with the part list. The list is checked at
    once (errors with their own status); the object is then assembled, hashed and
    committed, answered as the module's docstring says."""
    listed = await _part_list(s3)
    pairs = [(part.number, part.etag) for part in listed]
    checksums = [part.checksums for part in listed]
    uploads = s3.core.multipart
    condition = UNCONDITIONAL

    def prepare() -> Completion | Completed:
        nonlocal condition
        try:
            info = _upload(s3)
            # Checked for a new completion only: one sent again is answered as before.
            condition = write_condition(s3, lambda: find_object(s3, bucket_found=True))
            return uploads.complete(
                info,
                pairs,
                check=lambda parts: object_checksum(s3, info, listed, parts),
                checksums=checksums,
            )
        except NoSuchUpload:
            upload_id = s3.request.query_params["uploadId"]
            done = uploads.completed(
                s3.account_id, upload_id, object_path(s3), pairs, checksums=checksums
            )
            if done is None:
                raise
            return done

    completion = await run_in_threadpool(prepare)
    location = str(s3.request.url).partition("?")[0]
    if isinstance(completion, Completed):  # sent again: answered as the first time
        document = complete_multipart_document(
            location, s3.bucket, s3.key, etag(completion.entry), _answer_checksum(completion.meta)
        )
        return Response(HEAD.encode() + document, media_type=XML)
    checksum = _answer_checksum(completion.meta)
    # What is left to remove once the file is committed goes after the answer.
    clean = BackgroundTask(completion.clean)

    def run() -> bytes:
        # The key's folders are made below the bucket, never the bucket itself: one
        # deleted meanwhile is NoSuchBucket (and the upload stays, to be aborted).
        entry = committed(
            s3,
            lambda: conditioned(
                lambda: completion.run(
                    clean=False,
                    make_folders=lambda path: make_folders(s3, path),
                    on_conflict=condition.on_conflict,
                    if_blob=condition.if_blob,
                )
            ),
        )
        return complete_multipart_document(location, s3.bucket, s3.key, etag(entry), checksum)

    work = asyncio.ensure_future(run_in_threadpool(run))
    done, _ = await asyncio.wait({work}, timeout=KEEPALIVE_SECONDS)
    if done:
        return Response(HEAD.encode() + work.result(), media_type=XML, background=clean)

    def failure(error: BaseException) -> bytes:
        if isinstance(error, LockrError):
            s3_error = as_s3_error(error, key=s3.key)
        else:
            log.error("S3 CompleteMultipartUpload failed", exc_info=error)
            s3_error = InternalError()
        document = error_document(
            s3_error.code, s3_error.message, s3.request.url.path, s3.request_id
        )
        return document.removeprefix(HEAD.encode())

    return StreamingResponse(
        answer_when_done(work, failure, KEEPALIVE_SECONDS), media_type=XML, background=clean
    )


def _answer_checksum(meta: dict[str, str]) -> tuple[str, str, str] | None:
    """The algorithm's name, value and type of the checksum in an object's metadata."""
    stored = stored_checksum(meta)
    return None if stored is None else (stored[0].name, stored[1], stored[2])


async def answer_when_done(
    work: asyncio.Future[bytes],
    failure: Callable[[BaseException], bytes],
    interval: float,
) -> AsyncIterator[bytes]:
    """The body of a 200 whose result is not known yet: the XML declaration at once,
    a space every ``interval`` seconds while ``work`` runs, then what it returns (a
    document without its declaration) or ``failure`` of what it raised."""
    yield HEAD.encode()
    while True:
        done, _ = await asyncio.wait({work}, timeout=interval)
        if done:
            break
        yield b" "
    error = work.exception()
    yield work.result() if error is None else failure(error)


async def abort_multipart_upload(s3: S3Request) -> Response:
    """``DELETE /bucket/key?uploadId=ID``: 204, and the parts and quota are freed."""

    def abort() -> None:
        s3.core.multipart.abort(_upload(s3))

    await run_in_threadpool(abort)
    return Response(status_code=204)


async def list_parts(s3: S3Request) -> Response:
    """``GET /bucket/key?uploadId=ID``: ``max-parts`` (up to 1,000) after
    ``part-number-marker``."""
    query = s3.request.query_params
    max_parts = min(whole_number(query.get("max-parts"), "max-parts", MAX_LISTED), MAX_LISTED)
    marker = whole_number(query.get("part-number-marker"), "part-number-marker", 0)

    def read() -> tuple[MultipartInfo, list[PartInfo]]:
        info = _upload(s3)
        return info, s3.core.multipart.parts(info, after=marker, limit=max_parts + 1)

    info, parts = await s3.lookups.read(read)
    shown = parts[:max_parts]
    page = PartsPage(
        bucket=s3.bucket,
        key=s3.key,
        upload_id=info.id,
        owner=s3.owner,
        marker=marker,
        next_marker=shown[-1].number if shown else marker,
        max_parts=max_parts,
        truncated=len(parts) > max_parts,
        parts=[
            PartItem(
                part.number,
                iso(part.stored_at),
                f'"{part.md5}"',
                part.size,
                None
                if part.checksum is None or info.checksum_algorithm is None
                else (info.checksum_algorithm, part.checksum),
            )
            for part in shown
        ],
        checksum=_upload_checksum_of(info),
    )
    return Response(list_parts_document(page), media_type=XML)


def _upload_checksum_of(info: MultipartInfo) -> tuple[str, str] | None:
    """The checksum algorithm and type an upload was created with, if any."""
    if info.checksum_algorithm is None or info.checksum_type is None:
        return None
    return info.checksum_algorithm, info.checksum_type


async def list_multipart_uploads(s3: S3Request) -> Response:
    """``GET /bucket?uploads``: ``prefix``, ``delimiter``, ``key-marker``,
    ``upload-id-marker``, ``max-uploads`` (up to 1,000), ``encoding-type=url``."""
    query = s3.request.query_params
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter") or None
    key_marker = query.get("key-marker", "")
    upload_id_marker = query.get("upload-id-marker", "")
    encoding = query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request")
    max_uploads = min(whole_number(query.get("max-uploads"), "max-uploads", MAX_LISTED), MAX_LISTED)
    base = s3.bucket + "/"

    def read() -> UploadPage:
        require_bucket(s3)
        listing = s3.core.multipart.list_uploads(
            s3.account_id,
            base + prefix,
            delimiter=delimiter,
            key_marker=base + key_marker if key_marker else None,
            upload_id_marker=(upload_id_marker or None) if key_marker else None,
            limit=max_uploads,
        )
        return listing

    listing = await s3.lookups.read(read)

    def wire(text: str) -> str:
        return quote(text, safe="/") if encoding else text

    next_key = next_id = None
    if listing.truncated and listing.next_marker is not None:
        next_key = wire(listing.next_marker[0][len(base) :])
        next_id = listing.next_marker[1] or ""
    page = UploadsPage(
        bucket=s3.bucket,
        owner=s3.owner,
        prefix=wire(prefix),
        delimiter=None if delimiter is None else wire(delimiter),
        key_marker=wire(key_marker),
        upload_id_marker=upload_id_marker,
        next_key_marker=next_key,
        next_upload_id_marker=next_id,
        max_uploads=max_uploads,
        truncated=listing.truncated,
        uploads=[
            UploadItem(
                wire(upload.path[len(base) :]),
                upload.id,
                iso(upload.created_at),
                _upload_checksum_of(upload),
            )
            for upload in listing.uploads
        ],
        prefixes=[wire(common[len(base) :]) for common in listing.prefixes],
        encoding_type=encoding,
    )
    return Response(list_uploads_document(page), media_type=XML)
