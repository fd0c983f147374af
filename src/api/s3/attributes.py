"""GetObjectAttributes (``GET /bucket/key?attributes``): the attributes of an object
the ``x-amz-object-attributes`` header names (``ETag``, ``Checksum``,
``ObjectParts``, ``StorageClass``, ``ObjectSize``), in one document, with its
``Last-Modified``; the conditions of a GetObject (``If-Match`` and the others) hold.

As on S3: the ETag is unquoted; a checksum is the object's (a ``COMPOSITE`` one
without the ``-N`` its HeadObject answer ends with), omitted for an object without
one; ``ObjectParts`` only for an object made of parts, with their count
(``PartsCount``) and, when the upload had a checksum algorithm (the parts'
checksums were kept), a page of parts (number, size, checksum):
``x-amz-max-parts`` of them (1,000 at most, the default) after
``x-amz-part-number-marker``. A header missing or naming no attribute, or an unknown
one, is ``InvalidArgument``.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from api.s3.buckets import etag, last_modified
from api.s3.checksums import stored_checksum
from api.s3.context import S3Request, whole_number
from api.s3.errors import InvalidArgument
from api.s3.objects import find_object, read_conditions
from api.s3.xml import (
    Attributes,
    ObjectPartItem,
    ObjectPartsPage,
    attributes_document,
)
from gateway.multipart_terms import MAX_LISTED
from gateway.partchecksums import part_checksums
from gateway.storage import Entry
from gateway.timefmt import http_date

NAMES = frozenset(("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"))
XML = "application/xml"


def requested(headers: Mapping[str, str]) -> frozenset[str]:
    """The attributes ``x-amz-object-attributes`` names (a comma-separated list)."""
    names = {name.strip() for name in headers.get("x-amz-object-attributes", "").split(",")}
    names.discard("")
    if not names:
        raise InvalidArgument(
            "The x-amz-object-attributes header specifying the attributes to be "
            "retrieved is either missing or empty"
        )
    if not names <= NAMES:
        raise InvalidArgument("Invalid attribute name specified.")
    return frozenset(names)


async def get_object_attributes(s3: S3Request) -> Response:
    names = requested(s3.headers)
    max_parts = min(
        whole_number(s3.headers.get("x-amz-max-parts"), "MaxParts", MAX_LISTED), MAX_LISTED
    )
    marker = whole_number(s3.headers.get("x-amz-part-number-marker"), "PartNumberMarker", 0)
    entry = await s3.lookups.read(find_object, s3)
    tag = etag(entry)
    modified = last_modified(entry)
    headers = {"Last-Modified": http_date(modified)}
    not_modified = read_conditions(s3, tag, modified, headers | {"ETag": tag})
    if not_modified is not None:
        return not_modified
    stored = stored_checksum(entry.meta or {}) if "Checksum" in names else None
    parts = None
    if "ObjectParts" in names and entry.multipart_etag is not None:
        parts = await s3.lookups.read(_parts, s3, entry, max_parts, marker)
    attributes = Attributes(
        etag=tag.strip('"') if "ETag" in names else None,
        checksum=None if stored is None else (stored[0].name, stored[1].split("-")[0], stored[2]),
        parts=parts,
        storage_class="STANDARD" if "StorageClass" in names else None,
        size=entry.size if "ObjectSize" in names else None,
    )
    return Response(attributes_document(attributes), media_type=XML, headers=headers)


def _parts(s3: S3Request, entry: Entry, max_parts: int, marker: int) -> ObjectPartsPage | None:
    """The ``ObjectParts`` of the multipart object ``entry``. Blocking."""
    sizes = s3.core.multipart.part_sizes(entry)
    if sizes is None:  # completed by a lockr that did not record them
        return None
    checksums = part_checksums(s3.core.db, entry)
    stored = stored_checksum(entry.meta or {})
    if checksums is None or stored is None or len(checksums) != len(sizes):
        return ObjectPartsPage(count=len(sizes))
    algorithm = stored[0].name
    numbers = range(marker + 1, len(sizes) + 1)
    page = [
        ObjectPartItem(number, sizes[number - 1], (algorithm, checksums[number - 1]))
        for number in numbers[:max_parts]
    ]
    return ObjectPartsPage(
        count=len(sizes),
        listed=True,
        marker=marker,
        next_marker=page[-1].number if page else marker,
        max_parts=max_parts,
        truncated=len(numbers) > max_parts,
        parts=page,
    )
