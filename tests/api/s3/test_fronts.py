"""Files written over the other fronts, as the S3 front shows them: what WebDAV
(MKCOL, PUT) and the REST API (``POST /api/v1/upload``) write is listed by
ListObjectsV2 and ListObjects (version 1) with the size, ETag and LastModified the
REST API reports, read back byte for byte by GetObject, with the checksum the same
bytes would have over S3, and gone from S3 as soon as WebDAV deletes it."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from tests.api.s3.conftest import dav, dav_url, error_code, make_client
from tests.conftest import LockrProcess

DAV_FILES = {
    "fronts/dav/a.txt": b"written over WebDAV\n",
    "fronts/dav/sub/b.bin": os.urandom(200_000),
    "fronts/top.txt": b"",
}
"""Keys of alice's tree (the first folder is the bucket) and their bytes."""
REST_FILES = {"uploads/rest one.bin": os.urandom(70_000), "uploads/two.txt": b"via REST\n"}
"""What ``POST /api/v1/upload`` writes lands in ``uploads/``."""


def rest_file(server: LockrProcess, token: str, path: str) -> dict[str, Any]:
    """The file at ``path`` of alice's tree as ``GET /api/v1/files`` lists it."""
    page = httpx.get(
        server.url + "/api/v1/files",
        params={"limit": "1000"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    [found] = [item for item in page["files"] if item["path"].strip("/") == path]
    return dict(found)


def instant(text: str) -> datetime:
    """An ISO 8601 time of the REST API (``…Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def written(server: LockrProcess, token: str) -> dict[str, bytes]:
    """Every file of DAV_FILES and REST_FILES, and the folders ``fronts/dav/sub`` and
    ``fronts/empty``, written over the front each names."""
    for folder in ("fronts", "fronts/dav", "fronts/dav/sub", "fronts/empty"):
        assert dav(server, token, "MKCOL", folder).status_code == 201
    for path, body in DAV_FILES.items():
        assert dav(server, token, "PUT", path, content=body).status_code == 201
    for path, body in REST_FILES.items():
        response = httpx.post(
            server.url + "/api/v1/upload",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "x-file-name": path.removeprefix("uploads/").replace(" ", "%20"),
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["path"].strip("/") == path
    return DAV_FILES | REST_FILES


@pytest.mark.parametrize("operation", ["list_objects_v2", "list_objects"])
def test_listed_as_the_rest_api_reports_them(
    server: LockrProcess, token: str, s3: Any, written: dict[str, bytes], operation: str
) -> None:
    listed: dict[str, dict[str, Any]] = {}
    for bucket in ("fronts", "uploads"):
        for page in s3.get_paginator(operation).paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2}
        ):
            listed |= {f"{bucket}/{item['Key']}": item for item in page.get("Contents", [])}
    assert sorted(listed) == sorted(written)  # files only: no folder is a key
    for path, body in written.items():
        rest = rest_file(server, token, path)
        item = listed[path]
        assert item["Size"] == rest["size"] == len(body)
        assert item["ETag"] == f'"{rest["md5"]}"' == f'"{hashlib.md5(body).hexdigest()}"'
        assert item["LastModified"] == instant(rest["createdAt"]), path
        # Written now, without a time of its own: the file's time is its write's.
        seconds = (instant(rest["modifiedAt"]) - item["LastModified"]).total_seconds()
        assert abs(seconds) < 2, path


def test_read_back_byte_for_byte(
    server: LockrProcess, token: str, s3: Any, written: dict[str, bytes]
) -> None:
    for path, body in written.items():
        bucket, _, key = path.partition("/")
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body, path
        assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == len(body)
        assert head["LastModified"] == got["LastModified"]
        # HTTP dates are whole seconds.
        rest = instant(rest_file(server, token, path)["createdAt"])
        assert head["LastModified"] == rest.replace(microsecond=0), path


def test_a_modification_time_set_over_webdav_is_the_objects_mtime(
    server: LockrProcess, token: str, s3: Any, written: dict[str, bytes]
) -> None:
    """rclone's ``X-OC-Mtime`` over WebDAV is rclone's ``x-amz-meta-mtime`` over S3;
    LastModified stays the time of the write, as S3's does."""
    put = dav(
        server,
        token,
        "PUT",
        "fronts/dated.txt",
        content=b"old",
        headers={"X-OC-Mtime": "1600000000.5"},
    )
    assert put.status_code == 201 and put.headers["X-OC-Mtime"] == "accepted"
    head = s3.head_object(Bucket="fronts", Key="dated.txt")
    assert float(head["Metadata"]["mtime"]) == 1600000000.5
    rest = rest_file(server, token, "fronts/dated.txt")
    assert rest["modifiedAt"] == "2020-09-13T12:26:40.500Z"
    assert head["LastModified"] == instant(rest["createdAt"]).replace(microsecond=0)
    assert dav(server, token, "DELETE", "fronts/dated.txt").status_code == 204


def test_folders_are_common_prefixes(s3: Any, written: dict[str, bytes]) -> None:
    top = s3.list_objects_v2(Bucket="fronts", Delimiter="/")
    assert [item["Key"] for item in top["Contents"]] == ["top.txt"]
    # A folder without an object below it is no prefix, as on S3: not empty/.
    assert [prefix["Prefix"] for prefix in top["CommonPrefixes"]] == ["dav/"]
    under = s3.list_objects(Bucket="fronts", Prefix="dav/", Delimiter="/")
    assert [item["Key"] for item in under["Contents"]] == ["dav/a.txt"]
    assert [prefix["Prefix"] for prefix in under["CommonPrefixes"]] == ["dav/sub/"]
    empty = s3.list_objects_v2(Bucket="fronts", Prefix="empty/", Delimiter="/")
    assert empty["KeyCount"] == 0 and "Contents" not in empty
    assert "fronts" in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


def test_deleted_over_webdav_is_gone_over_s3(
    server: LockrProcess, token: str, s3: Any, written: dict[str, bytes]
) -> None:
    assert dav(server, token, "PUT", "fronts/gone.txt", content=b"soon gone").status_code == 201
    assert s3.get_object(Bucket="fronts", Key="gone.txt")["Body"].read() == b"soon gone"
    assert dav(server, token, "DELETE", "fronts/gone.txt").status_code == 204
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="fronts", Key="gone.txt")
    assert error_code(missing) == "NoSuchKey"
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="fronts")["Contents"]]
    assert "gone.txt" not in keys

    assert dav(server, token, "MKCOL", "fronts/doomed").status_code == 201
    assert dav(server, token, "PUT", "fronts/doomed/x.txt", content=b"x").status_code == 201
    assert s3.head_object(Bucket="fronts", Key="doomed/x.txt")["ContentLength"] == 1
    assert dav(server, token, "DELETE", "fronts/doomed").status_code == 204
    with pytest.raises(ClientError) as folder_gone:
        s3.head_object(Bucket="fronts", Key="doomed/x.txt")
    assert folder_gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    top = s3.list_objects_v2(Bucket="fronts", Delimiter="/")
    assert [prefix["Prefix"] for prefix in top["CommonPrefixes"]] == ["dav/"]
    assert sorted(item["Key"] for item in s3.list_objects(Bucket="fronts")["Contents"]) == [
        "dav/a.txt",
        "dav/sub/b.bin",
        "top.txt",
    ]


