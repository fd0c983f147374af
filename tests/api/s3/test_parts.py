"""GetObject and HeadObject of one part (``partNumber``) over a real ``lockr serve``
with boto3: a multipart object's parts, a single-part object's part 1, the errors."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import ensure_bucket, error_code, status_of

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
