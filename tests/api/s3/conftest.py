"""Shared by the S3 front's tests: a real ``lockr serve`` for each test module, an
account on it with an S3 access key, and a boto3 client with its default settings
(its default checksums and payload signing included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.client import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.conftest import LockrProcess, signup


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    process = LockrProcess(tmp_path_factory.mktemp("s3front") / "data").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def token(server: LockrProcess) -> str:
    return signup(server, "alice")


@pytest.fixture(scope="module")
def keys(server: LockrProcess, token: str) -> dict[str, Any]:
    response = httpx.post(
        server.url + "/api/v1/s3-keys",
        json={"name": "boto3"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def make_client(server: LockrProcess, access_key_id: str, secret: str) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.s3_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
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
