"""One part of an object: GetObject and HeadObject with ``partNumber``.

Part ``N`` of a multipart object is the bytes its ``N``th listed part gave it (the
sizes are recorded at completion), answered ``206`` with ``Content-Range`` and
``x-amz-mp-parts-count``; any other object is a single part ``1``. The ETag, the
metadata and the conditions are the whole object's, as on S3.

In checksum mode (``x-amz-checksum-mode: ENABLED``) a part is answered with a
checksum of its own bytes, or none, as S3 does: the part's own checksum for an object
with a ``COMPOSITE`` checksum (recorded at completion,
:mod:`gateway.partchecksums`); the object's for a single-part object and for a
``FULL_OBJECT`` one of one part (the part is the object); none for a ``FULL_OBJECT``
object of several parts, whose parts' CRCs are not the object's.
"""

from __future__ import annotations

from api.s3.checksums import COMPOSITE, FULL_OBJECT, TYPE_HEADER, stored_checksum
from api.s3.context import S3Request
from api.s3.errors import InvalidArgument, InvalidPartNumber, InvalidRequest
from gateway.numbers import whole_number_or_none
from gateway.objectstore import MAX_PART_NUMBER
from gateway.partchecksums import part_checksum
from gateway.storage import Entry


def part_number(s3: S3Request) -> int:
    """The request's ``partNumber``, 1 to 10,000, or ``InvalidArgument``."""
    number = whole_number_or_none(s3.request.query_params.get("partNumber", "").strip())
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
        )
    return number


async def part_window(
    s3: S3Request, entry: Entry, number: int, headers: dict[str, str]
) -> tuple[int, int, int]:
    """The offset, length and status (206) of part ``number`` (the request's
    :func:`part_number`), with ``Content-Range``, ``Content-Length`` and, for a
    multipart object, ``x-amz-mp-parts-count`` set in ``headers``;
    ``InvalidPartNumber`` past the last part."""
    if "range" in s3.headers:
        raise InvalidRequest("Cannot specify both Range header and partNumber query parameter")
    found = await s3.lookups.read(s3.core.multipart.part_of, entry, number)
    if found is None:
        raise InvalidPartNumber()
    offset, length, count = found
    if entry.multipart_etag is not None:
        headers["x-amz-mp-parts-count"] = str(count)
    if s3.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        headers |= await _part_checksum(s3, entry, number, count)
    if length:
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{entry.size}"
    headers["Content-Length"] = str(length)
    return offset, length, 206


async def _part_checksum(s3: S3Request, entry: Entry, number: int, count: int) -> dict[str, str]:
    """The checksum headers of part ``number`` (of ``count``) of ``entry``: see the
    module's docstring."""
    stored = stored_checksum(entry.meta or {})
    if stored is None:
        return {}
    algorithm, value, kind = stored
    if entry.multipart_etag is None or (kind == FULL_OBJECT and count == 1):
        return {algorithm.header: value, TYPE_HEADER: kind}
    if kind != COMPOSITE:
        return {}
    own = await s3.lookups.read(part_checksum, s3.core.db, entry, number)
    return {} if own is None else {algorithm.header: own, TYPE_HEADER: COMPOSITE}
