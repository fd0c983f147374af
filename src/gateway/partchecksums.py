"""The checksums of the parts a multipart object was completed from, kept with its
bytes (``blobs.part_checksums``): S3 answers a part's own checksum in a GetObject or
HeadObject of that part (``partNumber``) of an object with a ``COMPOSITE`` checksum.

A part's checksum is its base64 value as recorded when the part was stored; an
object's are joined by commas in part order, and kept only when every part had one
(an upload without a checksum algorithm, or parts stored before checksums were
recorded, keep none).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select

from gateway.db import Database
from gateway.models import Blob
from gateway.storage import Entry

_PART_CHECKSUMS = select(Blob.part_checksums).where(Blob.key == bindparam("blob_key"))


def encode_checksums(checksums: Sequence[str | None]) -> str | None:
    """The parts' checksums as kept, or ``None`` unless every part has one."""
    if not checksums or any(not checksum for checksum in checksums):
        return None
    return ",".join(checksum for checksum in checksums if checksum)


def part_checksums(db: Database, entry: Entry) -> list[str] | None:
    """The checksums of the parts of the multipart object ``entry``, in part order,
    if they were kept."""
    if entry.multipart_etag is None or entry.blob_key is None:
        return None
    with db.lookup() as connection:
        kept = connection.execute(_PART_CHECKSUMS, {"blob_key": entry.blob_key}).scalar()
    return None if kept is None else kept.split(",")


def part_checksum(db: Database, entry: Entry, number: int) -> str | None:
    """The checksum of part ``number`` of the multipart object ``entry``, if its
    parts' checksums were kept."""
    checksums = part_checksums(db, entry) if number >= 1 else None
    return checksums[number - 1] if checksums and number <= len(checksums) else None
