"""The S3 front against a real ``lockr serve``, driven by boto3 with its default
settings (its default checksums and payload signing included): buckets, objects,
ranges, S3 errors, and a file put over S3 seen by the REST API."""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from api.s3.app import create_s3_app
from tests.api.s3.conftest import ensure_bucket, error_code, make_client
from tests.conftest import PASSWORD, CoreFactory, LockrProcess, serving

MiB = 1024 * 1024


def test_buckets_are_created_listed_and_deleted(s3: Any) -> None:
    s3.create_bucket(Bucket="photos")
    names = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert "photos" in names
    s3.head_bucket(Bucket="photos")
    with pytest.raises(ClientError) as again:
        s3.create_bucket(Bucket="photos")
    assert error_code(again) == "BucketAlreadyOwnedByYou"
    assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as bad:
        s3.create_bucket(Bucket="Not_A_Bucket")
    assert error_code(bad) == "InvalidBucketName"
    s3.put_object(Bucket="photos", Key="a.txt", Body=b"a")
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket="photos")
    assert error_code(full) == "BucketNotEmpty"
    s3.delete_object(Bucket="photos", Key="a.txt")
    s3.delete_bucket(Bucket="photos")
    with pytest.raises(ClientError) as gone:
        s3.head_bucket(Bucket="photos")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_bucket_is_empty_once_its_objects_are_deleted(s3: Any) -> None:
    """The folders the keys implied stay in the tree, but hold no object, so listings
    do not show them and DeleteBucket takes them along (as `aws s3 rb` and `rclone
    purge` expect after deleting every key)."""
    s3.create_bucket(Bucket="emptied")
    s3.put_object(Bucket="emptied", Key="a/b/c.txt", Body=b"c")
    s3.put_object(Bucket="emptied", Key="a/d/e/f.txt", Body=b"f")
    s3.delete_object(Bucket="emptied", Key="a/b/c.txt")
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket="emptied")
    assert error_code(full) == "BucketNotEmpty"  # a/d/e/f.txt, deep down
    s3.delete_object(Bucket="emptied", Key="a/d/e/f.txt")
    listed = s3.list_objects_v2(Bucket="emptied", Delimiter="/")
    assert "CommonPrefixes" not in listed  # a/ holds folders only: no prefix, as on S3
    s3.delete_bucket(Bucket="emptied")
    assert "emptied" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("key", ["plain.txt", "with space/and more.txt", "ünïcødé/日本語 ✓.bin"])
def test_put_get_head_delete(s3: Any, key: str) -> None:
    ensure_bucket(s3, "objects")
    body = os.urandom(3000)
    put = s3.put_object(
        Bucket="objects",
        Key=key,
        Body=body,
        ContentType="text/x-test",
        Metadata={"mtime": "1700000000.5"},
    )
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    got = s3.get_object(Bucket="objects", Key=key)
    assert got["Body"].read() == body
    assert got["ETag"] == etag and got["ContentLength"] == len(body)
    assert got["ContentType"] == "text/x-test"
    assert got["Metadata"]["mtime"].startswith("1700000000.5")
    head = s3.head_object(Bucket="objects", Key=key)
    assert head["ContentLength"] == len(body) and head["ETag"] == etag
    assert "x-amz-request-id" in head["ResponseMetadata"]["HTTPHeaders"]
    s3.delete_object(Bucket="objects", Key=key)
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="objects", Key=key)
    assert error_code(missing) == "NoSuchKey"
    s3.delete_object(Bucket="objects", Key=key)  # a missing key: still 204


def test_large_object_streams_and_ranges(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="large")
    data = os.urandom(20 * MiB)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    with source.open("rb") as handle:
        s3.put_object(Bucket="large", Key="nested/deep/big.bin", Body=handle)
    head = s3.head_object(Bucket="large", Key="nested/deep/big.bin")
    assert head["ContentLength"] == len(data)
    got = s3.get_object(Bucket="large", Key="nested/deep/big.bin")
    assert hashlib.md5(got["Body"].read()).digest() == hashlib.md5(data).digest()
    ranged = s3.get_object(Bucket="large", Key="nested/deep/big.bin", Range="bytes=100-199")
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert ranged["ContentRange"] == f"bytes 100-199/{len(data)}"
    assert ranged["Body"].read() == data[100:200]
    tail = s3.get_object(Bucket="large", Key="nested/deep/big.bin", Range="bytes=-10")
    assert tail["Body"].read() == data[-10:]
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket="large", Key="nested/deep/big.bin", Range=f"bytes={len(data)}-")
    assert error_code(beyond) == "InvalidRange"


