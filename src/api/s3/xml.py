"""The XML documents the S3 front answers with: errors, ListBuckets and
ListObjectsV2. Text is escaped here; callers pass plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _element(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def error_document(code: str, message: str, resource: str, request_id: str) -> bytes:
    return (
        HEAD
        + "<Error>"
        + _element("Code", code)
        + _element("Message", message)
        + _element("Resource", resource)
        + _element("RequestId", request_id)
        + "</Error>"
    ).encode()


@dataclass(frozen=True)
class Bucket:
    name: str
    created: str
    """ISO 8601, as S3 writes it."""


def list_buckets_document(owner_id: str, owner_name: str, buckets: Iterable[Bucket]) -> bytes:
    items = "".join(
        "<Bucket>" + _element("Name", b.name) + _element("CreationDate", b.created) + "</Bucket>"
        for b in buckets
    )
    return (
        HEAD
        + f'<ListAllMyBucketsResult xmlns="{NAMESPACE}">'
        + "<Owner>"
        + _element("ID", owner_id)
        + _element("DisplayName", owner_name)
        + "</Owner>"
        + f"<Buckets>{items}</Buckets>"
        + "</ListAllMyBucketsResult>"
    ).encode()


@dataclass(frozen=True)
class ObjectItem:
    key: str
    last_modified: str
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectPage:
    """One page of ListObjectsV2; keys and prefixes as they go on the wire (already
    URL-encoded when ``encoding_type`` says so)."""

    bucket: str
    prefix: str
    delimiter: str | None
    max_keys: int
    objects: list[ObjectItem]
    prefixes: list[str]
    truncated: bool
    continuation_token: str | None
    next_continuation_token: str | None
    start_after: str | None
    encoding_type: str | None


def list_objects_v2_document(page: ObjectPage) -> bytes:
    parts = [
        HEAD,
        f'<ListBucketResult xmlns="{NAMESPACE}">',
        _element("Name", page.bucket),
        _element("Prefix", page.prefix),
    ]
    if page.delimiter is not None:
        parts.append(_element("Delimiter", page.delimiter))
    parts += [
        _element("MaxKeys", page.max_keys),
        _element("KeyCount", len(page.objects) + len(page.prefixes)),
        _element("IsTruncated", page.truncated),
    ]
    if page.encoding_type is not None:
        parts.append(_element("EncodingType", page.encoding_type))
    if page.continuation_token is not None:
        parts.append(_element("ContinuationToken", page.continuation_token))
    if page.next_continuation_token is not None:
        parts.append(_element("NextContinuationToken", page.next_continuation_token))
    if page.start_after is not None:
        parts.append(_element("StartAfter", page.start_after))
    for item in page.objects:
        parts.append(
            "<Contents>"
            + _element("Key", item.key)
            + _element("LastModified", item.last_modified)
            + _element("ETag", item.etag)
            + _element("Size", item.size)
            + _element("StorageClass", "STANDARD")
            + "</Contents>"
        )
    for prefix in page.prefixes:
        parts.append("<CommonPrefixes>" + _element("Prefix", prefix) + "</CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode()
