"""Bucket operations. A bucket is a top-level folder of the caller's home, so each
account has a bucket namespace of its own: ListBuckets, CreateBucket, HeadBucket,
DeleteBucket, GetBucketLocation and GetBucketVersioning (listing a bucket's objects
is :mod:`api.s3.listing`).
"""

from __future__ import annotations

import base64
import re

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.s3.context import S3Request, whole_number
from api.s3.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidArgument,
    InvalidBucketName,
    KeyConflict,
    NoSuchBucket,
)
from api.s3.grants import refuse_grants
from api.s3.refusals import refuse_bucket_features
from api.s3.xml import (
    Bucket,
    list_buckets_document,
    location_document,
    versioning_document,
)
from gateway.errors import Conflict, Exists, NotFound
from gateway.listing import MAX_KEYS, holds_objects
from gateway.storage import Entry
from gateway.timefmt import iso

XML = "application/xml"
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")


def valid_bucket_name(name: str) -> bool:
    """S3's rules for new buckets: 3-63 lowercase letters, digits, ``-`` and ``.``,
    starting and ending with a letter or digit, no ``..``, not an IP address."""
    return (
        _BUCKET_NAME.fullmatch(name) is not None
        and ".." not in name
        and _IP_ADDRESS.fullmatch(name) is None
        and not name.startswith("xn--")
    )


def require_bucket_name(bucket: str) -> None:
    """``NoSuchBucket`` for a name no folder of the tree can have (no lookup)."""
    if bucket in ("", ".", "..") or "/" in bucket:
        raise NoSuchBucket()


def require_bucket(s3: S3Request, bucket: str | None = None) -> Entry:
    """The folder of the request's bucket (or of ``bucket``), or ``NoSuchBucket``.
    Blocking."""
    bucket = s3.bucket if bucket is None else bucket
    require_bucket_name(bucket)
    try:
        entry = s3.core.storage.stat(s3.account_id, bucket)
    except NotFound:
        raise NoSuchBucket() from None
    if not entry.is_dir:
        raise NoSuchBucket()
    return entry


def last_modified(entry: Entry) -> float:
    """S3's LastModified: when the object got its bytes at its key, by an upload
    (when the bytes were stored) or a copy (when the copy was made). A folder's
    modification time for a folder."""
    if entry.uploaded_at is None:
        return entry.mtime
    return max(entry.uploaded_at, entry.created_at)


def iso_time(entry: Entry) -> str:
    """:func:`last_modified`, as S3 writes it in XML."""
    return iso(last_modified(entry))


EMPTY_ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'
"""The ETag of no bytes (a folder marker's)."""


def etag(entry: Entry) -> str:
    """The quoted MD5, or the ETag an object made of parts has (``"…-N"``)."""
    tag = entry.multipart_etag or entry.md5
    return f'"{tag}"' if tag else EMPTY_ETAG


async def list_buckets(s3: S3Request) -> Response:
    """ListBuckets: every bucket of the caller's, or those after ``continuation-token``
    whose names start with ``prefix`` (at most ``max-buckets``, 1 to 10,000; the
    default: all), in ``bucket-region`` if one is given. Each bucket's region is the
    one the request is signed for, as HeadBucket answers it."""
    core = s3.core
    query = s3.query
    prefix = query.get("prefix")
    limit = whole_number(query.get("max-buckets"), "max-buckets", MAX_BUCKETS_LISTED)
    if not 1 <= limit <= MAX_BUCKETS_LISTED:
        raise InvalidArgument(f"max-buckets must be between 1 and {MAX_BUCKETS_LISTED}.")
    start = _token_name(query.get("continuation-token"))
    region = s3.caller.verified.region
    asked_region = query.get("bucket-region")

    def buckets() -> list[Bucket]:
        if asked_region is not None and asked_region != region:
            return []
        found: list[Bucket] = []
        after = start
        while len(found) <= limit:
            page = core.storage.children(s3.account_id, "", after=after, limit=MAX_KEYS)
            found += [
                Bucket(entry.name, iso(entry.created_at))
                for entry in page
                if entry.is_dir
                and valid_bucket_name(entry.name)
                and entry.name.startswith(prefix or "")
            ]
            last = page[-1].name if page else ""
            if len(page) < MAX_KEYS or (prefix and last > prefix and not last.startswith(prefix)):
                break  # the end, or past every name the prefix starts
            after = last
        return found

    found = await s3.lookups.read(buckets)
    more = len(found) > limit
    body = list_buckets_document(
        s3.owner,
        found[:limit],
        region=region,
        prefix=prefix,
        continuation=_token(found[limit - 1].name) if more else None,
    )
    return Response(body, media_type=XML)


