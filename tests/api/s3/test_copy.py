"""CopyObject over S3 with boto3 and rclone: copies by reference (the copy's bytes
are the source's blob, no new bytes stored, the quota charged), metadata copied or
replaced, the copy-source conditions, and S3's refusals."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import Front, ensure_bucket, error_code, status_of
from tests.conftest import LockrProcess, run_cli, run_rclone, statements

MiB = 1024 * 1024
HOUR = datetime.timedelta(hours=1)


def stored_blobs(server: LockrProcess) -> list[Path]:
    """The finished objects of the server's (local) blob store."""
    root = server.data / "blobs"
    found = (path for path in root.rglob("*") if path.is_file())
    return sorted(path for path in found if "tmp" not in path.relative_to(root).parts)


def used_bytes(server: LockrProcess, token: str) -> int:
    account = httpx.get(
        server.url + "/api/v1/account", headers={"Authorization": f"Bearer {token}"}
    )
    return int(account.json()["account"]["usedBytes"])


def test_a_copy_shares_the_sources_bytes(server: LockrProcess, token: str, s3: Any) -> None:
    ensure_bucket(s3, "originals")
    ensure_bucket(s3, "copies")
    data = os.urandom(3 * MiB)
    s3.put_object(
        Bucket="originals",
        Key="photo.jpg",
        Body=data,
        ContentType="image/jpeg",
        CacheControl="max-age=5",
        Metadata={"camera": "x100", "mtime": "1600000000"},
    )
    blobs, used = stored_blobs(server), used_bytes(server, token)
    assert blobs
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    same_bucket = s3.copy_object(
        Bucket="originals", Key="again/photo.jpg", CopySource="originals/photo.jpg"
    )
    other_bucket = s3.copy_object(
        Bucket="copies",
        Key="2024/photo.jpg",
        CopySource={"Bucket": "originals", "Key": "photo.jpg"},
    )

    etag = f'"{hashlib.md5(data).hexdigest()}"'
    for answer in (same_bucket, other_bucket):
        assert answer["CopyObjectResult"]["ETag"] == etag
        assert answer["CopyObjectResult"]["LastModified"] >= before
    for bucket, key in [("originals", "again/photo.jpg"), ("copies", "2024/photo.jpg")]:
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == data
        assert got["ETag"] == etag and got["ContentType"] == "image/jpeg"
        assert got["CacheControl"] == "max-age=5"
        assert got["Metadata"] == {"camera": "x100", "mtime": "1600000000"}
    assert stored_blobs(server) == blobs  # no byte was copied
    assert used_bytes(server, token) == used + 2 * len(data)  # each copy counts


def test_replace_takes_the_metadata_from_the_request(s3: Any) -> None:
    ensure_bucket(s3, "originals")
    s3.put_object(
        Bucket="originals",
        Key="doc.txt",
        Body=b"text",
        ContentType="text/plain",
        Metadata={"old": "1"},
        ContentLanguage="en",
    )
    s3.copy_object(
        Bucket="originals",
        Key="doc-replaced.txt",
        CopySource="originals/doc.txt",
        MetadataDirective="REPLACE",
        ContentType="text/markdown",
        Metadata={"new": "2"},
    )
    head = s3.head_object(Bucket="originals", Key="doc-replaced.txt")
    assert head["ContentType"] == "text/markdown" and "ContentLanguage" not in head
    assert head["Metadata"]["new"] == "2" and "old" not in head["Metadata"]
    source = s3.head_object(Bucket="originals", Key="doc.txt")
    assert source["Metadata"]["old"] == "1" and source["ContentLanguage"] == "en"
    with pytest.raises(ClientError) as unknown:
        s3.copy_object(
            Bucket="originals", Key="x", CopySource="originals/doc.txt", MetadataDirective="MOVE"
        )
    assert error_code(unknown) == "InvalidArgument"


