"""The XML documents the S3 front answers with: errors, ListBuckets, the object
listings, GetBucketLocation, GetBucketVersioning, the ACLs and ownership controls,
CopyObject, DeleteObjects, GetObjectAttributes and those of multipart uploads. Text
is escaped here; callers pass plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple
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
class Owner:
    id: str
    name: str


def _owner(owner: Owner, tag: str = "Owner") -> str:
    """``<Owner>`` (or ``tag``: a multipart upload's ``<Initiator>``) of ``owner``."""
    return f"<{tag}>" + _element("ID", owner.id) + _element("DisplayName", owner.name) + f"</{tag}>"


@dataclass(frozen=True)
class Bucket:
    name: str
    created: str
    """ISO 8601, as S3 writes it."""


def list_buckets_document(
    owner: Owner,
    buckets: Iterable[Bucket],
    *,
    region: str,
    prefix: str | None = None,
    continuation: str | None = None,
) -> bytes:
    """ListBuckets: the buckets (each in ``region``), the ``prefix`` asked for, and
    the token to continue after this page, if there are more."""
    items = "".join(
        "<Bucket>"
        + _element("Name", b.name)
        + _element("CreationDate", b.created)
        + _element("BucketRegion", region)
        + "</Bucket>"
        for b in buckets
    )
    return (
        HEAD
        + f'<ListAllMyBucketsResult xmlns="{NAMESPACE}">'
        + _owner(owner)
        + f"<Buckets>{items}</Buckets>"
        + _optional("ContinuationToken", continuation)
        + _optional("Prefix", prefix)
        + "</ListAllMyBucketsResult>"
    ).encode()


@dataclass(frozen=True)
class ListingPage:
    """What every listing's page holds (ListObjects and its kin, ListMultipartUploads);
    prefixes and markers as they go on the wire (already URL-encoded when
    ``encoding_type`` says so)."""

    bucket: str
    prefix: str
    delimiter: str | None
    truncated: bool
    prefixes: list[str]
    """The common prefixes under the delimiter."""
    encoding_type: str | None


def _optional(name: str, value: object | None) -> str:
    """``<name>value</name>``, or nothing for ``None``."""
    return "" if value is None else _element(name, value)


def _listing_document(root: str, page: ListingPage, fields: list[str], items: list[str]) -> bytes:
    """A listing: ``fields`` (the page's own elements, in the order S3 writes them),
    one string per item, then the page's common prefixes."""
    prefixes = [
        f"<CommonPrefixes><Prefix>{escape(prefix)}</Prefix></CommonPrefixes>"
        for prefix in page.prefixes
    ]
    return "".join(
        [HEAD, f'<{root} xmlns="{NAMESPACE}">', *fields, *items, *prefixes, f"</{root}>"]
    ).encode()


class ObjectItem(NamedTuple):
    """One object of a listing page (a thousand a page: a tuple is quicker to make)."""

    key: str
    last_modified: str
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectPage(ListingPage):
    """One page of an object listing; keys as they go on the wire."""

    max_keys: int
    objects: list[ObjectItem]
    markers: list[tuple[str, str]] = field(default_factory=list)
    """The listing's own elements (markers, continuation tokens), names and values."""
    owner: Owner | None = None
    """The objects' owner, when the listing names it."""


def listing_document(
    root: str, page: ObjectPage, *, key_count: bool = False, versions: bool = False
) -> bytes:
    """ListObjects (``ListBucketResult``), ListObjectsV2 (the same, with
    ``key_count``) or ListObjectVersions (``ListVersionsResult`` with ``versions``:
    every object is its one version, ``null``, the latest)."""
    fields = [
        _element("Name", page.bucket),
        _element("Prefix", page.prefix),
        *(_element(name, value) for name, value in page.markers),
        _optional("Delimiter", page.delimiter),
        _element("MaxKeys", page.max_keys),
        _element("KeyCount", len(page.objects) + len(page.prefixes)) if key_count else "",
        _element("IsTruncated", page.truncated),
        _optional("EncodingType", page.encoding_type),
    ]
    tag = "Version" if versions else "Contents"
    version = _element("VersionId", "null") + _element("IsLatest", True) if versions else ""
    owner = "" if page.owner is None else _owner(page.owner)
    # One string per object (up to 1,000 a page): the fixed parts written out.
    tail = f"{owner}<StorageClass>STANDARD</StorageClass></{tag}>"
    items = [
        f"<{tag}><Key>{escape(item.key)}</Key>{version}"
        f"<LastModified>{escape(item.last_modified)}</LastModified>"
        f"<ETag>{escape(item.etag)}</ETag><Size>{int(item.size)}</Size>{tail}"
        for item in page.objects
    ]
    return _listing_document(root, page, fields, items)


def location_document(region: str) -> bytes:
    """GetBucketLocation: S3 answers us-east-1 with an empty constraint."""
    body = f'<LocationConstraint xmlns="{NAMESPACE}">{escape(region)}</LocationConstraint>'
    return (HEAD + body).encode()


def versioning_document() -> bytes:
    """GetBucketVersioning of a bucket that was never versioned."""
    return (HEAD + f'<VersioningConfiguration xmlns="{NAMESPACE}"/>').encode()


def acl_document(owner: Owner) -> bytes:
    """GetBucketAcl and GetObjectAcl: the owner, with full control, alone."""
    grantee = (
        '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:type="CanonicalUser">'
        + _element("ID", owner.id)
        + _element("DisplayName", owner.name)
        + "</Grantee>"
    )
    return (
        HEAD
        + f'<AccessControlPolicy xmlns="{NAMESPACE}">'
        + _owner(owner)
        + "<AccessControlList><Grant>"
        + grantee
        + _element("Permission", "FULL_CONTROL")
        + "</Grant></AccessControlList></AccessControlPolicy>"
    ).encode()


def ownership_document() -> bytes:
    """GetBucketOwnershipControls: ACLs disabled, the bucket owner owns everything."""
    return (
        HEAD
        + f'<OwnershipControls xmlns="{NAMESPACE}"><Rule>'
        + _element("ObjectOwnership", "BucketOwnerEnforced")
        + "</Rule></OwnershipControls>"
    ).encode()


def copy_result_document(
    etag: str,
    last_modified: str,
    *,
    root: str = "CopyObjectResult",
    checksum: tuple[str, str] | None = None,
    checksum_type: str | None = None,
) -> bytes:
    """CopyObject's answer (``root`` ``CopyPartResult``: UploadPartCopy's), with the
    copy's ``checksum`` (its algorithm and value) and its type (CopyObject's), if it
    has one."""
    sums = "" if checksum is None else _element(f"Checksum{checksum[0]}", checksum[1])
    if checksum_type is not None:
        sums += _element("ChecksumType", checksum_type)
    return (
        HEAD
        + f'<{root} xmlns="{NAMESPACE}">'
        + _element("LastModified", last_modified)
        + _element("ETag", etag)
        + sums
        + f"</{root}>"
    ).encode()


@dataclass(frozen=True)
class Deleted:
    """One key of a DeleteObjects request: deleted (``code`` ``None``) or not."""

    key: str
    version_id: str | None = None
    code: str | None = None
    message: str = ""


def delete_result_document(results: Iterable[Deleted], *, quiet: bool) -> bytes:
    """DeleteObjects: every key's outcome; in quiet mode, only the failures."""
    parts = [HEAD, f'<DeleteResult xmlns="{NAMESPACE}">']
    for result in results:
        version = _optional("VersionId", result.version_id)
        if result.code is None:
            if not quiet:
                parts.append("<Deleted>" + _element("Key", result.key) + version + "</Deleted>")
            continue
        parts.append(
            "<Error>"
            + _element("Key", result.key)
            + version
            + _element("Code", result.code)
            + _element("Message", result.message)
            + "</Error>"
        )
    parts.append("</DeleteResult>")
    return "".join(parts).encode()


def initiate_multipart_document(bucket: str, key: str, upload_id: str) -> bytes:
    return (
        HEAD
        + f'<InitiateMultipartUploadResult xmlns="{NAMESPACE}">'
        + _element("Bucket", bucket)
        + _element("Key", key)
        + _element("UploadId", upload_id)
        + "</InitiateMultipartUploadResult>"
    ).encode()


def complete_multipart_document(
    location: str, bucket: str, key: str, etag: str, checksum: tuple[str, str, str] | None = None
) -> bytes:
    """Without the XML declaration: it may follow one sent long before (see
    :mod:`s3.multipart`). ``checksum`` is the object's algorithm, value and type."""
    return (
        f'<CompleteMultipartUploadResult xmlns="{NAMESPACE}">'
        + _element("Location", location)
        + _element("Bucket", bucket)
        + _element("Key", key)
        + _element("ETag", etag)
        + _checksum_elements(checksum)
        + "</CompleteMultipartUploadResult>"
    ).encode()


def _checksum_elements(checksum: tuple[str, str, str] | None) -> str:
    if checksum is None:
        return ""
    algorithm, value, kind = checksum
    return _element(f"Checksum{algorithm}", value) + _element("ChecksumType", kind)


@dataclass(frozen=True)
class PartItem:
    number: int
    last_modified: str
    etag: str
    size: int
    checksum: tuple[str, str] | None = None
    """The part's checksum: its algorithm and value."""


@dataclass(frozen=True)
class PartsPage:
    """One page of ListParts."""

    bucket: str
    key: str
    upload_id: str
    owner: Owner
    marker: int
    next_marker: int
    max_parts: int
    truncated: bool
    parts: list[PartItem]
    checksum: tuple[str, str] | None = None
    """The upload's checksum algorithm and type."""


def list_parts_document(page: PartsPage) -> bytes:
    parts = [
        HEAD,
        f'<ListPartsResult xmlns="{NAMESPACE}">',
        _element("Bucket", page.bucket),
        _element("Key", page.key),
        _element("UploadId", page.upload_id),
        _owner(page.owner, "Initiator"),
        _owner(page.owner),
        _element("StorageClass", "STANDARD"),
        _element("PartNumberMarker", page.marker),
        _element("NextPartNumberMarker", page.next_marker),
        _element("MaxParts", page.max_parts),
        _element("IsTruncated", page.truncated),
    ]
    if page.checksum is not None:
        parts.append(_element("ChecksumAlgorithm", page.checksum[0]))
        parts.append(_element("ChecksumType", page.checksum[1]))
    for part in page.parts:
        parts.append(
            "<Part>"
            + _element("PartNumber", part.number)
            + _element("LastModified", part.last_modified)
            + _element("ETag", part.etag)
            + _element("Size", part.size)
            + (
                ""
                if part.checksum is None
                else _element(f"Checksum{part.checksum[0]}", part.checksum[1])
            )
            + "</Part>"
        )
    parts.append("</ListPartsResult>")
    return "".join(parts).encode()


@dataclass(frozen=True)
class UploadItem:
    key: str
    upload_id: str
    initiated: str
    checksum: tuple[str, str] | None = None
    """The upload's checksum algorithm and type, if it has them."""


@dataclass(frozen=True)
class UploadsPage(ListingPage):
    """One page of ListMultipartUploads; keys as they go on the wire."""

    owner: Owner
    key_marker: str
    upload_id_marker: str
    next_key_marker: str | None
    next_upload_id_marker: str | None
    max_uploads: int
    uploads: list[UploadItem]


def list_uploads_document(page: UploadsPage) -> bytes:
    fields = [
        _element("Bucket", page.bucket),
        _element("KeyMarker", page.key_marker),
        _element("UploadIdMarker", page.upload_id_marker),
        _optional("NextKeyMarker", page.next_key_marker),
        _optional("NextUploadIdMarker", page.next_upload_id_marker),
        _optional("EncodingType", page.encoding_type),
        _element("Prefix", page.prefix),
        _optional("Delimiter", page.delimiter),
        _element("MaxUploads", page.max_uploads),
        _element("IsTruncated", page.truncated),
    ]
    owners = _owner(page.owner, "Initiator") + _owner(page.owner)
    items = [
        "<Upload>"
        + _element("Key", upload.key)
        + _element("UploadId", upload.upload_id)
        + owners
        + _element("StorageClass", "STANDARD")
        + _element("Initiated", upload.initiated)
        + (
            ""
            if upload.checksum is None
            else _element("ChecksumAlgorithm", upload.checksum[0])
            + _element("ChecksumType", upload.checksum[1])
        )
        + "</Upload>"
        for upload in page.uploads
    ]
    return _listing_document("ListMultipartUploadsResult", page, fields, items)


@dataclass(frozen=True)
class ObjectPartItem:
    """A part GetObjectAttributes lists: its number, size and checksum (the
    algorithm's name and the value), if kept."""

    number: int
    size: int
    checksum: tuple[str, str] | None = None


@dataclass(frozen=True)
class ObjectPartsPage:
    """GetObjectAttributes' ``ObjectParts``: how many parts, and the page of them
    listed after ``marker`` (``listed`` False: the count alone)."""

    count: int
    listed: bool = False
    marker: int = 0
    next_marker: int = 0
    max_parts: int = 0
    truncated: bool = False
    parts: list[ObjectPartItem] = field(default_factory=list)


@dataclass(frozen=True)
class Attributes:
    """The attributes GetObjectAttributes answers; ``None`` for one not asked for
    (or, a checksum or the parts, one the object has not)."""

    etag: str | None = None
    """Unquoted, as S3 gives it in this document."""
    checksum: tuple[str, str, str] | None = None
    """The algorithm's name, the value and the type."""
    parts: ObjectPartsPage | None = None
    storage_class: str | None = None
    size: int | None = None


def attributes_document(attributes: Attributes) -> bytes:
    out = [HEAD, f'<GetObjectAttributesResponse xmlns="{NAMESPACE}">']
    if attributes.etag is not None:
        out.append(_element("ETag", attributes.etag))
    if attributes.checksum is not None:
        out.append("<Checksum>" + _checksum_elements(attributes.checksum) + "</Checksum>")
    page = attributes.parts
    if page is not None:
        out.append("<ObjectParts>")
        if page.listed:
            out += [
                _element("IsTruncated", page.truncated),
                _element("MaxParts", page.max_parts),
                _element("NextPartNumberMarker", page.next_marker),
                _element("PartNumberMarker", page.marker),
            ]
            for part in page.parts:
                checksum = part.checksum
                out.append(
                    "<Part>"
                    + _element("PartNumber", part.number)
                    + _element("Size", part.size)
                    + ("" if checksum is None else _element(f"Checksum{checksum[0]}", checksum[1]))
                    + "</Part>"
                )
        out.append(_element("PartsCount", page.count) + "</ObjectParts>")
    if attributes.storage_class is not None:
        out.append(_element("StorageClass", attributes.storage_class))
    if attributes.size is not None:
        out.append(_element("ObjectSize", attributes.size))
    out.append("</GetObjectAttributesResponse>")
    return "".join(out).encode()
