"""S3's checksums: the algorithms (CRC32C and CRC64NVME from awscrt, checked against
the published check values), the checksums of multipart objects, and, over a real
``lockr serve`` with boto3, every algorithm in header and trailer form, stored and
answered in checksum mode, and multipart uploads with COMPOSITE and FULL_OBJECT
checksums."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore import httpchecksum
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpchecksum import AwsChunkedWrapper
from hypothesis import given
from hypothesis import strategies as st

from api.s3 import errors
from api.s3.checksums import (
    ALGORITHMS,
    algorithm_named,
    check_checksum,
    composite,
    crc32c,
    encode,
    full_object,
    new_checksum,
)
from tests.api.s3.conftest import (
    ensure_bucket,
    error_code,
    send_signed,
    status_of,
)
from tests.conftest import LockrProcess


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
        new_checksum("x-amz-checksum-md4")
    with pytest.raises(errors.InvalidRequest, match="unsupported"):
        algorithm_named("MD4")


def test_malformed_values_are_invalid_requests() -> None:
    checksum = new_checksum("x-amz-checksum-crc32")
    for value in ["not base64!", "AAAAAAAA", ""]:
        with pytest.raises(errors.InvalidRequest, match="x-amz-checksum-crc32 header is invalid"):
            check_checksum("x-amz-checksum-crc32", checksum, value)


def test_crc64nvme_check_value() -> None:
    checksum = new_checksum("x-amz-checksum-crc64nvme")
    checksum.update(b"12345")
    checksum.update(b"6789")
    assert checksum.digest() == (0xAE8B14860A799888).to_bytes(8, "big")


@given(st.lists(st.binary(max_size=500), min_size=1, max_size=6))
def test_full_object_crcs_combine_the_parts(parts: list[bytes]) -> None:
    for name in ("CRC32", "CRC32C", "CRC64NVME"):
        algorithm = ALGORITHMS[name]
        values = []
        for part in parts:
            checksum = algorithm.new()
            checksum.update(part)
            values.append((encode(checksum.digest()), len(part)))
        whole = algorithm.new()
        whole.update(b"".join(parts))
        assert full_object(algorithm, values) == encode(whole.digest())


def test_the_newer_algorithms_are_those_botocore_computes() -> None:
    data = bytes(range(256)) * 300
    for name in ("SHA512", "XXHASH64", "XXHASH3", "XXHASH128"):
        checksum = ALGORITHMS[name].new()
        checksum.update(data[:1000])
        checksum.update(data[1000:])
        assert encode(checksum.digest()) == reference(name, data)
        assert len(checksum.digest()) == ALGORITHMS[name].size
    md5 = ALGORITHMS["MD5"].new()
    md5.update(data)
    assert md5.digest() == hashlib.md5(data).digest()
    # The xxHashes' published values of no bytes (canonical, big-endian).
    assert ALGORITHMS["XXHASH64"].new().digest().hex() == "ef46db3751d8e999"
    assert ALGORITHMS["XXHASH3"].new().digest().hex() == "2d06800538d394c2"


def test_composite_is_the_checksum_of_the_part_checksums() -> None:
    digests = [hashlib.sha256(part).digest() for part in (b"a", b"b", b"c")]
    expected = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode() + "-3"
    assert composite(ALGORITHMS["SHA256"], [encode(digest) for digest in digests]) == expected


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


# -- over a real lockr -------------------------------------------------------------------

ALL = (
    "CRC32",
    "CRC32C",
    "CRC64NVME",
    "SHA1",
    "SHA256",
    "SHA512",
    "XXHASH64",
    "XXHASH3",
    "XXHASH128",
)
"""The algorithms boto3 computes (all of S3's but MD5, for which botocore has none)."""
MiB = 1024 * 1024


def reference(name: str, data: bytes) -> str:
    """The checksum as botocore computes it (awscrt for the CRCs)."""
    checksum = httpchecksum._CHECKSUM_CLS[name.lower()]()
    checksum.update(data)
    return str(checksum.b64digest())


@pytest.mark.parametrize("name", ALL)
def test_put_object_checksums_are_stored_and_answered(s3: Any, name: str) -> None:
    ensure_bucket(s3, "sums")
    data = b"checksummed " * 1000
    key = f"put-{name}"
    # boto3 sends the checksum as a trailer (streaming) by default...
    put = s3.put_object(Bucket="sums", Key=key, Body=data, ChecksumAlgorithm=name)
    assert put[f"Checksum{name}"] == reference(name, data)
    # ... and as a header when given the value.
    header_key = f"header-{name}"
    value = reference(name, data)
    s3.put_object(Bucket="sums", Key=header_key, Body=data, **{f"Checksum{name}": value})
    for stored in (key, header_key):
        head = s3.head_object(Bucket="sums", Key=stored, ChecksumMode="ENABLED")
        assert head[f"Checksum{name}"] == value and head["ChecksumType"] == "FULL_OBJECT"
        got = s3.get_object(Bucket="sums", Key=stored, ChecksumMode="ENABLED")
        assert got[f"Checksum{name}"] == value and got["Body"].read() == data
        plain = s3.head_object(Bucket="sums", Key=stored)
        assert f"Checksum{name}" not in plain and "ChecksumType" not in plain


def test_bad_checksums_store_nothing(server: LockrProcess, keys: dict[str, Any], s3: Any) -> None:
    ensure_bucket(s3, "sums")
    for name in ALL:
        wrong = reference(name, b"other bytes")
        with pytest.raises(ClientError) as bad:
            s3.put_object(Bucket="sums", Key="bad", Body=b"data", **{f"Checksum{name}": wrong})
        assert error_code(bad) == "BadDigest" and status_of(bad) == 400
    with pytest.raises(ClientError):
        s3.head_object(Bucket="sums", Key="bad")
    crc32 = reference("CRC32", b"data")
    sha1 = reference("SHA1", b"data")
    cases = [
        ({"x-amz-checksum-crc32": crc32, "x-amz-checksum-sha1": sha1}, "Multiple checksum"),
        ({"x-amz-checksum-crc32": "not base64"}, "x-amz-checksum-crc32 header is invalid"),
        ({"x-amz-checksum-md4": "AAAA"}, "algorithm type you specified"),
        ({"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-crc32": crc32}, "sdk"),
    ]
    for headers, message in cases:
        answer = send_signed(server, keys, "PUT", "/sums/bad", b"data", headers)
        assert answer.status_code == 400, answer.text
        assert "<Code>InvalidRequest</Code>" in answer.text and message in answer.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket="sums", Key="bad")


