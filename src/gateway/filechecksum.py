"""The checksum every file gets as its bytes are stored: a CRC64NVME, S3's default
checksum, so that a file reads back with the same checksum over the S3 front
whichever front wrote it.

Every write computes it beside MD5 and SHA-1, one update a block (a direct upload,
:class:`gateway.upload.Upload`; a resumable session, :mod:`gateway.sessions`), and
keeps it in the file's metadata (:attr:`gateway.tree.Entry.meta`) under the names the
S3 front keeps a checksum by, the ones of its headers: ``x-amz-checksum-crc64nvme``
(the base64 of the big-endian CRC) and ``x-amz-checksum-type: FULL_OBJECT``. A write
whose metadata already holds a checksum (an S3 PutObject sent with one) keeps that
one alone, as S3 keeps one checksum an object. A copy keeps its source's metadata,
checksum included (its bytes are the same); a file stored before this has none.

The CRC is the AWS Common Runtime's (``awscrt``, as botocore computes it): several
GB/s with the processor's carry-less multiply, about 1 µs for a 4 KiB block.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from awscrt.checksums import crc64nvme

PREFIX = "x-amz-checksum-"
"""Where a file's metadata keeps its checksum: ``x-amz-checksum-<algorithm>``."""
NAME = PREFIX + "crc64nvme"
TYPE = PREFIX + "type"
"""The checksum's type in the metadata: ``FULL_OBJECT`` (of the whole file) or,
for an S3 multipart object, ``COMPOSITE`` (of its parts' checksums)."""
FULL_OBJECT = "FULL_OBJECT"


def extend(crc: int, data: bytes | memoryview) -> int:
    """The CRC64NVME of the bytes so far (whose CRC is ``crc``; 0 for none) followed
    by ``data``."""
    return int(crc64nvme(data, crc))


def with_checksum(meta: Mapping[str, str] | None, crc: int) -> dict[str, str]:
    """``meta`` (a file's, as its writer gave it) with the file's CRC64NVME ``crc``,
    unless it holds a checksum already."""
    kept = dict(meta) if meta else {}
    if any(name.startswith(PREFIX) for name in kept):
        return kept
    kept[NAME] = base64.b64encode(crc.to_bytes(8, "big")).decode("ascii")
    kept[TYPE] = FULL_OBJECT
    return kept