MAX_BUCKETS_LISTED = 10_000
"""The most buckets one ListBuckets answer holds (``max-buckets``)."""


def _token(name: str) -> str:
    """The continuation token after the bucket ``name`` (opaque to clients)."""
    return base64.urlsafe_b64encode(name.encode()).decode()


def _token_name(token: str | None) -> str | None:
    """The bucket name a continuation token continues after; ``InvalidArgument`` for
    one this front did not give."""
    if token is None:
        return None
    try:
        name = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (ValueError, UnicodeError):
        raise InvalidArgument("The continuation token provided is incorrect") from None
    if not valid_bucket_name(name):
        raise InvalidArgument("The continuation token provided is incorrect")
    return name


async def create_bucket(s3: S3Request) -> Response:
    if not valid_bucket_name(s3.bucket):
        raise InvalidBucketName(f"The specified bucket is not valid: {s3.bucket[:100]!r}")
    refuse_grants(s3.headers, bucket=True)
    refuse_bucket_features(s3.headers)
    storage = s3.core.storage

    def create() -> None:
        try:
            storage.mkdir(s3.account_id, s3.bucket)
        except Exists:
            if storage.stat(s3.account_id, s3.bucket).is_dir:
                raise BucketAlreadyOwnedByYou() from None
            raise KeyConflict(f"a file named {s3.bucket} is in the way of the bucket") from None

    await run_in_threadpool(create)
    return Response(status_code=200, headers={"Location": f"/{s3.bucket}"})


async def get_bucket_location(s3: S3Request) -> Response:
    """The account's region, where its files are stored (S3 names us-east-1 by
    an empty LocationConstraint)."""
    core = s3.core

    def region() -> str:
        require_bucket(s3)
        return core.accounts.get(s3.account_id).default_region

    name = await s3.lookups.read(region)
    return Response(location_document("" if name == "us-east-1" else name), media_type=XML)


async def get_bucket_versioning(s3: S3Request) -> Response:
    """Buckets are unversioned: versioning was never enabled (an empty configuration)."""
    await s3.lookups.read(require_bucket, s3)
    return Response(versioning_document(), media_type=XML)


async def head_bucket(s3: S3Request) -> Response:
    await s3.lookups.read(require_bucket, s3)
    return Response(status_code=200, headers={"x-amz-bucket-region": s3.caller.verified.region})


def holds_an_object(s3: S3Request) -> bool:
    """Whether a listing of the bucket without a delimiter shows a key: folders alone
    (left empty by deletes, or made over WebDAV) are no objects. Blocking."""
    with s3.core.db.lookup() as connection:
        return holds_objects(connection, s3.account_id, s3.bucket + "/")


async def delete_bucket(s3: S3Request) -> Response:
    """204, the bucket's folder gone with any empty folders in it, as S3 clients
    expect once they have deleted every key (``aws s3 rb``, ``rclone purge``);
    ``BucketNotEmpty`` while it holds an object. The check is made again in the
    transaction that deletes (:meth:`~gateway.storage.Storage.delete_bare_folder`):
    an object put meanwhile is never deleted with the bucket, its PutObject either
    lands first (``BucketNotEmpty``) or finds no bucket (``NoSuchBucket``). The
    bucket's unfinished multipart uploads go with it, as S3 deletes them (the engine
    aborts them when any front deletes a top-level folder: :mod:`gateway.deletes`)."""
    storage = s3.core.storage

    def delete() -> None:
        bucket = require_bucket(s3)
        if holds_an_object(s3):  # the common refusal, without a write
            raise BucketNotEmpty()
        try:
            storage.delete_bare_folder(s3.account_id, bucket)
        except NotFound:
            raise NoSuchBucket() from None
        except Conflict:
            raise BucketNotEmpty() from None

    await run_in_threadpool(delete)
    return Response(status_code=204)
