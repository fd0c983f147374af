"""boto3 against a running lockr: virtual-host style (the bucket in the host name) and
path-style on the same server, and presigned URLs used by other HTTP clients (httpx,
requests), with the ones S3 refuses."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import botocore.auth
import botocore.crt.auth
import httpx
import pytest
import requests
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError

from tests.api.s3.clients.conftest import DOMAIN, assert_same_files_everywhere, boto3_client
from tests.conftest import LockrProcess

# -- virtual-host style --------------------------------------------------------------


def loopback(request: AWSPreparedRequest, **_: Any) -> None:
    """Send a request for ``*.s3.lockr.test`` to 127.0.0.1, with the ``Host`` header it
    was signed with: what a DNS record for the domain would do."""
    parts = urlsplit(request.url)
    request.headers["Host"] = parts.netloc
    request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))


def test_virtual_host_style(server: LockrProcess, keys: dict[str, str], token: str) -> None:
    client = boto3_client(
        server,
        keys,
        endpoint_url=f"http://{DOMAIN}:{server.s3_port}",
        s3={"addressing_style": "virtual"},
    )
    sent: list[str] = []
    client.meta.events.register_first(
        "before-send.s3", lambda request, **_: sent.append(urlsplit(request.url).netloc)
    )
    client.meta.events.register("before-send.s3", loopback)
    client.create_bucket(Bucket="virtual")
    body = b"addressed by the host name"
    client.put_object(Bucket="virtual", Key="2024/a b.txt", Body=body)
    assert client.get_object(Bucket="virtual", Key="2024/a b.txt")["Body"].read() == body
    assert client.head_object(Bucket="virtual", Key="2024/a b.txt")["ContentLength"] == len(body)
    listed = client.list_objects_v2(Bucket="virtual")
    assert [item["Key"] for item in listed["Contents"]] == ["2024/a b.txt"]
    assert "virtual" in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]
    assert sent[0] == f"virtual.{DOMAIN}:{server.s3_port}"  # the bucket was in the host
    assert f"{DOMAIN}:{server.s3_port}" in sent  # ListBuckets: the domain itself
    assert_same_files_everywhere(server, token, "virtual", {"2024/a b.txt": body})
    assert f"path-style, and BUCKET.{DOMAIN}" in server.output()  # the banner says so

    # The same server still answers path-style, on its address and on the domain.
    path_style = boto3_client(
        server,
        keys,
        endpoint_url=f"http://{DOMAIN}:{server.s3_port}",
        s3={"addressing_style": "path"},
    )
    path_style.meta.events.register("before-send.s3", loopback)
    assert path_style.get_object(Bucket="virtual", Key="2024/a b.txt")["Body"].read() == body
    client.delete_object(Bucket="virtual", Key="2024/a b.txt")
    with pytest.raises(ClientError) as gone:
        client.head_object(Bucket="virtual", Key="2024/a b.txt")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# -- presigned URLs used by another client -------------------------------------------


@pytest.fixture(scope="module")
def s3(server: LockrProcess, keys: dict[str, str]) -> Iterator[Any]:
    """Path-style; presigned URLs with SigV4 (botocore presigns with SigV2 for
    us-east-1 unless told ``s3v4``, and lockr takes SigV4 only)."""
    client = boto3_client(server, keys, signature_version="s3v4", s3={"addressing_style": "path"})
    yield client
    client.close()


@pytest.fixture(scope="module")
def presigned(s3: Any) -> str:
    """The bucket of the presigned URLs."""
    s3.create_bucket(Bucket="presigned")
    return "presigned"


def presign(s3: Any, operation: str, key: str, expires: int = 3600) -> str:
    url: str = s3.generate_presigned_url(
        operation, Params={"Bucket": "presigned", "Key": key}, ExpiresIn=expires
    )
    return url


def s3_error(response: httpx.Response) -> tuple[int, str]:
    code = response.text.partition("<Code>")[2].partition("</Code>")[0]
    return response.status_code, code


@pytest.mark.usefixtures("presigned")
def test_presigned_get_and_put(s3: Any) -> None:
    body = os.urandom(70_000)
    put = httpx.put(presign(s3, "put_object", "up/loaded.bin"), content=body)
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = httpx.get(presign(s3, "get_object", "up/loaded.bin", expires=7 * 24 * 3600))
    assert got.status_code == 200 and got.content == body
    ranged = httpx.get(presign(s3, "get_object", "up/loaded.bin"), headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == body[:10]


@pytest.mark.usefixtures("presigned")
def test_presigned_get_and_put_with_requests(s3: Any) -> None:
    """The same URLs sent by ``requests``, which sends a body of its own way (a file
    object: ``Content-Length`` from its size)."""
    body = os.urandom(300_000)
    with io.BytesIO(body) as source:
        put = requests.put(presign(s3, "put_object", "requests/up.bin"), data=source, timeout=30)
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = requests.get(presign(s3, "get_object", "requests/up.bin"), timeout=30)
    assert got.status_code == 200 and got.content == body
    assert got.headers["Content-Length"] == str(len(body))


@pytest.mark.usefixtures("presigned")
def test_presigned_urls_that_must_be_refused(
    server: LockrProcess, keys: dict[str, str], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket="presigned", Key="kept.txt", Body=b"kept")
    sigv2 = boto3_client(server, keys, s3={"addressing_style": "path"})
    unsupported = httpx.get(presign(sigv2, "get_object", "kept.txt"))
    assert "Signature=" in str(unsupported.url)  # botocore's default for us-east-1
    assert s3_error(unsupported) == (400, "InvalidRequest")
    too_long = httpx.get(presign(s3, "get_object", "kept.txt", expires=7 * 24 * 3600 + 1))
    assert s3_error(too_long) == (400, "AuthorizationQueryParametersError")

    url = presign(s3, "get_object", "kept.txt")
    tampered = httpx.get(url.replace("kept.txt", "kept.txx"))
    assert s3_error(tampered) == (403, "SignatureDoesNotMatch")
    other_put = httpx.put(presign(s3, "get_object", "kept.txt"), content=b"overwritten")
    assert s3_error(other_put) == (403, "SignatureDoesNotMatch")  # signed for a GET
    assert s3.get_object(Bucket="presigned", Key="kept.txt")["Body"].read() == b"kept"

    with monkeypatch.context() as past:  # signed two hours ago, for one hour
        two_hours_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
        past.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: two_hours_ago)
        # boto3 signs through the AWS Common Runtime when it is installed.
        past.setattr(botocore.crt.auth, "get_current_datetime", lambda *_, **__: two_hours_ago)
        expired = presign(s3, "get_object", "kept.txt", expires=3600)
    assert s3_error(httpx.get(expired)) == (403, "AccessDenied")