def crc64nvme(body: bytes) -> str:
    """S3's CRC64NVME of ``body``, as its headers carry it."""
    return base64.b64encode(crt.crc64nvme(body, 0).to_bytes(8, "big")).decode()


def session_upload(server: LockrProcess, token: str, name: str) -> bytes:
    """Send a file of a part and a tail to a resumable REST session, in two requests;
    its bytes."""
    body = os.urandom(6 * 1024 * 1024 + 5)
    session = httpx.post(
        server.url + "/api/v1/upload/session",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": name, "size": len(body)},
    ).json()
    half = len(body) // 2
    for start, end in ((0, half), (half, len(body))):
        sent = httpx.put(
            session["uploadUrl"],
            content=body[start:end],
            headers={"Content-Range": f"bytes {start}-{end - 1}/{len(body)}"},
        )
        assert sent.status_code == (201 if end == len(body) else 308), sent.text
    return body


def test_every_front_gives_a_file_the_checksum_s3_answers(
    server: LockrProcess, token: str, s3: Any, keys: dict[str, Any], written: dict[str, bytes]
) -> None:
    """A file written over WebDAV (the fast path and wsgidav), with a REST upload or a
    resumable REST session, or copied over WebDAV, answers the CRC64NVME of its bytes
    in checksum mode (which botocore checks the body against), the one the same
    bytes sent over S3 without a checksum get."""
    files = dict(written)
    body = os.urandom(300_000)
    locked = dav(
        server, token, "PUT", "fronts/wsgidav.bin", content=body, headers={"If-None-Match": "*"}
    )
    assert locked.status_code == 201  # a conditional PUT is wsgidav's
    files["fronts/wsgidav.bin"] = body
    copied = dav(
        server,
        token,
        "COPY",
        "fronts/dav/sub/b.bin",
        headers={"Destination": dav_url(server, "fronts/copy.bin")},
    )
    assert copied.status_code == 201
    files["fronts/copy.bin"] = DAV_FILES["fronts/dav/sub/b.bin"]
    files["uploads/session.bin"] = session_upload(server, token, "session.bin")
    plain = make_client(
        server,
        keys["accessKeyId"],
        keys["secretAccessKey"],
        request_checksum_calculation="when_required",
    )
    for path, body in files.items():
        bucket, _, key = path.partition("/")
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (
            crc64nvme(body),
            "FULL_OBJECT",
        ), path
        got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got["Body"].read() == body and got["ChecksumCRC64NVME"] == crc64nvme(body)
        assert "ChecksumCRC64NVME" not in s3.head_object(Bucket=bucket, Key=key)
        same = plain.put_object(Bucket="fronts", Key="over-s3.bin", Body=body)
        assert same["ChecksumCRC64NVME"] == head["ChecksumCRC64NVME"], path
    plain.close()
    for path in [*files.keys() - written.keys(), "fronts/over-s3.bin"]:
        assert dav(server, token, "DELETE", path).status_code == 204  # as they were