def upload(s3: Any, key: str, parts: list[bytes], **create: Any) -> tuple[str, list[dict]]:
    """Open an upload and send ``parts`` (boto3 adds each part's checksum of the
    upload's algorithm)."""
    upload_id = s3.create_multipart_upload(Bucket="sums", Key=key, **create)["UploadId"]
    sent = []
    for number, part in enumerate(parts, 1):
        answer = s3.upload_part(
            Bucket="sums",
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=part,
            **({"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if create else {}),
        )
        listed = {"PartNumber": number, "ETag": answer["ETag"]}
        listed |= {name: value for name, value in answer.items() if name.startswith("Checksum")}
        sent.append(listed)
    return upload_id, sent


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("CRC32", "COMPOSITE"),
        ("CRC32", "FULL_OBJECT"),
        ("CRC32C", "COMPOSITE"),
        ("CRC32C", "FULL_OBJECT"),
        ("CRC64NVME", "FULL_OBJECT"),
        ("SHA1", "COMPOSITE"),
        ("SHA256", "COMPOSITE"),
        ("SHA512", "COMPOSITE"),
        ("XXHASH3", "COMPOSITE"),
        ("XXHASH128", "COMPOSITE"),
    ],
)
def test_multipart_checksums(s3: Any, name: str, kind: str) -> None:
    ensure_bucket(s3, "sums")
    parts = [os.urandom(5 * MiB), b"tail" * 1000]
    key = f"mp-{name}-{kind}"
    created = s3.create_multipart_upload(
        Bucket="sums", Key=key, ChecksumAlgorithm=name, ChecksumType=kind
    )
    assert created["ChecksumAlgorithm"] == name and created["ChecksumType"] == kind
    s3.abort_multipart_upload(Bucket="sums", Key=key, UploadId=created["UploadId"])
    upload_id, sent = upload(s3, key, parts, ChecksumAlgorithm=name, ChecksumType=kind)
    for part, data in zip(sent, parts, strict=True):
        assert part[f"Checksum{name}"] == reference(name, data)
    listing = s3.list_parts(Bucket="sums", Key=key, UploadId=upload_id)
    assert listing["ChecksumAlgorithm"] == name and listing["ChecksumType"] == kind
    assert [p[f"Checksum{name}"] for p in listing["Parts"]] == [p[f"Checksum{name}"] for p in sent]
    if kind == "COMPOSITE":
        digests = b"".join(base64.b64decode(p[f"Checksum{name}"]) for p in sent)
        expected = f"{reference(name, digests)}-2"
    else:
        expected = reference(name, b"".join(parts))
    done = s3.complete_multipart_upload(
        Bucket="sums", Key=key, UploadId=upload_id, MultipartUpload={"Parts": sent}
    )
    assert done[f"Checksum{name}"] == expected and done["ChecksumType"] == kind
    head = s3.head_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
    assert head[f"Checksum{name}"] == expected and head["ChecksumType"] == kind


