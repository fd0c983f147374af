"""Bucket operations. A bucket is a top-level folder of the caller's home, so each
account has a bucket namespace of its own: ListBuckets, CreateBucket, HeadBucket,
DeleteBucket and ListObjectsV2.

Listing maps S3 keys onto the tree's keys (``bucket/`` + the S3 key). Folders are
implied by the keys under them, as S3 prefixes are: without a delimiter a listing
shows files only; with ``/`` as the delimiter, every folder (an empty one too) is a
common prefix. Only ``/`` is supported as a delimiter.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.s3.context import S3Request
from api.s3.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidArgument,
    InvalidBucketName,
    KeyConflict,
    NoSuchBucket,
    NotImplementedYet,
)
from api.s3.xml import (
    Bucket,
    ObjectItem,
    ObjectPage,
    list_buckets_document,
    list_objects_v2_document,
)
from gateway.errors import Exists, NotFound
from gateway.listing import MAX_KEYS, list_keys
from gateway.numbers import whole_number_or_none
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


def require_bucket(s3: S3Request) -> Entry:
    """The bucket's folder, or ``NoSuchBucket``. Blocking."""
    if s3.bucket in ("", ".", ".."):
        raise NoSuchBucket()
    try:
        entry = s3.core.storage.stat(s3.account_id, s3.bucket)
    except NotFound:
        raise NoSuchBucket() from None
    if not entry.is_dir:
        raise NoSuchBucket()
    return entry


def iso_time(entry: Entry) -> str:
    """When the entry's bytes were stored (S3's LastModified)."""
    return iso(entry.uploaded_at or entry.mtime)


def etag(entry: Entry) -> str:
    """The quoted MD5, or the ETag an object made of parts has (``"…-N"``)."""
    return f'"{entry.multipart_etag or entry.md5 or "d41d8cd98f00b204e9800998ecf8427e"}"'


async def list_buckets(s3: S3Request) -> Response:
    core = s3.core

    def buckets() -> tuple[str, list[Bucket]]:
        found: list[Bucket] = []
        after: str | None = None
        while True:
            page = core.storage.children(s3.account_id, "", after=after, limit=MAX_KEYS)
            found += [
                Bucket(entry.name, iso(entry.created_at))
                for entry in page
                if entry.is_dir and valid_bucket_name(entry.name)
            ]
            if len(page) < MAX_KEYS:
                return core.accounts.get(s3.account_id).username, found
            after = page[-1].name

    owner, found = await run_in_threadpool(buckets)
    body = list_buckets_document(str(s3.account_id), owner, found)
    return Response(body, media_type=XML)


async def create_bucket(s3: S3Request) -> Response:
    if not valid_bucket_name(s3.bucket):
        raise InvalidBucketName(f"The specified bucket is not valid: {s3.bucket[:100]!r}")
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


async def head_bucket(s3: S3Request) -> Response:
    await run_in_threadpool(require_bucket, s3)
    return Response(status_code=200, headers={"x-amz-bucket-region": s3.caller.verified.region})


async def delete_bucket(s3: S3Request) -> Response:
    storage = s3.core.storage

    def delete() -> None:
        bucket = require_bucket(s3)
        if storage.children_of(bucket, limit=1):
            raise BucketNotEmpty()
        storage.delete(s3.account_id, bucket)

    await run_in_threadpool(delete)
    return Response(status_code=204)


def _max_keys(text: str | None) -> int:
    if text is None:
        return MAX_KEYS
    number = whole_number_or_none(text.strip())
    if number is None:
        raise InvalidArgument("Provided max-keys not an integer or within integer range")
    return min(number, MAX_KEYS)


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidArgument("The continuation token provided is incorrect") from None


async def list_objects_v2(s3: S3Request) -> Response:
    query = s3.request.query_params
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter") or None
    if delimiter is not None and delimiter != "/":
        raise NotImplementedYet("Only '/' is supported as a delimiter.")
    encoding = query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request")
    max_keys = _max_keys(query.get("max-keys"))
    token = query.get("continuation-token")
    start_after = query.get("start-after")
    base = s3.bucket + "/"
    if token is not None:
        after: str | None = base + _decode_token(token)
    elif start_after:
        after = base + start_after
    else:
        after = None
    core = s3.core

    def scan() -> tuple[list[Entry], list[str], str | None]:
        require_bucket(s3)
        entries: list[Entry] = []
        prefixes: list[str] = []
        cursor = after
        while max_keys > 0:
            room = max_keys - len(entries) - len(prefixes)
            page = list_keys(
                core.db,
                s3.account_id,
                base + prefix,
                delimiter=delimiter is not None,
                after=cursor,
                limit=room,
            )
            entries += [entry for entry in page.entries if not entry.is_dir]
            prefixes += page.prefixes
            cursor = page.next_after
            if cursor is None or len(entries) + len(prefixes) >= max_keys:
                break
        return entries, prefixes, cursor if max_keys > 0 else None

    entries, prefixes, cursor = await run_in_threadpool(scan)

    def wire(text: str) -> str:
        return quote(text, safe="/") if encoding else text

    page = ObjectPage(
        bucket=s3.bucket,
        prefix=wire(prefix),
        delimiter=None if delimiter is None else wire(delimiter),
        max_keys=max_keys,
        objects=[
            ObjectItem(wire(entry.key[len(base) :]), iso_time(entry), etag(entry), entry.size)
            for entry in entries
        ],
        prefixes=[wire(common[len(base) :]) for common in prefixes],
        truncated=cursor is not None,
        continuation_token=token,
        next_continuation_token=None if cursor is None else _encode_token(cursor[len(base) :]),
        start_after=None if start_after is None else wire(start_after),
        encoding_type=encoding,
    )
    return Response(list_objects_v2_document(page), media_type=XML)
