"""PutObject and HeadObject of an in-process core's S3 front, served by a real
uvicorn: what they cost in statements beyond the engine's own work, and a small body
that fails its checks or ends early storing nothing."""

from __future__ import annotations

import datetime
import hashlib
import socket
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway.errors import NotFound
from tests.api.s3.conftest import Front, ensure_bucket, error_code, send_signed, status_of
from tests.conftest import LockrProcess, statements


def test_a_small_put_into_a_folder_there_adds_no_statement(front: Front) -> None:
    """The folder is looked up once, by the upload itself: a PutObject runs what the
    engine's own upload of the same file runs."""
    body = b"x" * 4096
    with statements(front.core) as seen:
        front.client.put_object(
            Bucket="photos", Key="2024/second.jpg", Body=body, Metadata={"mtime": "1.5"}
        )
    storage = front.core.storage
    with statements(front.core) as engine:
        with storage.upload(
            front.account,
            "photos/2024/third.jpg",
            max_size=1 << 30,
            expected_size=len(body),
            content_type="binary/octet-stream",
            meta={"x-amz-meta-mtime": "1.5"},
        ) as upload:
            upload.write(body)
            upload.commit()
    assert len(front.statements(seen)) == len(engine), (seen, engine)
    assert (
        storage.stat(front.account, "photos/2024/second.jpg").md5 == hashlib.md5(body).hexdigest()
    )


def test_a_head_is_one_statement(front: Front) -> None:
    front.client.head_object(Bucket="photos", Key="2024/first.jpg")  # the key kept
    with statements(front.core) as seen:
        head = front.client.head_object(Bucket="photos", Key="2024/first.jpg")
    assert head["ETag"] == f'"{hashlib.md5(b"first").hexdigest()}"'
    assert len(front.statements(seen)) == 1, seen


def test_the_folders_a_key_implies_are_made_and_a_missing_bucket_is_not(front: Front) -> None:
    front.client.put_object(Bucket="photos", Key="2025/01/02/new.jpg", Body=b"new")
    found = front.core.storage.stat(front.account, "photos/2025/01/02/new.jpg")
    assert found.size == 3
    with pytest.raises(ClientError) as missing:
        front.client.put_object(Bucket="nosuchbucket", Key="a/b.jpg", Body=b"b")
    assert error_code(missing) == "NoSuchBucket"
    with pytest.raises(NotFound):
        front.core.storage.stat(front.account, "nosuchbucket")
    front.client.put_object(Bucket="photos", Key="file", Body=b"a file")
    with pytest.raises(ClientError) as under_a_file:
        front.client.put_object(Bucket="photos", Key="file/inside", Body=b"b")
    assert under_a_file.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_a_small_body_that_ends_early_stores_nothing(front: Front) -> None:
    headers = front.signed(
        "PUT",
        "/photos/short.bin",
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": "4096"},
    )
    host, port = front.url.removeprefix("http://").split(":")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(f"PUT /photos/short.bin HTTP/1.1\r\n{head}\r\n".encode() + b"x" * 100)
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(30)
        while connection.recv(65536):
            pass
    with pytest.raises(ClientError) as missing:
        front.client.head_object(Bucket="photos", Key="short.bin")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_conditional_gets(server: LockrProcess, keys: dict[str, Any], s3: Any) -> None:
    """GetObject and HeadObject with the four conditions, over a real ``lockr serve``
    with boto3's default client (in checksum mode): 304 and 412, and a 304 that
    carries the validators and caching headers alone, so that no client checks a
    checksum against its empty body."""
    ensure_bucket(s3, "cond-get")
    put = s3.put_object(
        Bucket="cond-get", Key="k", Body=b"data", Metadata={"a": "1"}, CacheControl="max-age=5"
    )
    tag = put["ETag"]
    stamp = s3.head_object(Bucket="cond-get", Key="k")["LastModified"]
    hour = datetime.timedelta(hours=1)
    not_modified = [{"IfNoneMatch": tag}, {"IfModifiedSince": stamp + hour}]
    failed = [{"IfMatch": '"other"'}, {"IfUnmodifiedSince": stamp - hour}]
    for call in (s3.get_object, s3.head_object):
        for condition in not_modified:
            with pytest.raises(ClientError) as same:
                call(Bucket="cond-get", Key="k", **condition)
            assert status_of(same) == 304, (call, condition)
        for condition in failed:
            with pytest.raises(ClientError) as changed:
                call(Bucket="cond-get", Key="k", **condition)
            assert status_of(changed) == 412, (call, condition)
    got = s3.get_object(Bucket="cond-get", Key="k", IfMatch=tag, IfModifiedSince=stamp - hour)
    assert got["Body"].read() == b"data"
    headers = {"If-None-Match": tag, "x-amz-checksum-mode": "ENABLED"}
    raw = send_signed(server, keys, "GET", "/cond-get/k", headers=headers)
    assert raw.status_code == 304 and raw.content == b""
    assert raw.headers["etag"] == tag and raw.headers["cache-control"] == "max-age=5"
    assert "last-modified" in raw.headers
    assert not [name for name in raw.headers if name.startswith(("x-amz-checksum", "x-amz-meta"))]
