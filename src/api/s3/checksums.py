"""The S3 additional checksums (``x-amz-checksum-*``), computed while a body streams,
and the checksums of multipart objects made from their parts' checksums.

The algorithms are S3's: CRC32, CRC32C, CRC64NVME, SHA1, SHA256, and the newer
SHA512, MD5, XXHASH64, XXHASH3 and XXHASH128 of its API reference (botocore's model).
CRC32 comes from ISA-L (the ``isal`` package: the same function as ``zlib.crc32``,
some twenty times faster than the zlib Python links; the AWS CLI and boto3 send a
CRC32 with every part, so every byte uploaded passes through it); CRC32C, CRC64NVME
and the xxHashes from the AWS Common Runtime (``awscrt``, which botocore uses for
them: several GB/s, with the hardware's CRC instructions), as are the combinations of
CRCs; SHA-1, SHA-256, SHA-512 and MD5 from hashlib. A value on the wire is the base64
of the big-endian digest (the xxHashes' canonical form).

An object uploaded without a checksum gets S3's default, a CRC64NVME of its bytes
(:data:`DEFAULT`), computed as they stream; the engine computes it for every file,
whichever front writes it (:mod:`gateway.filechecksum`, whose names for a kept
checksum are these headers').

A multipart object's checksum is of one of two types (S3's ``x-amz-checksum-type``):

- ``COMPOSITE``: the checksum of the concatenated binary checksums of its parts, with
  ``-N`` (the number of parts) appended; every algorithm has it, and it is the
  default but for CRC64NVME;
- ``FULL_OBJECT``: the checksum of the whole object, as a single upload would have,
  which the CRCs (only) can derive from their parts' checksums and sizes; the only
  type CRC64NVME has.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from awscrt import checksums as crt
from isal import isal_zlib

from api.s3.errors import BadDigest, InvalidRequest
from gateway import filechecksum

COMPOSITE = "COMPOSITE"
FULL_OBJECT = filechecksum.FULL_OBJECT
PREFIX = filechecksum.PREFIX
"""The headers (and trailers) carrying a checksum: ``x-amz-checksum-crc32`` and so on;
an object keeps its checksum under its header's name."""
TYPE_HEADER = filechecksum.TYPE


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data``, continuing from ``crc`` (the value of the data before)."""
    return int(crt.crc32c(data, crc))


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _CrcFunction(Protocol):
    def __call__(self, data: bytes, crc: int, /) -> int: ...


class _Crc:
    def __init__(self, function: _CrcFunction, size: int) -> None:
        self._function = function
        self._size = size
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


@dataclass(frozen=True)
class Algorithm:
    """One of S3's checksum algorithms: its name (``CRC32``), its header
    (``x-amz-checksum-crc32``), the size of its digest, a running checksum's
    factory, and for a CRC the function combining two values (the first's, the
    second's, and the second's length) into the value of the two bodies in turn."""

    name: str
    size: int
    new: Callable[[], Checksum]
    combine: Callable[[int, int, int], int] | None = None

    @property
    def header(self) -> str:
        return PREFIX + self.name.lower()

    def types(self) -> tuple[str, ...]:
        """The checksum types a multipart upload of this algorithm may have, its
        default first."""
        if self.name == "CRC64NVME":
            return (FULL_OBJECT,)
        if self.combine is None:
            return (COMPOSITE,)
        return (COMPOSITE, FULL_OBJECT)


def _crc(function: _CrcFunction, size: int) -> Callable[[], Checksum]:
    return lambda: _Crc(function, size)


def _sha1() -> Checksum:
    return hashlib.sha1(usedforsecurity=False)


def _sha256() -> Checksum:
    return hashlib.sha256()


def _sha512() -> Checksum:
    return hashlib.sha512()


def _md5() -> Checksum:
    return hashlib.md5(usedforsecurity=False)


class _XXHash:
    """One of awscrt's xxHashes as a :class:`Checksum` (awscrt finalizes once)."""

    def __init__(self, make: Callable[[], crt.XXHash]) -> None:
        self._hash = make()
        self._digest: bytes | None = None

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        if self._digest is None:
            self._digest = bytes(self._hash.finalize())
        return self._digest


def _xxhash(make: Callable[[], crt.XXHash]) -> Callable[[], Checksum]:
    return lambda: _XXHash(make)