def test_multipart_checksum_errors(s3: Any) -> None:
    ensure_bucket(s3, "sums")
    for name, kind in [("CRC64NVME", "COMPOSITE"), ("SHA256", "FULL_OBJECT"), ("MD4", None)]:
        with pytest.raises(ClientError) as refused:
            s3.create_multipart_upload(
                Bucket="sums",
                Key="e",
                ChecksumAlgorithm=name,
                **({"ChecksumType": kind} if kind else {}),
            )
        assert error_code(refused) == "InvalidRequest"
    upload_id, _ = upload(s3, "e", [], ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as mismatch:
        s3.upload_part(
            Bucket="sums",
            Key="e",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ChecksumAlgorithm="CRC32",
        )
    assert error_code(mismatch) == "InvalidRequest" and "mismatch" in str(mismatch.value)
    s3.abort_multipart_upload(Bucket="sums", Key="e", UploadId=upload_id)


def _without_checksums(sent: list[dict]) -> list[dict]:
    return [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in sent]


def _first_checksum_wrong(sent: list[dict]) -> list[dict]:
    return [dict(sent[0], ChecksumSHA256=reference("SHA256", b"?")), *sent[1:]]


@pytest.mark.parametrize(
    ("listed", "complete", "code", "says"),
    [
        pytest.param(_without_checksums, {}, "InvalidRequest", "missing for part 1", id="unsummed"),
        pytest.param(_first_checksum_wrong, {}, "InvalidPart", "", id="wrong-part"),
        pytest.param(list, {"ChecksumType": "FULL_OBJECT"}, "InvalidRequest", "", id="other-type"),
        pytest.param(
            list,
            {"ChecksumSHA256": reference("SHA256", b"?") + "-2"},
            "BadDigest",
            "",
            id="wrong-whole",
        ),
    ],
)
def test_a_refused_completion_leaves_the_upload_as_it_was(
    s3: Any,
    request: pytest.FixtureRequest,
    listed: Callable[[list[dict]], list[dict]],
    complete: dict[str, str],
    code: str,
    says: str,
) -> None:
    """CompleteMultipartUpload of a SHA256 COMPOSITE upload, refused: parts listed
    without their checksums or with a wrong one, another checksum type, a wrong
    checksum of the whole. No object appears, and the right list completes it."""
    ensure_bucket(s3, "sums")
    key = f"refused-{request.node.callspec.id}"
    parts = [os.urandom(5 * MiB), b"end"]
    upload_id, sent = upload(s3, key, parts, ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="sums",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": listed(sent)},
            **complete,
        )
    assert error_code(refused) == code and says in str(refused.value)
    with pytest.raises(ClientError):
        s3.head_object(Bucket="sums", Key=key)
    s3.complete_multipart_upload(
        Bucket="sums", Key=key, UploadId=upload_id, MultipartUpload={"Parts": sent}
    )
    assert s3.get_object(Bucket="sums", Key=key)["Body"].read() == b"".join(parts)


def test_with_an_algorithm_the_parts_are_numbered_from_one_without_a_gap(s3: Any) -> None:
    """As S3 documents for CompletedPart: ``InvalidPartOrder`` otherwise."""
    ensure_bucket(s3, "sums")
    parts = [os.urandom(5 * MiB), b"end", b"other end"]
    upload_id, sent = upload(s3, "gapped", parts, ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as gapped:
        s3.complete_multipart_upload(
            Bucket="sums",
            Key="gapped",
            UploadId=upload_id,
            MultipartUpload={"Parts": [sent[0], sent[2]]},
        )
    assert error_code(gapped) == "InvalidPartOrder"
    s3.complete_multipart_upload(
        Bucket="sums", Key="gapped", UploadId=upload_id, MultipartUpload={"Parts": sent[:2]}
    )
    assert s3.get_object(Bucket="sums", Key="gapped")["Body"].read() == parts[0] + parts[1]


def test_upload_part_copy_computes_the_checksum(s3: Any) -> None:
    ensure_bucket(s3, "sums")
    source = os.urandom(6 * MiB)
    s3.put_object(Bucket="sums", Key="copy-source", Body=source)
    upload_id = s3.create_multipart_upload(
        Bucket="sums", Key="copied", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    copied = s3.upload_part_copy(
        Bucket="sums",
        Key="copied",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": "sums", "Key": "copy-source"},
    )["CopyPartResult"]
    # S3's CopyPartResult carries the part's checksum of the upload's algorithm.
    assert copied["ChecksumCRC32C"] == reference("CRC32C", source)
    parts = s3.list_parts(Bucket="sums", Key="copied", UploadId=upload_id)["Parts"]
    assert parts[0]["ChecksumCRC32C"] == reference("CRC32C", source)
    assert parts[0]["ETag"] == copied["ETag"]
    done = s3.complete_multipart_upload(
        Bucket="sums",
        Key="copied",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]},
    )
    assert done["ChecksumCRC32C"] == reference("CRC32C", source)


def test_a_part_copied_into_an_upload_without_an_algorithm_answers_no_checksum(s3: Any) -> None:
    ensure_bucket(s3, "sums")
    s3.put_object(Bucket="sums", Key="plain-source", Body=b"some bytes")
    upload_id = s3.create_multipart_upload(Bucket="sums", Key="plain-copy")["UploadId"]
    copied = s3.upload_part_copy(
        Bucket="sums",
        Key="plain-copy",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": "sums", "Key": "plain-source"},
        CopySourceRange="bytes=5-9",
    )["CopyPartResult"]
    assert copied["ETag"] == f'"{hashlib.md5(b"bytes").hexdigest()}"'
    assert not [name for name in copied if name.startswith("Checksum")]
    s3.abort_multipart_upload(Bucket="sums", Key="plain-copy", UploadId=upload_id)


# -- S3's default checksum ----------------------------------------------------------------


def test_an_object_sent_without_a_checksum_gets_crc64nvme(
    server: LockrProcess, keys: dict[str, Any], s3: Any, bare: Any
) -> None:
    ensure_bucket(s3, "sums")
    data = b"no checksum sent " * 500
    put = bare.put_object(Bucket="sums", Key="default", Body=data)
    expected = reference("CRC64NVME", data)
    assert put["ChecksumCRC64NVME"] == expected and put["ChecksumType"] == "FULL_OBJECT"
    raw = send_signed(server, keys, "PUT", "/sums/default-raw", data)  # nothing but the body
    assert raw.headers["x-amz-checksum-crc64nvme"] == expected
    md5_only = send_signed(
        server,
        keys,
        "PUT",
        "/sums/default-md5",
        data,
        {"Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()},
    )
    assert md5_only.headers["x-amz-checksum-crc64nvme"] == expected
    for key in ("default", "default-raw", "default-md5"):
        head = s3.head_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumCRC64NVME"] == expected and head["ChecksumType"] == "FULL_OBJECT"
        got = s3.get_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
        assert got["ChecksumCRC64NVME"] == expected and got["Body"].read() == data
    # A checksum sent is the object's one: no CRC64NVME beside it.
    crc32 = s3.put_object(Bucket="sums", Key="sent", Body=data, ChecksumAlgorithm="CRC32")
    assert "ChecksumCRC64NVME" not in crc32 and crc32["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket="sums", Key="sent", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == reference("CRC32", data) and "ChecksumCRC64NVME" not in head
    # A copy keeps its source's checksum, and says so.
    copied = s3.copy_object(
        Bucket="sums", Key="default-copy", CopySource={"Bucket": "sums", "Key": "default"}
    )["CopyObjectResult"]
    assert copied["ChecksumCRC64NVME"] == expected and copied["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket="sums", Key="default-copy", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == expected


def test_a_folder_marker_has_the_checksum_of_no_bytes(s3: Any, bare: Any) -> None:
    ensure_bucket(s3, "sums")
    empty = reference("CRC64NVME", b"")
    put = bare.put_object(Bucket="sums", Key="marker/", Body=b"")
    assert put["ChecksumCRC64NVME"] == empty and put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket="sums", Key="marker/", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == empty and head["ChecksumType"] == "FULL_OBJECT"
    # A checksum sent is the marker's own, and a copy keeps it (the bytes are the same).
    sent = s3.put_object(Bucket="sums", Key="marker-crc32/", Body=b"", ChecksumAlgorithm="CRC32")
    assert sent["ChecksumCRC32"] == reference("CRC32", b"") and "ChecksumCRC64NVME" not in sent
    head = s3.head_object(Bucket="sums", Key="marker-crc32/", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == reference("CRC32", b"") and "ChecksumCRC64NVME" not in head
    s3.copy_object(
        Bucket="sums",
        Key="marker-copy/",
        CopySource={"Bucket": "sums", "Key": "marker-crc32/"},
        MetadataDirective="REPLACE",
        Metadata={"new": "yes"},
    )
    head = s3.head_object(Bucket="sums", Key="marker-copy/", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == reference("CRC32", b"") and "ChecksumCRC64NVME" not in head
    assert head["Metadata"]["new"] == "yes"


@pytest.mark.parametrize("client", ["bare", "s3"])
def test_a_multipart_upload_without_an_algorithm_gets_crc64nvme(
    request: pytest.FixtureRequest, s3: Any, client: str
) -> None:
    """The parts' CRC64NVMEs are recorded as they arrive (sent with a CRC32, as boto3
    does by default, or with none) but neither answered nor listed, as S3 does; the
    object gets the CRC64NVME of its bytes, combined from them."""
    ensure_bucket(s3, "sums")
    sender = request.getfixturevalue(client)
    key = f"mp-default-{client}"
    parts = [os.urandom(5 * MiB), b"closing bytes"]
    s3.put_object(Bucket="sums", Key="copied-part", Body=parts[1] + b"!")
    created = sender.create_multipart_upload(Bucket="sums", Key=key)
    assert "ChecksumAlgorithm" not in created
    upload_id = created["UploadId"]
    first = sender.upload_part(
        Bucket="sums", Key=key, UploadId=upload_id, PartNumber=1, Body=parts[0]
    )
    sent = [name for name in first if name.startswith("Checksum")]
    assert sent == ([] if client == "bare" else ["ChecksumCRC32"])
    second = sender.upload_part_copy(
        Bucket="sums",
        Key=key,
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": "sums", "Key": "copied-part"},
        CopySourceRange=f"bytes=0-{len(parts[1]) - 1}",
    )["CopyPartResult"]
    assert not [name for name in second if name.startswith("Checksum")]
    listing = s3.list_parts(Bucket="sums", Key=key, UploadId=upload_id)
    assert "ChecksumAlgorithm" not in listing
    assert not [name for part in listing["Parts"] for name in part if name.startswith("Checksum")]
    listed = [
        {"PartNumber": 1, "ETag": first["ETag"]},
        {"PartNumber": 2, "ETag": second["ETag"]},
    ]
    expected = reference("CRC64NVME", b"".join(parts))
    with pytest.raises(ClientError) as wrong:
        sender.complete_multipart_upload(
            Bucket="sums",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": listed},
            ChecksumCRC64NVME=reference("CRC64NVME", b"other"),
        )
    assert error_code(wrong) == "BadDigest"
    done = sender.complete_multipart_upload(
        Bucket="sums", Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    assert done["ChecksumCRC64NVME"] == expected and done["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == expected and head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
    assert hashlib.md5(got["Body"].read()).digest() == hashlib.md5(b"".join(parts)).digest()


def md5_value(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Md5Checksum:
    """MD5 for botocore's aws-chunked wrapper (botocore has no MD5 checksum)."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5()

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)

    def b64digest(self) -> str:
        return base64.b64encode(self._md5.digest()).decode()


class _UnsignedTrailer(S3SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def send_with_trailer(
    server: LockrProcess, keys: dict[str, Any], target: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """A PUT of an aws-chunked ``body`` with a trailing checksum, signed as
    ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (as boto3 sends one by default)."""
    request = AWSRequest("PUT", server.s3_url + target, data=body, headers=headers)
    credentials = Credentials(keys["accessKeyId"], keys["secretAccessKey"])
    _UnsignedTrailer(credentials, "s3", "us-east-1").add_auth(request)
    return httpx.request("PUT", request.url, content=body, headers=dict(request.headers))


def test_md5_checksums_in_header_and_trailer(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    ensure_bucket(s3, "sums")
    data = b"md5 summed " * 700
    header = send_signed(
        server, keys, "PUT", "/sums/md5-header", data, {"x-amz-checksum-md5": md5_value(data)}
    )
    assert header.status_code == 200 and header.headers["x-amz-checksum-md5"] == md5_value(data)
    chunked = AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=Md5Checksum, checksum_name="x-amz-checksum-md5"
    ).read()
    trailer = send_with_trailer(
        server,
        keys,
        "/sums/md5-trailer",
        chunked,
        {
            "content-encoding": "aws-chunked",
            "x-amz-trailer": "x-amz-checksum-md5",
            "x-amz-decoded-content-length": str(len(data)),
        },
    )
    assert trailer.status_code == 200, trailer.text
    for key in ("md5-header", "md5-trailer"):
        head = s3.head_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
        sent = head["ResponseMetadata"]["HTTPHeaders"]
        assert (
            sent["x-amz-checksum-md5"] == md5_value(data) and head["ChecksumType"] == "FULL_OBJECT"
        )
    wrong = send_signed(
        server, keys, "PUT", "/sums/md5-bad", data, {"x-amz-checksum-md5": md5_value(b"x")}
    )
    assert wrong.status_code == 400 and "<Code>BadDigest</Code>" in wrong.text
    # A multipart upload of MD5 is COMPOSITE, as of every algorithm that is no CRC.
    created = s3.create_multipart_upload(Bucket="sums", Key="md5-mp", ChecksumAlgorithm="MD5")
    assert created["ChecksumType"] == "COMPOSITE"
    with pytest.raises(ClientError) as full:
        s3.create_multipart_upload(
            Bucket="sums", Key="md5-mp", ChecksumAlgorithm="XXHASH3", ChecksumType="FULL_OBJECT"
        )
    assert error_code(full) == "InvalidRequest"
    upload_id = created["UploadId"]
    part = send_signed(
        server,
        keys,
        "PUT",
        f"/sums/md5-mp?partNumber=1&uploadId={upload_id}",
        data,
        {"x-amz-checksum-md5": md5_value(data)},
    )
    sum_of_part = md5_value(data)
    assert part.status_code == 200 and part.headers["x-amz-checksum-md5"] == sum_of_part
    done = s3.complete_multipart_upload(
        Bucket="sums",
        Key="md5-mp",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": part.headers["etag"], "ChecksumMD5": md5_value(data)}
            ]
        },
    )
    assert done["ChecksumMD5"] == md5_value(hashlib.md5(data).digest()) + "-1"
