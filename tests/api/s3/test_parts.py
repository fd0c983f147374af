"""GetObject and HeadObject of one part (``partNumber``) over a real ``lockr serve``
with boto3: a multipart object's parts, a single-part object's part 1, the errors,
and the checksum each part is answered with in checksum mode."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import ensure_bucket, error_code, status_of
from tests.api.s3.test_checksums import reference, upload

MiB = 1024 * 1024


def test_parts_of_a_multipart_object(s3: Any) -> None:
    ensure_bucket(s3, "parts")
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"last part"]
    upload_id = s3.create_multipart_upload(Bucket="parts", Key="mp")["UploadId"]
    listed = []
    for number in (3, 1, 2):  # out of order
        answer = s3.upload_part(
            Bucket="parts", Key="mp", UploadId=upload_id, PartNumber=number, Body=parts[number - 1]
        )
        listed.append({"PartNumber": number, "ETag": answer["ETag"]})
    listed.sort(key=lambda part: part["PartNumber"])
    etag = s3.complete_multipart_upload(
        Bucket="parts", Key="mp", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )["ETag"]
    whole = b"".join(parts)
    offset = 0
    for number, data in enumerate(parts, 1):
        got = s3.get_object(Bucket="parts", Key="mp", PartNumber=number)
        meta = got["ResponseMetadata"]
        assert meta["HTTPStatusCode"] == 206 and got["Body"].read() == data
        assert got["PartsCount"] == 3 and got["ETag"] == etag
        assert got["ContentRange"] == f"bytes {offset}-{offset + len(data) - 1}/{len(whole)}"
        head = s3.head_object(Bucket="parts", Key="mp", PartNumber=number)
        assert head["ContentLength"] == len(data) and head["PartsCount"] == 3
        offset += len(data)
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket="parts", Key="mp", PartNumber=4)
    assert error_code(beyond) == "InvalidPartNumber" and status_of(beyond) == 416
    with pytest.raises(ClientError) as both:
        s3.get_object(Bucket="parts", Key="mp", PartNumber=1, Range="bytes=0-1")
    assert error_code(both) == "InvalidRequest"
    with pytest.raises(ClientError) as zero:
        s3.get_object(Bucket="parts", Key="mp", PartNumber=0)
    assert status_of(zero) == 400


def test_a_single_part_object_is_its_part_one(s3: Any) -> None:
    ensure_bucket(s3, "parts")
    s3.put_object(Bucket="parts", Key="single", Body=b"0123456789")
    got = s3.get_object(Bucket="parts", Key="single", PartNumber=1)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == b"0123456789" and "PartsCount" not in got
    assert got["ContentRange"] == "bytes 0-9/10"
    with pytest.raises(ClientError) as beyond:
        s3.head_object(Bucket="parts", Key="single", PartNumber=2)
    assert status_of(beyond) == 416
    # A part number out of range is refused as such, whether or not the key is there.
    for key in ("single", "missing"):
        with pytest.raises(ClientError) as out_of_range:
            s3.get_object(Bucket="parts", Key=key, PartNumber=10_001)
        assert error_code(out_of_range) == "InvalidArgument", key


def checksum_upload(s3: Any, key: str, parts: list[bytes], name: str, kind: str) -> None:
    """An object ``key`` of the bucket ``sums`` made of ``parts``, with an upload
    checksum of ``name`` and type ``kind``."""
    ensure_bucket(s3, "sums")
    upload_id, sent = upload(s3, key, parts, ChecksumAlgorithm=name, ChecksumType=kind)
    s3.complete_multipart_upload(
        Bucket="sums", Key=key, UploadId=upload_id, MultipartUpload={"Parts": sent}
    )


def test_a_part_of_a_composite_object_has_its_own_checksum(s3: Any) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the last part"]
    checksum_upload(s3, "composite", parts, "SHA256", "COMPOSITE")
    whole = s3.head_object(Bucket="sums", Key="composite", ChecksumMode="ENABLED")
    assert whole["ChecksumSHA256"].endswith("-3")
    for number, data in enumerate(parts, 1):
        # boto3 checks the body against the checksum answered: it must be the part's.
        got = s3.get_object(
            Bucket="sums", Key="composite", PartNumber=number, ChecksumMode="ENABLED"
        )
        assert got["Body"].read() == data
        assert got["ChecksumSHA256"] == reference("SHA256", data)
        assert got["ChecksumType"] == "COMPOSITE"
        head = s3.head_object(
            Bucket="sums", Key="composite", PartNumber=number, ChecksumMode="ENABLED"
        )
        assert head["ChecksumSHA256"] == reference("SHA256", data)
        plain = s3.head_object(Bucket="sums", Key="composite", PartNumber=number)
        assert "ChecksumSHA256" not in plain and "ChecksumType" not in plain
    # One part: still the part's checksum, not the object's (which ends in -1).
    checksum_upload(s3, "composite-one", [b"single"], "CRC32C", "COMPOSITE")
    one = s3.head_object(Bucket="sums", Key="composite-one", PartNumber=1, ChecksumMode="ENABLED")
    assert one["ChecksumCRC32C"] == reference("CRC32C", b"single")
    assert one["ChecksumType"] == "COMPOSITE"


def test_a_part_of_a_full_object_checksum_has_one_only_when_it_is_the_whole(s3: Any) -> None:
    parts = [os.urandom(5 * MiB), b"end"]
    checksum_upload(s3, "full", parts, "CRC32", "FULL_OBJECT")
    for number, data in enumerate(parts, 1):
        got = s3.get_object(Bucket="sums", Key="full", PartNumber=number, ChecksumMode="ENABLED")
        assert got["Body"].read() == data
        assert "ChecksumCRC32" not in got and "ChecksumType" not in got
    checksum_upload(s3, "full-one", [b"whole"], "CRC64NVME", "FULL_OBJECT")
    one = s3.get_object(Bucket="sums", Key="full-one", PartNumber=1, ChecksumMode="ENABLED")
    assert one["Body"].read() == b"whole"
    assert one["ChecksumCRC64NVME"] == reference("CRC64NVME", b"whole")
    assert one["ChecksumType"] == "FULL_OBJECT"
    # A single-part object's part 1 is the object: its checksum is the part's.
    s3.put_object(Bucket="sums", Key="put", Body=b"put bytes", ChecksumAlgorithm="SHA1")
    put = s3.get_object(Bucket="sums", Key="put", PartNumber=1, ChecksumMode="ENABLED")
    assert put["Body"].read() == b"put bytes"
    assert put["ChecksumSHA1"] == reference("SHA1", b"put bytes")
    assert put["ChecksumType"] == "FULL_OBJECT"
