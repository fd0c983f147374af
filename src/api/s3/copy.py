"""CopyObject: ``PUT /bucket/key`` with ``x-amz-copy-source: /bucket/key``
(percent-encoded; the source may be in any bucket of the caller).

A copy is made by reference: the new file shares the source's stored bytes
(:meth:`gateway.storage.Storage.copy`), so no byte is read or written whatever the
size, and it counts against the quota as any copy does (its bytes and its entry).

- ``x-amz-metadata-directive``: ``COPY`` (the default) keeps the source's content
  type, metadata and modification time; ``REPLACE`` takes them from the request's
  headers, as PutObject does (:mod:`api.s3.metadata`). Either way the copy keeps
  the source's checksum (its bytes are the same), answered in ``CopyObjectResult``
  with its type; a source that has none (stored by an earlier lockr) gives a copy
  with none: a copy reads no byte to compute one.
- ``x-amz-checksum-algorithm`` names the checksum the copy gets instead, as S3
  computes it: the source's bytes are read (streaming, in the worker thread) for
  it, a ``FULL_OBJECT`` checksum, unless the source keeps a ``FULL_OBJECT`` one of
  that algorithm already (the same bytes, the same value); the copy still shares
  the source's stored bytes, and is made only while they are the ones read (else
  they are read again: :data:`ATTEMPTS`, then ``OperationAborted``). An unknown
  algorithm is ``InvalidRequest``. A copy onto itself may change its checksum so,
  ``COPY`` directive or not (a new algorithm is a change).
- ``x-amz-copy-source-if-match``, ``-if-none-match``, ``-if-modified-since`` and
  ``-if-unmodified-since`` are checked against the source: ``PreconditionFailed``.
- Copying an object onto itself is allowed only with ``REPLACE`` (else
  ``InvalidRequest``, as S3): its metadata changes in place (how rclone sets a
  modification time). Its bytes, ETag and LastModified stay.
- The buckets are never versioned: a source ``?versionId=`` other than ``null`` is
  ``NoSuchVersion``. A source over 5 GiB is ``InvalidRequest``, as on S3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, unquote

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.s3.buckets import XML, etag, iso_time, last_modified, require_bucket
from api.s3.checksums import (
    FULL_OBJECT,
    TYPE_HEADER,
    Algorithm,
    algorithm_named,
    encode,
    stored_checksum,
)
from api.s3.conditional import UNCONDITIONAL, WriteCondition, conditioned, write_condition
from api.s3.context import S3Request
from api.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    NoSuchVersion,
    PreconditionFailed,
)
from api.s3.metadata import (
    CHECKSUM_PREFIX,
    DEFAULT_CONTENT_TYPE,
    ObjectMeta,
    carries_mtime,
    from_headers,
)
from api.s3.objects import MAX_PUT_SIZE, find_object, in_folders, make_marker, object_path
from api.s3.refusals import refuse_unkept
from api.s3.xml import copy_result_document
from api.transfer import precondition
from gateway.errors import Changed
from gateway.storage import Entry, Storage

SOURCE = "x-amz-copy-source"
DIRECTIVE = "x-amz-metadata-directive"
ALGORITHM = "x-amz-checksum-algorithm"
ATTEMPTS = 3
"""How often a copy computing a checksum reads its source's bytes again when the
source was written while they were read."""
MAX_COPY_SIZE = MAX_PUT_SIZE
"""S3's limit for a CopyObject source; larger objects are copied in parts."""
SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself "
    "without changing the object's metadata, storage class, website redirect location "
    "or encryption attributes."
)


def copy_source(value: str) -> tuple[str, str]:
    """The bucket and key an ``x-amz-copy-source`` header names."""
    text, _, query = value.strip().partition("?")
    for name, version in parse_qsl(query, keep_blank_values=True):
        if name == "versionId" and version != "null":
            raise NoSuchVersion()
    try:
        text = unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument("The copy source must be UTF-8, percent-encoded.") from None
    bucket, _, key = text.lstrip("/").partition("/")
    if not bucket or not key:
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )
    return bucket, key


def _copy_mtime(
    replacement: ObjectMeta | None, source: Entry, *, itself: bool, now: Callable[[], float]
) -> float | None:
    """The copy's modification time: the one ``REPLACE`` gives; with ``COPY``, the
    source's own (``None``: kept) if it has one (:func:`carries_mtime`); else none of
    its own, so its LastModified (the copy's time, or the object's own for a copy onto
    itself), as S3 copies no user metadata the source did not have."""
    if replacement is not None and replacement.mtime is not None:
        return replacement.mtime
    if replacement is None and carries_mtime(source):
        return None
    return last_modified(source) if itself else now()


def _replacement(s3: S3Request) -> ObjectMeta | None:
    """The request's metadata with ``REPLACE``; ``None`` with ``COPY``."""
    headers = s3.headers
    directive = headers.get(DIRECTIVE, "COPY").strip()
    if directive not in ("COPY", "REPLACE"):
        raise InvalidArgument(f"Unknown metadata directive: {directive[:32]!r}")
    return from_headers(headers) if directive == "REPLACE" else None


def _checksums(meta: Mapping[str, str] | None, *, kept: bool) -> dict[str, str]:
    """The checksum entries of ``meta`` (with ``kept``), or the others."""
    return {
        name: value
        for name, value in (meta or {}).items()
        if name.startswith(CHECKSUM_PREFIX) == kept
    }


