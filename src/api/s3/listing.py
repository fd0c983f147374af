"""Listing a bucket's objects: ListObjects (version 1), ListObjectsV2, and
ListObjectVersions, answered as for a bucket that was never versioned (every object
one version, ``null``, the latest).

Listing maps S3 keys onto the tree's keys (``bucket/`` + the S3 key). The objects
are the files and the folder markers (``key/``, made by PutObject;
:data:`gateway.listing.OBJECT`); other folders are implied by the objects under them,
as S3 prefixes are: with ``/`` as the delimiter, a folder is a common prefix only
while an object lies below it, and a folder left empty is not listed. Any other
delimiter rolls keys up at its first occurrence after the prefix, as S3 does (``a``
makes ``ba`` of ``bar`` and ``baz``). A page holds at most
``max-keys`` (up to 1,000) objects and common prefixes; a marker (or a continuation
token, or a key marker) that names a common prefix skips everything under it, so a
client that passes back the last one it was given walks every key exactly once.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import quote

from starlette.datastructures import QueryParams
from starlette.responses import Response

from api.s3.buckets import XML, etag, iso_time, require_bucket
from api.s3.context import S3Request
from api.s3.errors import InvalidArgument
from api.s3.xml import ObjectItem, ObjectPage, Owner, listing_document
from gateway.listing import MAX_KEYS, list_keys
from gateway.numbers import whole_number_or_none
from gateway.storage import Entry


@dataclass(frozen=True)
class ListingQuery:
    """What every listing asks: the keys under ``prefix``, rolled up at ``delimiter``
    (``None``, or any string: S3 takes any), at most ``max_keys`` of them, the answer
    URL-encoded when ``encoding`` is ``url``."""

    prefix: str
    delimiter: str | None
    max_keys: int
    encoding: str | None

    def wire(self, text: str) -> str:
        """A key, prefix or marker as it goes in the answer."""
        return quote(text, safe="/") if self.encoding else text


@dataclass(frozen=True)
class Found:
    """One page: files and common prefixes (S3 keys, in the bucket), and the last
    of them when there are more (``None`` on the last page)."""

    entries: list[Entry]
    prefixes: list[str]
    cursor: str | None


def _listing_query(query: QueryParams) -> ListingQuery:
    delimiter = query.get("delimiter") or None
    encoding = query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request")
    max_keys = _max_keys(query.get("max-keys"))
    return ListingQuery(query.get("prefix", ""), delimiter, max_keys, encoding)


def _max_keys(text: str | None) -> int:
    if text is None:
        return MAX_KEYS
    number = whole_number_or_none(text.strip())
    if number is None:
        raise InvalidArgument("Provided max-keys not an integer or within integer range")
    return min(number, MAX_KEYS)


def _scan(s3: S3Request, asked: ListingQuery, after: str | None) -> Found:
    """The page of the bucket's objects after ``after`` (an S3 key). Blocking."""
    require_bucket(s3)
    if asked.max_keys == 0:
        return Found([], [], None)
    base = s3.bucket + "/"
    page = list_keys(
        s3.core.db,
        s3.account_id,
        base + asked.prefix,
        delimiter=asked.delimiter,
        after=None if after is None else base + after,
        limit=asked.max_keys,
        objects=True,
    )
    cursor = page.next_after
    return Found(
        page.entries,
        [common[len(base) :] for common in page.prefixes],
        None if cursor is None else cursor[len(base) :],
    )


def _page(
    s3: S3Request,
    asked: ListingQuery,
    found: Found,
    markers: list[tuple[str, str]],
    *,
    owner: Owner | None,
) -> ObjectPage:
    base = len(s3.bucket) + 1
    wire = asked.wire
    return ObjectPage(
        bucket=s3.bucket,
        prefix=wire(asked.prefix),
        delimiter=None if asked.delimiter is None else wire(asked.delimiter),
        max_keys=asked.max_keys,
        objects=[
            ObjectItem(wire(entry.key[base:]), iso_time(entry), etag(entry), entry.size)
            for entry in found.entries
        ],
        prefixes=[wire(common) for common in found.prefixes],
        truncated=found.cursor is not None,
        encoding_type=asked.encoding,
        markers=markers,
        owner=owner,
    )


async def list_objects_v1(s3: S3Request) -> Response:
    """ListObjects: from after ``marker``; ``NextMarker`` (the last key or common
    prefix of a truncated page) only with a delimiter, as S3 answers: without one, the
    next marker is the page's last key."""
    query = s3.request.query_params
    asked = _listing_query(query)
    marker = query.get("marker", "")
    found = await s3.lookups.read(_scan, s3, asked, marker or None)
    markers = [("Marker", asked.wire(marker))]
    if asked.delimiter is not None and found.cursor is not None:
        markers.append(("NextMarker", asked.wire(found.cursor)))
    page = _page(s3, asked, found, markers, owner=s3.owner)
    return Response(listing_document("ListBucketResult", page), media_type=XML)


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidArgument("The continuation token provided is incorrect") from None


async def list_objects_v2(s3: S3Request) -> Response:
    """ListObjectsV2: from after ``start-after`` or the opaque ``continuation-token``;
    each object's owner only with ``fetch-owner=true``."""
    query = s3.request.query_params
    asked = _listing_query(query)
    token = query.get("continuation-token")
    start_after = query.get("start-after")
    after = _decode_token(token) if token is not None else start_after or None
    found = await s3.lookups.read(_scan, s3, asked, after)
    markers = []
    if token is not None:
        markers.append(("ContinuationToken", token))
    if found.cursor is not None:
        markers.append(("NextContinuationToken", _encode_token(found.cursor)))
    if start_after is not None:
        markers.append(("StartAfter", asked.wire(start_after)))
    owner = s3.owner if query.get("fetch-owner") == "true" else None
    page = _page(s3, asked, found, markers, owner=owner)
    return Response(listing_document("ListBucketResult", page, key_count=True), media_type=XML)


async def list_object_versions(s3: S3Request) -> Response:
    """ListObjectVersions of an unversioned bucket: each object once, version
    ``null``; ``key-marker`` (with ``version-id-marker`` ``null``, or none) resumes
    after a key, and a truncated page names its last key or common prefix."""
    query = s3.request.query_params
    asked = _listing_query(query)
    key_marker = query.get("key-marker", "")
    version_marker = query.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise InvalidArgument("A version-id marker cannot be specified without a key marker.")
    if version_marker not in ("", "null"):
        raise InvalidArgument("Invalid version id specified")
    found = await s3.lookups.read(_scan, s3, asked, key_marker or None)
    markers = [("KeyMarker", asked.wire(key_marker)), ("VersionIdMarker", version_marker)]
    if found.cursor is not None:
        markers.append(("NextKeyMarker", asked.wire(found.cursor)))
        if found.cursor not in found.prefixes:
            markers.append(("NextVersionIdMarker", "null"))
    page = _page(s3, asked, found, markers, owner=s3.owner)
    return Response(listing_document("ListVersionsResult", page, versions=True), media_type=XML)
