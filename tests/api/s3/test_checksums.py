"""The checksums of S3 trailers, CRC32C above all (computed here, not by a library)."""

from __future__ import annotations

import base64
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.s3 import errors
from api.s3.checksums import check_checksum, crc32c, new_checksum


def test_crc32c_check_values() -> None:
    # The standard check value, and RFC 3720's (iSCSI) test patterns.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"") == 0


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300))
def test_crc32c_continues_across_pieces(data: bytes, cut: int) -> None:
    assert crc32c(data[cut:], crc32c(data[:cut])) == crc32c(data)


def test_the_aws_example_crc32c() -> None:
    checksum = new_checksum("x-amz-checksum-crc32c")
    checksum.update(b"a" * 66560)
    assert base64.b64encode(checksum.digest()) == b"sOO8/Q=="
    check_checksum("x-amz-checksum-crc32c", checksum, "sOO8/Q==")
    with pytest.raises(errors.BadDigest, match="CRC32C"):
        check_checksum("x-amz-checksum-crc32c", checksum, "AAAAAA==")


def test_unknown_algorithms_are_refused() -> None:
    with pytest.raises(errors.InvalidRequest):
        new_checksum("x-amz-checksum-md5")


@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=3000))
def test_crc32_is_zlibs_across_pieces(data: bytes, cut: int) -> None:
    checksum = new_checksum("x-amz-checksum-crc32")
    checksum.update(data[:cut])
    checksum.update(data[cut:])
    assert checksum.digest() == zlib.crc32(data).to_bytes(4, "big")


def test_crc32_of_a_large_body() -> None:
    data = bytes(range(256)) * 8192 + b"tail"
    checksum = new_checksum("x-amz-checksum-crc32")
    for start in range(0, len(data), 300_000):
        checksum.update(data[start : start + 300_000])
    value = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    check_checksum("x-amz-checksum-crc32", checksum, value)
