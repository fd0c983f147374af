"""DeleteObjects over S3: boto3's multi-delete (with its default checksum), quiet
mode, per-key errors, and the requests S3 refuses whole (no checksum, a wrong one,
malformed or hostile XML, too many keys), which delete nothing."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import ensure_bucket, error_code, send_signed
from tests.conftest import LockrProcess


def put_keys(s3: Any, bucket: str, keys: list[str]) -> None:
    ensure_bucket(s3, bucket)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def listed(s3: Any, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def document(keys: list[str], *, quiet: bool = False) -> bytes:
    objects = "".join(f"<Object><Key>{key}</Key></Object>" for key in keys)
    return f"<Delete><Quiet>{str(quiet).lower()}</Quiet>{objects}</Delete>".encode()


def md5_header(body: bytes) -> dict[str, str]:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def test_keys_are_deleted_and_reported(s3: Any) -> None:
    put_keys(s3, "multi", ["a.txt", "b/c.txt", "b/d.txt", "e.txt"])
    answer = s3.delete_objects(
        Bucket="multi",
        Delete={
            "Objects": [
                {"Key": "a.txt"},
                {"Key": "b/c.txt"},
                {"Key": "missing.txt"},  # deleted too, as S3 answers
                {"Key": "e.txt", "VersionId": "null"},
            ]
        },
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["a.txt", "b/c.txt", "missing.txt", "e.txt"]
    assert answer["Deleted"][3]["VersionId"] == "null"
    assert "Errors" not in answer
    assert listed(s3, "multi") == ["b/d.txt"]


def test_quiet_mode_answers_errors_only(s3: Any) -> None:
    put_keys(s3, "quiet", ["one", "two", "dir/kept"])
    answer = s3.delete_objects(
        Bucket="quiet",
        Delete={
            "Quiet": True,
            "Objects": [
                {"Key": "one"},
                {"Key": "bad//key"},
                {"Key": "two", "VersionId": "3HL4kqtJlcpXroDTDmJ"},
                {"Key": "dir/"},  # a folder that holds a key stays, as its keys do
            ],
        },
    )
    assert "Deleted" not in answer
    errors = {error["Key"]: error["Code"] for error in answer["Errors"]}
    assert errors == {"bad//key": "InvalidArgument", "two": "NoSuchVersion"}
    assert listed(s3, "quiet") == ["dir/kept", "two"]


def test_a_thousand_keys_at_most(server: LockrProcess, keys: dict[str, Any], s3: Any) -> None:
    put_keys(s3, "thousand", ["k0000", "k0999"])
    body = document([f"k{number:04d}" for number in range(1000)], quiet=True)
    answer = send_signed(server, keys, "POST", "/thousand?delete", body, md5_header(body))
    assert answer.status_code == 200, answer.text
    assert "<Deleted>" not in answer.text and "<Error>" not in answer.text
    assert listed(s3, "thousand") == []
    put_keys(s3, "thousand", ["kept"])
    body = document(["kept"] * 1001)
    answer = send_signed(server, keys, "POST", "/thousand?delete", body, md5_header(body))
    assert answer.status_code == 400 and "<Code>MalformedXML</Code>" in answer.text
    assert listed(s3, "thousand") == ["kept"]


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        (document(["victim"]), {}, "InvalidRequest"),
        (document(["victim"]), md5_header(b"another body"), "BadDigest"),
        (document(["victim"]), {"x-amz-checksum-crc32": "AAAAAA=="}, "BadDigest"),
        (document(["victim"]), {"Content-MD5": "not base64!"}, "InvalidDigest"),
        (b"<Delete><Object><Key>victim</Key></Object>", None, "MalformedXML"),
        (b"<Remove><Object><Key>victim</Key></Object></Remove>", None, "MalformedXML"),
        (b"<Delete><Quiet>true</Quiet></Delete>", None, "MalformedXML"),
        (b"<Delete><Object><Name>victim</Name></Object></Delete>", None, "MalformedXML"),
        (
            b"<Delete><Quiet>maybe</Quiet><Object><Key>victim</Key></Object></Delete>",
            None,
            "MalformedXML",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY v "victim">]>'
            b"<Delete><Object><Key>&v;</Key></Object></Delete>",
            None,
            "MalformedXML",
        ),
    ],
)
def test_refused_requests_delete_nothing(
    server: LockrProcess,
    keys: dict[str, Any],
    s3: Any,
    body: bytes,
    headers: dict[str, str] | None,
    code: str,
) -> None:
    put_keys(s3, "refused", ["victim"])
    answer = send_signed(
        server,
        keys,
        "POST",
        "/refused?delete",
        body,
        md5_header(body) if headers is None else headers,
    )
    assert answer.status_code == 400, answer.text
    assert f"<Code>{code}</Code>" in answer.text
    assert listed(s3, "refused") == ["victim"]


def test_a_missing_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as missing:
        s3.delete_objects(Bucket="nosuchbucket", Delete={"Objects": [{"Key": "a"}]})
    assert error_code(missing) == "NoSuchBucket"