ALGORITHMS = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm("CRC32", 4, _crc(isal_zlib.crc32, 4), crt.combine_crc32),
        Algorithm("CRC32C", 4, _crc(crt.crc32c, 4), crt.combine_crc32c),
        Algorithm("CRC64NVME", 8, _crc(crt.crc64nvme, 8), crt.combine_crc64nvme),
        Algorithm("SHA1", 20, _sha1),
        Algorithm("SHA256", 32, _sha256),
        Algorithm("SHA512", 64, _sha512),
        Algorithm("MD5", 16, _md5),
        Algorithm("XXHASH64", 8, _xxhash(crt.XXHash.new_xxhash64)),
        Algorithm("XXHASH3", 8, _xxhash(crt.XXHash.new_xxhash3_64)),
        Algorithm("XXHASH128", 16, _xxhash(crt.XXHash.new_xxhash3_128)),
    )
}
"""S3's algorithms by name."""
DEFAULT = ALGORITHMS["CRC64NVME"]
"""S3's default checksum: the one S3 computes and keeps (``FULL_OBJECT``) for an
object uploaded without one, by PutObject or by a multipart upload created without
an algorithm."""
BY_HEADER = {algorithm.header: algorithm for algorithm in ALGORITHMS.values()}
SUPPORTED = frozenset(BY_HEADER)
"""The checksum headers understood."""


def stored_checksum(meta: Mapping[str, str]) -> tuple[Algorithm, str, str] | None:
    """The algorithm, value and type of the checksum an object keeps in its metadata
    (PutObject and CompleteMultipartUpload put it there), if it has one."""
    for header, value in meta.items():
        algorithm = BY_HEADER.get(header)
        if algorithm is not None:
            return algorithm, value, meta.get(TYPE_HEADER, COMPOSITE)
    return None


def stored_headers(meta: Mapping[str, str] | None) -> dict[str, str]:
    """The headers answering the checksum an object keeps in its metadata ``meta``
    (with its type), or none."""
    stored = stored_checksum(meta or {})
    if stored is None:
        return {}
    algorithm, value, kind = stored
    return {algorithm.header: value, TYPE_HEADER: kind}


def algorithm_named(name: str) -> Algorithm:
    """The algorithm an ``x-amz-checksum-algorithm`` (or ``-sdk-``) header names, in
    any case; ``InvalidRequest`` for another."""
    algorithm = ALGORITHMS.get(name.strip().upper())
    if algorithm is None:
        raise InvalidRequest(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            f"valid types: [{', '.join(sorted(ALGORITHMS))}]"
        )
    return algorithm


def new_checksum(header: str) -> Checksum:
    """A running checksum for the algorithm an ``x-amz-checksum-*`` header names."""
    algorithm = BY_HEADER.get(header.lower())
    if algorithm is None:
        raise InvalidRequest(
            "The algorithm type you specified in x-amz-checksum- header is invalid."
        )
    return algorithm.new()


def decode(header: str, value: str, *, trailing: bool = False) -> bytes:
    """The digest a checksum value gives; ``InvalidRequest`` if it is not a
    well-formed value of the algorithm ``header`` names."""
    algorithm = BY_HEADER.get(header.lower())
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if algorithm is None or len(digest) != algorithm.size:
        where = "trailing header" if trailing else "header"
        raise InvalidRequest(f"Value for {header.lower()} {where} is invalid.")
    return digest


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def check_checksum(header: str, checksum: Checksum, value: str, *, trailing: bool = False) -> None:
    """Raise ``InvalidRequest`` if ``value`` is not a well-formed checksum of that
    kind, ``BadDigest`` if it is one but not the one computed."""
    claimed = decode(header, value, trailing=trailing)
    if claimed != checksum.digest():
        name = BY_HEADER[header.lower()].name
        raise BadDigest(f"The {name} you specified did not match the calculated checksum.")


def composite(algorithm: Algorithm, parts: Sequence[str]) -> str:
    """The ``COMPOSITE`` checksum of an object made of parts with these checksums
    (base64 values): the checksum of their digests in turn, then ``-N``."""
    checksum = algorithm.new()
    for value in parts:
        checksum.update(base64.b64decode(value))
    return f"{encode(checksum.digest())}-{len(parts)}"


def full_object(algorithm: Algorithm, parts: Sequence[tuple[str, int]]) -> str:
    """The ``FULL_OBJECT`` checksum of an object made of parts with these checksums
    (base64 values) and sizes: the CRC of the whole object."""
    assert algorithm.combine is not None
    crc = 0
    for value, size in parts:
        crc = algorithm.combine(crc, int.from_bytes(base64.b64decode(value), "big"), size)
    return encode(crc.to_bytes(algorithm.size, "big"))
