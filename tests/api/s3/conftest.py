"""One real ``lockr serve`` per test module, an account on it with an S3 access key,
and a boto3 client with its default settings (its default checksums and payload
signing included) on the S3 listener."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import LockrProcess, create_s3_key, signup


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    process = LockrProcess(
        tmp_path_factory.mktemp("s3front") / "data",
        env={"LOCKR_RATE_LIMIT_PER_ADDRESS": "100000", "LOCKR_RATE_LIMIT_PER_ACCOUNT": "100000"},
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def token(server: LockrProcess) -> str:
    return signup(server, "alice")


@pytest.fixture(scope="module")
def keys(server: LockrProcess, token: str) -> dict[str, str]:
    return create_s3_key(server, token, "boto3")


def make_client(server: LockrProcess | str, access_key_id: str, secret: str, **config: Any) -> Any:
    """A boto3 client of the S3 listener (of ``server``, or at that URL); ``config``:
    more of botocore's settings (``signature_version="s3v4"`` for SigV4 presigned URLs)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server if isinstance(server, str) else server.s3_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="module")
def s3(server: LockrProcess, keys: dict[str, Any]) -> Iterator[Any]:
    client = make_client(server, keys["accessKeyId"], keys["secretAccessKey"])
    yield client
    client.close()


def ensure_bucket(s3: Any, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def status_of(info: pytest.ExceptionInfo[ClientError]) -> int:
    return int(info.value.response["ResponseMetadata"]["HTTPStatusCode"])


def send_signed(
    server: LockrProcess,
    keys: dict[str, Any],
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send a request as written (``target``: the path and query), signed with SigV4
    and its body's SHA-256, as no SDK call would send it."""
    request = AWSRequest(method, server.s3_url + target, data=body, headers=headers or {})
    credentials = Credentials(keys["accessKeyId"], keys["secretAccessKey"])
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return httpx.request(method, request.url, content=body, headers=dict(request.headers))


def dav_url(server: LockrProcess, path: str) -> str:
    """The WebDAV URL of ``path`` of alice's tree (a bucket is its first folder)."""
    return f"http://127.0.0.1:{server.dav_port}/alice/{path}"


def dav(server: LockrProcess, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A WebDAV request as alice, on ``path`` of her tree."""
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return httpx.request(method, dav_url(server, path), headers=headers, **kwargs)