def test_errors(server: LockrProcess, s3: Any, keys: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as no_bucket:
        s3.get_object(Bucket="nosuchbucket", Key="x")
    assert error_code(no_bucket) == "NoSuchBucket"
    with pytest.raises(ClientError) as no_bucket_list:
        s3.list_objects_v2(Bucket="nosuchbucket")
    assert error_code(no_bucket_list) == "NoSuchBucket"
    s3.create_bucket(Bucket="errors")
    with pytest.raises(ClientError) as no_key:
        s3.head_object(Bucket="errors", Key="missing")
    assert no_key.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    wrong = make_client(server, keys["accessKeyId"], "x" * 40)
    with pytest.raises(ClientError) as bad_signature:
        wrong.list_buckets()
    assert error_code(bad_signature) == "SignatureDoesNotMatch"
    unknown = make_client(server, "LK" + "A" * 18, keys["secretAccessKey"])
    with pytest.raises(ClientError) as bad_key:
        unknown.list_buckets()
    assert error_code(bad_key) == "InvalidAccessKeyId"

    anonymous = httpx.get(server.s3_url + "/")
    assert anonymous.status_code == 403
    assert "<Code>AccessDenied</Code>" in anonymous.text
    assert anonymous.headers["x-amz-request-id"]

    s3.put_object(Bucket="errors", Key="file", Body=b"x")
    with pytest.raises(ClientError) as conflict:
        s3.put_object(Bucket="errors", Key="file/inside", Body=b"y")
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as digest:
        s3.put_object(
            Bucket="errors", Key="digest", Body=b"abc", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA=="
        )
    assert error_code(digest) == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket="errors", Key="digest")  # nothing stored
    s3.put_object(Bucket="errors", Key="after", Body=b"the connection is still usable")


def test_a_bad_body_stores_nothing(server: LockrProcess, s3: Any) -> None:
    """A body whose declared SHA-256 does not match is refused, and nothing is kept."""
    s3.create_bucket(Bucket="bodies")
    request = s3._request_signer  # a signed request, with its body swapped afterwards
    from botocore.awsrequest import AWSRequest

    url = f"{server.s3_url}/bodies/tampered.bin"
    signed = AWSRequest(
        method="PUT",
        url=url,
        data=b"good body",
        headers={"x-amz-content-sha256": hashlib.sha256(b"good body").hexdigest()},
    )
    request.sign("PutObject", signed)
    headers = dict(signed.headers.items())
    answer = httpx.put(url, content=b"evil body", headers=headers)
    assert answer.status_code == 400, answer.text
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in answer.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket="bodies", Key="tampered.bin")


def test_an_object_put_over_s3_is_a_file_of_the_rest_api(
    server: LockrProcess, s3: Any, token: str
) -> None:
    s3.create_bucket(Bucket="shared")
    body = b"seen from both sides" * 100
    s3.put_object(Bucket="shared", Key="docs/report.txt", Body=body)
    files = httpx.get(
        server.url + "/api/v1/files", headers={"Authorization": f"Bearer {token}"}
    ).json()["files"]
    found = [f for f in files if f["name"] == "report.txt"]
    assert len(found) == 1
    assert found[0]["md5"] == hashlib.md5(body).hexdigest()
    assert found[0]["path"].strip("/").endswith("shared/docs/report.txt")


def test_requests_at_once_past_the_burst_limit_slow_down(make_core: CoreFactory) -> None:
    """Many requests at once, as a sync's checkers send them, while the counts run
    out and are taken again: exactly the limit is served, the rest is ``SlowDown``."""
    now = time.time()  # one window for the whole test
    core = make_core(s3_rate_limit_per_account=50, clock=lambda: now)
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    info, secret = core.s3_keys.create(account.id)
    with serving(create_s3_app(core)) as url:
        request = AWSRequest("HEAD", f"{url}/photos")
        S3SigV4Auth(Credentials(info.access_key_id, secret), "s3", "us-east-1").add_auth(request)
        headers = dict(request.headers.items())

        def send(count: int) -> list[httpx.Response]:
            with httpx.Client() as client:
                return [client.head(f"{url}/photos", headers=headers) for _ in range(count)]

        with ThreadPoolExecutor(8) as pool:
            answers = [answer for batch in pool.map(send, [10] * 8) for answer in batch]
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {404: 50, 503: 30}  # NoSuchBucket when served
    assert all(answer.headers["Retry-After"] for answer in answers if answer.status_code == 503)
