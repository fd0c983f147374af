"""One real ``lockr serve`` per test module, an account on it with an S3 access key,
and a boto3 client with its default settings (its default checksums and payload
signing included) on the S3 listener."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from api.s3.app import create_s3_app
from gateway.core import Core
from tests.conftest import (
    GENEROUS_LIMITS,
    PASSWORD,
    LockrProcess,
    create_s3_key,
    running_lockr,
    serving,
    signup,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    with running_lockr(tmp_path_factory, "s3front", GENEROUS_LIMITS) as process:
        yield process


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


@pytest.fixture(scope="module")
def bare(server: LockrProcess, keys: dict[str, Any]) -> Iterator[Any]:
    """A boto3 client that sends no checksum it is not asked for."""
    client = make_client(
        server,
        keys["accessKeyId"],
        keys["secretAccessKey"],
        request_checksum_calculation="when_required",
    )
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


def refused(call: Any, **arguments: Any) -> tuple[int, str]:
    """The status and code of the error ``call(**arguments)`` raises."""
    with pytest.raises(ClientError) as info:
        call(**arguments)
    return status_of(info), error_code(info)


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


def send_paused(
    server: LockrProcess,
    keys: dict[str, Any],
    method: str,
    target: str,
    body: bytes,
    meanwhile: Callable[[], None],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send a request as :func:`send_signed` does, its body in two pieces with
    ``meanwhile()`` called between them, a second after the first: by then the server
    has started on the request and is reading its body."""
    request = AWSRequest(method, server.s3_url + target, data=body, headers=headers or {})
    credentials = Credentials(keys["accessKeyId"], keys["secretAccessKey"])
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    half = len(body) // 2

    def pieces() -> Iterator[bytes]:
        yield body[:half]
        time.sleep(1)
        meanwhile()
        yield body[half:]

    return httpx.request(
        method, request.url, content=pieces(), headers=dict(request.headers), timeout=60
    )


def dav_url(server: LockrProcess, path: str) -> str:
    """The WebDAV URL of ``path`` of alice's tree (a bucket is its first folder)."""
    return f"http://127.0.0.1:{server.dav_port}/alice/{path}"


def dav(server: LockrProcess, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A WebDAV request as alice, on ``path`` of her tree."""
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return httpx.request(method, dav_url(server, path), headers=headers, **kwargs)


AROUND = ("counters", "s3_keys")
"""Tables of what every request does around its operation (the burst counters, the
key's last use), which a process does only now and then."""


class Front:
    """The S3 front of an in-process core (alice's, with a key and the bucket
    ``photos`` holding ``2024/first.jpg``), served by a real uvicorn: for tests that
    look at the core while the front works."""

    def __init__(self, core: Core, url: str, keys: tuple[str, str]) -> None:
        self.core = core
        self.url = url
        self.keys = keys
        self.account = core.accounts.find("alice").id
        self.client: Any = make_client(url, *keys)

    def statements(self, seen: list[str]) -> list[str]:
        """``seen`` without the transactions of what is done around the operation
        (:data:`AROUND`)."""
        kept: list[str] = []
        transaction: list[str] = []
        for sql in seen:
            if not transaction and not sql.startswith("BEGIN"):
                kept.append(sql)
                continue
            transaction.append(sql)
            if sql in ("COMMIT", "ROLLBACK"):
                if not any(table in text for text in transaction for table in AROUND):
                    kept.extend(transaction)
                transaction = []
        return kept

    def signed(self, method: str, path: str, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method, self.url + path, headers=headers)
        S3SigV4Auth(Credentials(*self.keys), "s3", "us-east-1").add_auth(request)
        return dict(request.headers.items())


@pytest.fixture
def front(core: Core) -> Iterator[Front]:
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    info, secret = core.s3_keys.create(account.id)
    with serving(create_s3_app(core)) as url:
        front = Front(core, url, (info.access_key_id, secret))
        front.client.create_bucket(Bucket="photos")
        front.client.put_object(Bucket="photos", Key="2024/first.jpg", Body=b"first")
        yield front
        front.client.close()
