"""The S3 additional checksums (``x-amz-checksum-*``), computed while a body streams.

CRC32 comes from ISA-L (the ``isal`` package: the same function as ``zlib.crc32``,
folded with carry-less multiplication, some twenty times faster than the zlib Python
links; the AWS CLI and boto3 send a CRC32 with every part, so every byte uploaded
passes through it); CRC32C (Castagnoli) is computed here with a table, since no
library for it is a dependency; SHA-1 and SHA-256 come from hashlib. A value on the
wire is the base64 of the big-endian digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Protocol

from isal import isal_zlib

from api.s3.errors import BadDigest, InvalidDigest, InvalidRequest

_CRC32C_POLY = 0x82F63B78


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data``, continuing from ``crc`` (the value of the data before)."""
    table = _CRC32C_TABLE
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    def __init__(self, function: _CrcFunction) -> None:
        self._function = function
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return (self._value & 0xFFFFFFFF).to_bytes(4, "big")


class _CrcFunction(Protocol):
    def __call__(self, data: bytes, crc: int, /) -> int: ...


def _sha1() -> Checksum:
    return hashlib.sha1(usedforsecurity=False)


def _sha256() -> Checksum:
    return hashlib.sha256()


_ALGORITHMS = {
    "x-amz-checksum-crc32": lambda: _Crc(isal_zlib.crc32),
    "x-amz-checksum-crc32c": lambda: _Crc(crc32c),
    "x-amz-checksum-sha1": _sha1,
    "x-amz-checksum-sha256": _sha256,
}
_NAMES = {
    "x-amz-checksum-crc32": "CRC32",
    "x-amz-checksum-crc32c": "CRC32C",
    "x-amz-checksum-sha1": "SHA1",
    "x-amz-checksum-sha256": "SHA256",
}
SUPPORTED = frozenset(_ALGORITHMS)


def new_checksum(header: str) -> Checksum:
    """A running checksum for the algorithm an ``x-amz-checksum-*`` header names."""
    factory = _ALGORITHMS.get(header.lower())
    if factory is None:
        raise InvalidRequest(f"The checksum {header!r} is not supported.")
    return factory()


def check_checksum(header: str, checksum: Checksum, value: str) -> None:
    """Raise ``InvalidDigest`` if ``value`` is not a well-formed checksum of that kind,
    ``BadDigest`` if it is one but not the one computed."""
    name = _NAMES.get(header.lower(), header)
    computed = checksum.digest()
    try:
        claimed = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest(f"Value for {header} header is invalid.") from None
    if len(claimed) != len(computed):
        raise InvalidDigest(f"Value for {header} header is invalid.")
    if claimed != computed:
        raise BadDigest(f"The {name} you specified did not match the calculated checksum.")
