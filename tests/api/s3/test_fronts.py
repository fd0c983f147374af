"""Files written over the other fronts, as the S3 front shows them: what WebDAV
(MKCOL, PUT) and the REST API (``POST /api/v1/upload``) write is listed by
ListObjectsV2 and ListObjects (version 1) with the size, ETag and LastModified the
REST API reports, read back byte for byte by GetObject, and gone from S3 as soon as
WebDAV deletes it."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import dav, error_code
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