def _copy_meta(
    replacement: ObjectMeta | None, source: Entry, checksum: dict[str, str] | None
) -> dict[str, str] | None:
    """The copy's metadata (``None``: the source's, as it is): ``REPLACE``'s, or the
    source's, with the ``checksum`` computed for the copy, else with the source's
    stored checksum (the bytes are the same, so it is still theirs: S3 keeps it)."""
    if checksum is None:
        if replacement is None:
            return None
        return replacement.meta | _checksums(source.meta, kept=True)
    given = source.meta if replacement is None else replacement.meta
    return _checksums(given, kept=False) | checksum


def _check_source(s3: S3Request, source: Entry) -> None:
    """The copy-source conditions (``PreconditionFailed``) and S3's size limit."""
    status = precondition(s3.request, etag(source), last_modified(source), prefix=SOURCE + "-")
    if status is not None:
        raise PreconditionFailed()
    if source.size > MAX_COPY_SIZE:
        raise InvalidRequest(
            "The specified copy source is larger than the maximum allowable size for a "
            f"copy source: {MAX_COPY_SIZE}"
        )


def _has_checksum(source: Entry, algorithm: Algorithm) -> bool:
    """Whether ``source`` keeps the ``FULL_OBJECT`` checksum of ``algorithm``."""
    stored = stored_checksum(source.meta or {})
    return stored is not None and stored[0] == algorithm and stored[2] == FULL_OBJECT


def _checksum_of(storage: Storage, source: Entry, algorithm: Algorithm) -> dict[str, str]:
    """The ``FULL_OBJECT`` checksum of ``algorithm`` of the source's bytes, as it keeps
    it in its metadata: the stored one, when it is that, else computed from the
    bytes, read as they stream. Blocking."""
    if _has_checksum(source, algorithm):
        return _checksums(source.meta, kept=True)
    running = algorithm.new()
    if source.size:
        for block in storage.open(source):
            running.update(block)
    return {algorithm.header: encode(running.digest()), TYPE_HEADER: FULL_OBJECT}


async def copy_object(s3: S3Request) -> Response:
    request = s3.request
    refuse_unkept(s3.headers)
    source_bucket, source_key = copy_source(request.headers[SOURCE])
    replacement = _replacement(s3)
    named = request.headers.get(ALGORITHM)
    algorithm = None if named is None else algorithm_named(named)
    path = object_path(s3)
    storage = s3.core.storage
    account_id = s3.account_id

    def copy() -> Entry:
        for _ in range(ATTEMPTS - 1):
            try:
                return copy_once()
            except Changed:
                pass  # the source was written while its bytes were read: again
        return copy_once()

    def copy_once() -> Entry:
        source = find_object(s3, source_bucket, source_key)
        _check_source(s3, source)
        # The destination's condition (If-None-Match, If-Match), as PutObject's.
        condition = write_condition(s3, lambda: find_object(s3))
        if condition is UNCONDITIONAL:
            return place(source)
        return conditioned(lambda: place(source, condition))

    def place(source: Entry, condition: WriteCondition = UNCONDITIONAL) -> Entry:
        content_type = replacement.content_type if replacement else None
        itself = source.key == path + ("/" if s3.key.endswith("/") else "")
        mtime = _copy_mtime(replacement, source, itself=itself, now=storage.clock)
        if (
            itself
            and replacement is None
            and (algorithm is None or _has_checksum(source, algorithm))
        ):
            raise InvalidRequest(SELF_COPY)
        checksum = None if algorithm is None else _checksum_of(storage, source, algorithm)
        meta = _copy_meta(replacement, source, checksum)
        # The checksum computed is of the bytes read: the copy is of those, or none.
        if_blob = None if checksum is None else source.blob_key
        if itself:
            return storage.set_metadata(
                account_id,
                source,
                mtime=mtime,
                content_type=content_type,
                meta=meta,
                if_blob=if_blob or condition.if_blob,
            )
        if s3.key.endswith("/"):
            if source.size:
                raise InvalidArgument("A key ending in '/' names a folder: it cannot hold bytes.")
            require_bucket(s3)
            kept = ObjectMeta(
                source.content_type or DEFAULT_CONTENT_TYPE, source.mtime, dict(source.meta or {})
            )
            described = replacement or kept
            given = described.meta if meta is None else meta
            return make_marker(s3, path, ObjectMeta(described.content_type, described.mtime, given))

        def write() -> Entry:
            if source.is_dir:  # a folder marker, copied to a file's key: an empty object
                with storage.upload(
                    account_id,
                    path,
                    max_size=0,
                    content_type=content_type or DEFAULT_CONTENT_TYPE,
                    mtime=mtime,
                    meta=meta,
                    on_conflict=condition.on_conflict,
                    if_blob=condition.if_blob,
                ) as upload:
                    return upload.commit()
            return storage.copy(
                account_id,
                source,
                path,
                keep_folders=True,
                overwrite=condition.on_conflict != "fail",
                mtime=mtime,
                content_type=content_type,
                meta=meta,
                if_blob=if_blob,
                target_blob=condition.if_blob,
            )

        return in_folders(s3, path, write)

    entry = await run_in_threadpool(copy)
    stored = stored_checksum(entry.meta or {})
    document = copy_result_document(
        etag(entry),
        iso_time(entry),
        checksum=None if stored is None else (stored[0].name, stored[1]),
        checksum_type=None if stored is None else stored[2],
    )
    return Response(document, media_type=XML)
