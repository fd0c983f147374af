"""GetObjectAttributes (:mod:`api.s3.attributes`) over a real ``lockr serve`` with
boto3: the attributes asked for and no others, a single-part object, multipart
objects with and without a checksum algorithm (their parts paged), the conditions,
and the errors."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import ensure_bucket, error_code, send_signed, status_of
from tests.api.s3.test_checksums import reference, upload
from tests.conftest import LockrProcess

MiB = 1024 * 1024
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def attributes(s3: Any, key: str, names: list[str] = ALL, **more: Any) -> dict[str, Any]:
    answer = s3.get_object_attributes(Bucket="sums", Key=key, ObjectAttributes=names, **more)
    answer.pop("ResponseMetadata")
    return dict(answer)


def test_a_single_part_object(s3: Any, bare: Any) -> None:
    ensure_bucket(s3, "sums")
    data = b"attributes " * 300
    put = bare.put_object(Bucket="sums", Key="attr-one", Body=data)  # S3's default checksum
    head = s3.head_object(Bucket="sums", Key="attr-one")
    got = attributes(s3, "attr-one")
    assert got["ETag"] == put["ETag"].strip('"')  # unquoted here, as on S3
    assert got["ObjectSize"] == len(data) and got["StorageClass"] == "STANDARD"
    assert got["Checksum"] == {
        "ChecksumCRC64NVME": reference("CRC64NVME", data),
        "ChecksumType": "FULL_OBJECT",
    }
    assert "ObjectParts" not in got  # not made of parts
    assert got["LastModified"] == head["LastModified"]
    # Only what is asked for.
    assert set(attributes(s3, "attr-one", ["ObjectSize"])) == {"LastModified", "ObjectSize"}
    sent = s3.put_object(Bucket="sums", Key="attr-sha", Body=data, ChecksumAlgorithm="SHA256")
    assert attributes(s3, "attr-sha", ["Checksum"])["Checksum"] == {
        "ChecksumSHA256": sent["ChecksumSHA256"],
        "ChecksumType": "FULL_OBJECT",
    }


def test_a_multipart_object_without_an_algorithm(s3: Any, bare: Any) -> None:
    ensure_bucket(s3, "sums")
    parts = [os.urandom(5 * MiB), b"the last part"]
    upload_id, sent = upload(bare, "attr-mp", parts)
    done = bare.complete_multipart_upload(
        Bucket="sums", Key="attr-mp", UploadId=upload_id, MultipartUpload={"Parts": sent}
    )
    got = attributes(s3, "attr-mp")
    assert got["ETag"] == done["ETag"].strip('"') and got["ETag"].endswith("-2")
    assert got["ObjectSize"] == sum(map(len, parts))
    assert got["Checksum"] == {
        "ChecksumCRC64NVME": reference("CRC64NVME", b"".join(parts)),
        "ChecksumType": "FULL_OBJECT",
    }
    listed = got["ObjectParts"]
    assert listed["TotalPartsCount"] == 2 and not listed["IsTruncated"]
    assert [(part["PartNumber"], part["Size"]) for part in listed["Parts"]] == [
        (1, 5 * MiB),
        (2, len(parts[1])),
    ]
    assert [part["ChecksumCRC64NVME"] for part in listed["Parts"]] == [
        reference("CRC64NVME", part) for part in parts
    ]


def test_a_composite_checksum_and_its_parts_paged(s3: Any) -> None:
    ensure_bucket(s3, "sums")
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
    upload_id, sent = upload(s3, "attr-sha-mp", parts, ChecksumAlgorithm="SHA256")
    done = s3.complete_multipart_upload(
        Bucket="sums", Key="attr-sha-mp", UploadId=upload_id, MultipartUpload={"Parts": sent}
    )
    assert done["ChecksumSHA256"].endswith("-3")
    got = attributes(s3, "attr-sha-mp", ["Checksum", "ObjectParts"], MaxParts=2)
    # The object's composite checksum, without the "-3" HeadObject answers it with.
    assert got["Checksum"] == {
        "ChecksumSHA256": done["ChecksumSHA256"].removesuffix("-3"),
        "ChecksumType": "COMPOSITE",
    }
    first = got["ObjectParts"]
    assert first["TotalPartsCount"] == 3 and first["MaxParts"] == 2
    assert first["IsTruncated"] and first["NextPartNumberMarker"] == 2
    assert [part["ChecksumSHA256"] for part in first["Parts"]] == [
        part["ChecksumSHA256"] for part in sent[:2]
    ]
    rest = attributes(s3, "attr-sha-mp", ["ObjectParts"], PartNumberMarker=2)["ObjectParts"]
    assert rest["PartNumberMarker"] == 2 and not rest["IsTruncated"]
    assert [(part["PartNumber"], part["Size"]) for part in rest["Parts"]] == [(3, 4)]
    assert rest["Parts"][0]["ChecksumSHA256"] == reference("SHA256", b"tail")


def test_conditions_hold(server: LockrProcess, keys: dict[str, Any], s3: Any) -> None:
    ensure_bucket(s3, "sums")
    tag = s3.put_object(Bucket="sums", Key="attr-cond", Body=b"conditional")["ETag"]
    target = "/sums/attr-cond?attributes"
    asked = {"x-amz-object-attributes": "ObjectSize"}
    same = send_signed(server, keys, "GET", target, headers=asked | {"If-None-Match": tag})
    assert same.status_code == 304 and same.headers["etag"] == tag
    changed = send_signed(server, keys, "GET", target, headers=asked | {"If-Match": '"other"'})
    assert changed.status_code == 412 and b"<Code>PreconditionFailed</Code>" in changed.content
    fine = send_signed(server, keys, "GET", target, headers=asked | {"If-Match": tag})
    assert fine.status_code == 200 and b"<ObjectSize>11</ObjectSize>" in fine.content


@pytest.mark.parametrize(
    ("header", "message"),
    [(None, b"either missing or empty"), (",", b"either missing or empty"), ("Size", b"Invalid")],
)
def test_the_attributes_header_is_checked(
    server: LockrProcess, keys: dict[str, Any], s3: Any, header: str | None, message: bytes
) -> None:
    ensure_bucket(s3, "sums")
    s3.put_object(Bucket="sums", Key="attr-bad", Body=b"x")
    headers = {} if header is None else {"x-amz-object-attributes": header}
    answer = send_signed(server, keys, "GET", "/sums/attr-bad?attributes", headers=headers)
    assert answer.status_code == 400 and b"<Code>InvalidArgument</Code>" in answer.content
    assert message in answer.content


def test_a_missing_key_or_bucket(s3: Any) -> None:
    ensure_bucket(s3, "sums")
    with pytest.raises(ClientError) as key:
        attributes(s3, "attr-missing")
    assert (status_of(key), error_code(key)) == (404, "NoSuchKey")
    with pytest.raises(ClientError) as bucket:
        s3.get_object_attributes(Bucket="no-such-bucket", Key="k", ObjectAttributes=["ETag"])
    assert (status_of(bucket), error_code(bucket)) == (404, "NoSuchBucket")