def test_replace_keeps_the_sources_checksum(s3: Any) -> None:
    """The bytes are the same, so a copy with new metadata keeps their checksum, onto
    another key and onto itself."""
    ensure_bucket(s3, "originals")
    put = s3.put_object(
        Bucket="originals", Key="summed.bin", Body=b"summed", ChecksumAlgorithm="SHA256"
    )
    for key in ("summed-copy.bin", "summed.bin"):
        s3.copy_object(
            Bucket="originals",
            Key=key,
            CopySource="originals/summed.bin",
            MetadataDirective="REPLACE",
            Metadata={"new": "2"},
        )
        head = s3.head_object(Bucket="originals", Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == put["ChecksumSHA256"], key
        assert head["Metadata"]["new"] == "2", key


def test_a_copy_onto_itself_must_replace_the_metadata(s3: Any) -> None:
    ensure_bucket(s3, "originals")
    s3.put_object(Bucket="originals", Key="self.bin", Body=b"self", Metadata={"a": "1"})
    with pytest.raises(ClientError) as same:
        s3.copy_object(Bucket="originals", Key="self.bin", CopySource="originals/self.bin")
    assert error_code(same) == "InvalidRequest" and status_of(same) == 400
    # rclone sets a modification time so.
    s3.copy_object(
        Bucket="originals",
        Key="self.bin",
        CopySource="originals/self.bin",
        MetadataDirective="REPLACE",
        ContentType="application/x-self",
        Metadata={"mtime": "1234567890.5"},
    )
    got = s3.get_object(Bucket="originals", Key="self.bin")
    assert got["Body"].read() == b"self" and got["ContentType"] == "application/x-self"
    assert got["Metadata"] == {"mtime": "1234567890.5"}


def test_copy_source_conditions(s3: Any) -> None:
    ensure_bucket(s3, "originals")
    s3.put_object(Bucket="originals", Key="cond", Body=b"conditional")
    etag = s3.head_object(Bucket="originals", Key="cond")["ETag"]
    now = datetime.datetime.now(datetime.UTC)
    failing = [
        {"CopySourceIfMatch": '"0123456789abcdef0123456789abcdef"'},
        {"CopySourceIfNoneMatch": etag},
        {"CopySourceIfModifiedSince": now + HOUR},
        {"CopySourceIfUnmodifiedSince": now - HOUR},
        # If-None-Match decides over If-Modified-Since, as S3 documents.
        {"CopySourceIfNoneMatch": etag, "CopySourceIfModifiedSince": now - HOUR},
    ]
    for condition in failing:
        with pytest.raises(ClientError) as refused:
            s3.copy_object(
                Bucket="originals", Key="cond-copy", CopySource="originals/cond", **condition
            )
        assert error_code(refused) == "PreconditionFailed" and status_of(refused) == 412
        with pytest.raises(ClientError):
            s3.head_object(Bucket="originals", Key="cond-copy")
    holding = [
        {"CopySourceIfMatch": etag},
        {"CopySourceIfNoneMatch": '"other"', "CopySourceIfModifiedSince": now - HOUR},
        # If-Match decides over If-Unmodified-Since.
        {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": now - HOUR},
    ]
    for condition in holding:
        copied = s3.copy_object(
            Bucket="originals", Key="cond-copy", CopySource="originals/cond", **condition
        )
        assert copied["CopyObjectResult"]["ETag"] == etag


def test_copy_errors(s3: Any) -> None:
    ensure_bucket(s3, "originals")
    s3.put_object(Bucket="originals", Key="kept/inside.txt", Body=b"in a folder")
    s3.put_object(Bucket="originals", Key="file.txt", Body=b"a file")
    cases = [
        ({"CopySource": "originals/missing"}, "NoSuchKey", 404),
        ({"CopySource": "nosuchbucket/file.txt"}, "NoSuchBucket", 404),
        (
            {"CopySource": {"Bucket": "originals", "Key": "file.txt", "VersionId": "v2"}},
            "NoSuchVersion",
            404,
        ),
        # A key that names a folder (keys under "kept/" exist) is not replaced.
        ({"CopySource": "originals/file.txt", "Key": "kept"}, "KeyConflict", 409),
    ]
    for arguments, code, status in cases:
        with pytest.raises(ClientError) as failed:
            s3.copy_object(**{"Bucket": "originals", "Key": "copy.txt", **arguments})
        assert (error_code(failed), status_of(failed)) == (code, status), arguments
    assert s3.get_object(Bucket="originals", Key="kept/inside.txt")["Body"].read() == b"in a folder"
    with pytest.raises(ClientError) as no_target_bucket:
        s3.copy_object(Bucket="nosuchbucket", Key="x", CopySource="originals/file.txt")
    assert error_code(no_target_bucket) == "NoSuchBucket"
    null = s3.copy_object(
        Bucket="originals",
        Key="null-version.txt",
        CopySource={"Bucket": "originals", "Key": "file.txt", "VersionId": "null"},
    )
    assert null["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"a file").hexdigest()}"'


def test_rclone_copies_and_moves_server_side(server: LockrProcess, s3: Any, tmp_path: Path) -> None:
    """rclone's s3 backend (provider Other, the remote ``lockr rclone-config --s3``
    prints) copies with CopyObject and moves with CopyObject and DeleteObject: no byte
    goes through rclone or into the store, and the modification time goes along."""
    printed = run_cli(
        "rclone-config", "alice", "--s3", "--data", str(server.data), "--url", server.s3_url
    )
    assert printed.returncode == 0, printed.stderr
    config = tmp_path / "rclone.conf"
    config.write_text(printed.stdout)
    ensure_bucket(s3, "rclone")
    data = os.urandom(MiB)
    s3.put_object(Bucket="rclone", Key="a.bin", Body=data, Metadata={"mtime": "1500000000.5"})
    blobs = stored_blobs(server)

    copied = run_rclone("copyto", "-vv", "lockr:rclone/a.bin", "lockr:rclone/c.bin", config=config)
    assert "server-side copy" in copied.stderr
    moved = run_rclone(
        "moveto", "-vv", "lockr:rclone/c.bin", "lockr:rclone/sub/d.bin", config=config
    )
    assert "server-side" in moved.stderr

    assert s3.get_object(Bucket="rclone", Key="sub/d.bin")["Body"].read() == data
    with pytest.raises(ClientError):
        s3.head_object(Bucket="rclone", Key="c.bin")
    listed = run_rclone("lsjson", "lockr:rclone/sub/d.bin", config=config).stdout
    assert '"ModTime":"2017-07-14T02:40:00.5' in listed.replace(" ", "")
    assert stored_blobs(server) == blobs


def test_a_copy_into_a_folder_there_finds_it_once(front: Front) -> None:
    """Beyond the source's lookup, a CopyObject runs what the engine's own copy runs;
    a copy into folders not there yet makes them."""
    client = front.client
    with statements(front.core) as seen:
        client.copy_object(
            Bucket="photos", Key="2024/second.jpg", CopySource="photos/2024/first.jpg"
        )
    storage = front.core.storage
    source = storage.stat(front.account, "photos/2024/first.jpg")
    with statements(front.core) as engine:
        storage.copy(front.account, source, "photos/2024/third.jpg", keep_folders=True)
    assert len(front.statements(seen)) == len(engine) + 1, (seen, engine)
    client.copy_object(Bucket="photos", Key="2025/01/new.jpg", CopySource="photos/2024/first.jpg")
    assert storage.stat(front.account, "photos/2025/01/new.jpg").md5 == source.md5
    with pytest.raises(ClientError) as missing:
        client.copy_object(Bucket="nosuch", Key="a/b.jpg", CopySource="photos/2024/first.jpg")
    assert error_code(missing) == "NoSuchBucket"


@pytest.mark.parametrize("algorithm", ["SHA256", "CRC32C", "XXHASH128", "MD5"])
def test_a_checksum_algorithm_gives_the_copy_that_checksum(
    server: LockrProcess, s3: Any, algorithm: str
) -> None:
    """``x-amz-checksum-algorithm``: the copy gets a checksum of that algorithm of the
    source's bytes (``FULL_OBJECT``), which replaces the source's, answered in
    CopyObjectResult and in checksum mode (botocore checks the body against it); the
    copy still shares the source's stored bytes, and keeps its metadata."""
    ensure_bucket(s3, "summed")
    data = os.urandom(3 * MiB + 1)
    s3.put_object(
        Bucket="summed", Key="source.bin", Body=data, ChecksumAlgorithm="CRC32", Metadata={"a": "1"}
    )
    blobs = stored_blobs(server)
    copied = s3.copy_object(
        Bucket="summed",
        Key=f"copy-{algorithm}.bin",
        CopySource="summed/source.bin",
        ChecksumAlgorithm=algorithm,
    )["CopyObjectResult"]
    value = copied[f"Checksum{algorithm}"]
    assert copied["ChecksumType"] == "FULL_OBJECT" and "ChecksumCRC32" not in copied
    if algorithm in ("SHA256", "MD5"):
        digest = hashlib.new(algorithm.lower(), data).digest()
        assert value == base64.b64encode(digest).decode()
    assert stored_blobs(server) == blobs  # by reference: no byte written
    head = s3.head_object(Bucket="summed", Key=f"copy-{algorithm}.bin", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value and "ChecksumCRC32" not in head
    assert head["ChecksumType"] == "FULL_OBJECT" and head["Metadata"]["a"] == "1"
    got = s3.get_object(Bucket="summed", Key=f"copy-{algorithm}.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    source = s3.head_object(Bucket="summed", Key="source.bin", ChecksumMode="ENABLED")
    assert "ChecksumCRC32" in source  # the source keeps its own


def test_a_checksum_algorithm_with_replace_and_onto_itself(s3: Any) -> None:
    """With ``REPLACE`` the copy takes the request's metadata and the new checksum; a
    copy onto itself may change its checksum alone, but not to the one it has."""
    ensure_bucket(s3, "summed")
    data = b"some bytes to sum"
    put = s3.put_object(
        Bucket="summed",
        Key="self.bin",
        Body=data,
        Metadata={"a": "1"},
        ChecksumAlgorithm="CRC64NVME",
    )
    with pytest.raises(ClientError) as same:
        s3.copy_object(
            Bucket="summed",
            Key="self.bin",
            CopySource="summed/self.bin",
            ChecksumAlgorithm="CRC64NVME",
        )
    assert error_code(same) == "InvalidRequest"
    changed = s3.copy_object(
        Bucket="summed", Key="self.bin", CopySource="summed/self.bin", ChecksumAlgorithm="SHA1"
    )["CopyObjectResult"]
    assert changed["ChecksumSHA1"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    head = s3.head_object(Bucket="summed", Key="self.bin", ChecksumMode="ENABLED")
    assert head["ChecksumSHA1"] == changed["ChecksumSHA1"] and "ChecksumCRC64NVME" not in head
    assert head["Metadata"]["a"] == "1" and head["ETag"] == put["ETag"]
    replaced = s3.copy_object(
        Bucket="summed",
        Key="other.bin",
        CopySource="summed/self.bin",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ChecksumAlgorithm="CRC64NVME",
    )["CopyObjectResult"]
    assert replaced["ChecksumCRC64NVME"] == put["ChecksumCRC64NVME"]
    head = s3.head_object(Bucket="summed", Key="other.bin", ChecksumMode="ENABLED")
    assert head["Metadata"]["b"] == "2" and "a" not in head["Metadata"]
    assert "ChecksumSHA1" not in head
    with pytest.raises(ClientError) as unknown:
        s3.copy_object(
            Bucket="summed", Key="x.bin", CopySource="summed/self.bin", ChecksumAlgorithm="CRC16"
        )
    assert error_code(unknown) == "InvalidRequest" and status_of(unknown) == 400


def test_a_composite_checksum_asked_again_is_computed_for_the_whole_object(s3: Any) -> None:
    """A multipart object's ``COMPOSITE`` checksum is not the whole object's: asked for
    the same algorithm, the copy gets the ``FULL_OBJECT`` one, read from the bytes."""
    ensure_bucket(s3, "summed")
    data = os.urandom(5 * MiB + 3)
    common = {"Bucket": "summed", "Key": "parts.bin"}
    upload_id = s3.create_multipart_upload(**common, ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, piece in enumerate((data[: 5 * MiB], data[5 * MiB :]), start=1):
        sent = s3.upload_part(
            **common, UploadId=upload_id, PartNumber=number, Body=piece, ChecksumAlgorithm="SHA256"
        )
        parts.append(
            {"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": sent["ChecksumSHA256"]}
        )
    done = s3.complete_multipart_upload(
        **common, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert done["ChecksumSHA256"].endswith("-2")
    kept = s3.copy_object(Bucket="summed", Key="kept.bin", CopySource="summed/parts.bin")
    assert kept["CopyObjectResult"]["ChecksumSHA256"] == done["ChecksumSHA256"]
    assert kept["CopyObjectResult"]["ChecksumType"] == "COMPOSITE"
    whole = s3.copy_object(
        Bucket="summed", Key="whole.bin", CopySource="summed/parts.bin", ChecksumAlgorithm="SHA256"
    )["CopyObjectResult"]
    assert whole["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert whole["ChecksumType"] == "FULL_OBJECT"
