"""The CRC64NVME every file keeps: the algorithm's check value, and how it joins the
metadata a writer gives."""

from __future__ import annotations

import base64

from gateway.filechecksum import extend, with_checksum


def test_the_crc_is_crc64_nvme() -> None:
    # The check value of CRC-64/NVME (the CRC of the ASCII digits 1 to 9), in pieces.
    assert extend(0, b"123456789") == 0xAE8B14860A799888
    assert extend(extend(0, b"1234"), memoryview(b"56789")) == 0xAE8B14860A799888
    assert extend(0, b"") == 0


def test_kept_under_the_s3_names_unless_a_checksum_is_given() -> None:
    crc = 0xAE8B14860A799888
    value = base64.b64encode(crc.to_bytes(8, "big")).decode()
    assert with_checksum(None, crc) == {
        "x-amz-checksum-crc64nvme": value,
        "x-amz-checksum-type": "FULL_OBJECT",
    }
    assert with_checksum({"a": "1"}, crc) == {"a": "1"} | with_checksum(None, crc)
    given = {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-type": "COMPOSITE"}
    assert with_checksum(given, crc) == given