def test_a_webdav_write_replaces_a_checksum_sent_over_s3(
    server: LockrProcess, token: str, s3: Any, written: dict[str, bytes]
) -> None:
    s3.put_object(Bucket="fronts", Key="sha.bin", Body=b"over S3", ChecksumAlgorithm="SHA256")
    assert "ChecksumSHA256" in s3.head_object(
        Bucket="fronts", Key="sha.bin", ChecksumMode="ENABLED"
    )
    assert dav(server, token, "PUT", "fronts/sha.bin", content=b"over WebDAV").status_code == 204
    head = s3.head_object(Bucket="fronts", Key="sha.bin", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in head
    assert head["ChecksumCRC64NVME"] == crc64nvme(b"over WebDAV")
    s3.delete_object(Bucket="fronts", Key="sha.bin")


def rest_delete(server: LockrProcess, token: str, path: str) -> None:
    """Delete the folder at ``path`` with ``DELETE /api/v1/entries/{id}``."""
    auth = {"Authorization": f"Bearer {token}"}
    listed = httpx.get(server.url + "/api/v1/entries", params={"path": path}, headers=auth)
    entry_id = listed.json()["folder"]["id"]
    deleted = httpx.delete(f"{server.url}/api/v1/entries/{entry_id}", headers=auth)
    assert deleted.status_code == 204, deleted.text


def test_a_bucket_deleted_over_webdav_or_rest_takes_its_uploads(
    server: LockrProcess, token: str, s3: Any
) -> None:
    """A bucket deleted over WebDAV or the REST API goes with its unfinished
    multipart uploads, as DeleteBucket deletes it: made again, it holds none. So
    does one moved away (renamed) or replaced by a move or a copy: no longer there
    as it was, it is gone from S3's view."""

    def dav_delete(path: str) -> None:
        assert dav(server, token, "DELETE", path).status_code == 204

    def dav_moved_away(path: str) -> None:
        to = {"Destination": dav_url(server, f"{path}-renamed")}
        assert dav(server, token, "MOVE", path, headers=to).status_code == 201

    def dav_replaced(method: str) -> Callable[[str], None]:
        def replace(path: str) -> None:
            assert dav(server, token, "MKCOL", f"{path}-other").status_code == 201
            to = {"Destination": dav_url(server, path), "Overwrite": "T"}
            assert dav(server, token, method, f"{path}-other", headers=to).status_code == 204

        return replace

    deletes = {
        "dav-doomed": dav_delete,
        "rest-doomed": lambda path: rest_delete(server, token, path),
        "dav-renamed": dav_moved_away,
        "dav-moved-over": dav_replaced("MOVE"),
        "dav-copied-over": dav_replaced("COPY"),
    }
    for bucket, delete in deletes.items():
        s3.create_bucket(Bucket=bucket)
        common = {"Bucket": bucket, "Key": "dir/k"}
        common["UploadId"] = s3.create_multipart_upload(**common)["UploadId"]
        s3.upload_part(**common, PartNumber=1, Body=b"a part")
        delete(bucket)
        if "-over" not in bucket:  # a replaced bucket is there: a new one, empty
            with pytest.raises(ClientError) as missing:
                s3.list_multipart_uploads(Bucket=bucket)
            assert error_code(missing) == "NoSuchBucket"
            s3.create_bucket(Bucket=bucket)
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket), bucket
        with pytest.raises(ClientError) as gone:
            s3.list_parts(**common)
        assert error_code(gone) == "NoSuchUpload", bucket
        s3.delete_bucket(Bucket=bucket)


def test_a_deeper_folder_deleted_over_webdav_keeps_its_uploads(
    server: LockrProcess, token: str, s3: Any
) -> None:
    """S3 has no folders: an upload under a folder deleted over WebDAV stays, and
    completing it makes the folders of its key again."""
    s3.create_bucket(Bucket="deeper")
    s3.put_object(Bucket="deeper", Key="dir/sub/other.txt", Body=b"other")
    common = {"Bucket": "deeper", "Key": "dir/sub/k"}
    common["UploadId"] = s3.create_multipart_upload(**common)["UploadId"]
    tag = s3.upload_part(**common, PartNumber=1, Body=b"the part")["ETag"]
    assert dav(server, token, "DELETE", "deeper/dir").status_code == 204
    assert [item["Key"] for item in s3.list_multipart_uploads(Bucket="deeper")["Uploads"]] == [
        "dir/sub/k"
    ]
    s3.complete_multipart_upload(
        **common, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": tag}]}
    )
    assert s3.get_object(Bucket="deeper", Key="dir/sub/k")["Body"].read() == b"the part"
    assert dav(server, token, "DELETE", "deeper").status_code == 204
