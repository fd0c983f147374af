"""Object metadata over S3 with boto3: user metadata and the standard headers kept
with the file and answered by GetObject and HeadObject, S3's 2 KB limit, the
``response-*`` overrides, and what WebDAV writes and moves do to it."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import dav, dav_url, ensure_bucket, error_code, send_signed, status_of
from tests.conftest import LockrProcess

STANDARD = {
    "ContentType": "text/x-report",
    "CacheControl": "max-age=60",
    "ContentDisposition": 'attachment; filename="report.txt"',
    "ContentEncoding": "identity",
    "ContentLanguage": "fr-CA",
}
EXPIRES = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def test_metadata_round_trips(s3: Any) -> None:
    ensure_bucket(s3, "meta")
    s3.put_object(
        Bucket="meta",
        Key="docs/report.txt",
        Body=b"quarterly",
        Metadata={"Colour": "blue", "project-id": "42", "mtime": "1700000000.25"},
        Expires=EXPIRES,
        **STANDARD,
    )
    for answer in (
        s3.head_object(Bucket="meta", Key="docs/report.txt"),
        s3.get_object(Bucket="meta", Key="docs/report.txt"),
    ):
        # Names are lowercased, as HTTP headers carry them; mtime as given.
        assert answer["Metadata"] == {
            "colour": "blue",
            "project-id": "42",
            "mtime": "1700000000.25",
        }
        for name, value in STANDARD.items():
            assert answer[name] == value, name
        assert answer["Expires"] == EXPIRES


def test_an_mtime_in_nanoseconds_reads_back_exactly(s3: Any) -> None:
    """rclone writes nanoseconds and compares them on its next sync: a float cannot
    hold them, so the text as given is answered while it names the file's time."""
    ensure_bucket(s3, "meta")
    given = "1700000000.123456789"
    s3.put_object(Bucket="meta", Key="precise", Body=b"1", Metadata={"mtime": given})
    assert s3.head_object(Bucket="meta", Key="precise")["Metadata"]["mtime"] == given


def test_an_object_has_only_the_metadata_it_was_given(s3: Any) -> None:
    """No ``mtime`` of lockr's own beside what a client sent: an object written
    without one answers none, nor does a copy of it (with ``COPY`` or ``REPLACE``),
    as on S3; one sent is kept by a copy."""
    ensure_bucket(s3, "meta")
    s3.put_object(Bucket="meta", Key="bare", Body=b"1")
    s3.put_object(Bucket="meta", Key="given", Body=b"1", Metadata={"mtime": "1700000000.5"})
    assert s3.head_object(Bucket="meta", Key="bare")["Metadata"] == {}
    assert s3.get_object(Bucket="meta", Key="bare")["Metadata"] == {}
    bare = {"Bucket": "meta", "Key": "bare"}
    s3.copy_object(Bucket="meta", Key="bare-copy", CopySource=bare)
    assert s3.head_object(Bucket="meta", Key="bare-copy")["Metadata"] == {}
    s3.copy_object(
        Bucket="meta",
        Key="bare-replaced",
        CopySource=bare,
        MetadataDirective="REPLACE",
        Metadata={"z": "9"},
    )
    assert s3.head_object(Bucket="meta", Key="bare-replaced")["Metadata"] == {"z": "9"}
    s3.copy_object(Bucket="meta", Key="given-copy", CopySource={"Bucket": "meta", "Key": "given"})
    assert s3.head_object(Bucket="meta", Key="given-copy")["Metadata"] == {"mtime": "1700000000.5"}


def test_metadata_is_replaced_by_the_next_put(s3: Any) -> None:
    ensure_bucket(s3, "meta")
    s3.put_object(Bucket="meta", Key="again", Body=b"1", Metadata={"old": "yes"}, CacheControl="x")
    s3.put_object(Bucket="meta", Key="again", Body=b"2", Metadata={"new": "yes"})
    head = s3.head_object(Bucket="meta", Key="again")
    assert head["Metadata"] == {"new": "yes"}
    assert "CacheControl" not in head and head["ContentType"] == "binary/octet-stream"


def test_user_metadata_is_limited_to_2_kb(s3: Any) -> None:
    ensure_bucket(s3, "meta")
    # Names (without x-amz-meta-) and values count: 2 + 2046 bytes is the limit.
    s3.put_object(Bucket="meta", Key="fits", Body=b"x", Metadata={"ab": "v" * 2046})
    assert s3.head_object(Bucket="meta", Key="fits")["Metadata"]["ab"] == "v" * 2046
    with pytest.raises(ClientError) as large:
        s3.put_object(Bucket="meta", Key="large", Body=b"x", Metadata={"ab": "v" * 2047})
    assert error_code(large) == "MetadataTooLarge" and status_of(large) == 400
    with pytest.raises(ClientError) as stored:
        s3.head_object(Bucket="meta", Key="large")
    assert status_of(stored) == 404


def test_response_overrides(s3: Any) -> None:
    ensure_bucket(s3, "meta")
    s3.put_object(Bucket="meta", Key="plain", Body=b"body", ContentType="text/plain")
    overrides = {
        "ResponseContentType": "application/x-override",
        "ResponseCacheControl": "no-store",
        "ResponseContentDisposition": 'inline; filename="ünï ✓.txt"',
        "ResponseContentEncoding": "gzip",
        "ResponseContentLanguage": "de",
        "ResponseExpires": EXPIRES,
    }
    got = s3.get_object(Bucket="meta", Key="plain", **overrides)
    assert got["Body"].read() == b"body"
    assert got["ContentType"] == "application/x-override"
    assert got["CacheControl"] == "no-store" and got["ContentLanguage"] == "de"
    assert got["ContentEncoding"] == "gzip" and got["Expires"] == EXPIRES
    # Text beyond Latin-1 goes as its UTF-8 bytes, as S3 sends it.
    disposition = got["ContentDisposition"].encode("latin-1").decode("utf-8")
    assert disposition == 'inline; filename="ünï ✓.txt"'
    head = s3.head_object(Bucket="meta", Key="plain", ResponseContentType="a/b")
    assert head["ContentType"] == "a/b"
    assert s3.head_object(Bucket="meta", Key="plain")["ContentType"] == "text/plain"


def test_aws_chunked_is_not_the_objects_encoding(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    ensure_bucket(s3, "meta")
    for encoding, kept in [("aws-chunked, gzip", "gzip"), ("aws-chunked", None)]:
        answer = send_signed(
            server, keys, "PUT", "/meta/encoded", b"data", {"Content-Encoding": encoding}
        )
        assert answer.status_code == 200, answer.text
        assert s3.head_object(Bucket="meta", Key="encoded").get("ContentEncoding") == kept


def test_webdav_moves_keep_metadata_and_writes_drop_it(
    server: LockrProcess, token: str, s3: Any
) -> None:
    ensure_bucket(s3, "meta")
    s3.put_object(
        Bucket="meta", Key="dav/a.txt", Body=b"a", Metadata={"colour": "red"}, CacheControl="c"
    )
    moved = dav(
        server,
        token,
        "MOVE",
        "meta/dav/a.txt",
        headers={"Destination": dav_url(server, "meta/dav/b.txt")},
    )
    assert moved.status_code == 201, moved.text
    head = s3.head_object(Bucket="meta", Key="dav/b.txt")
    assert head["Metadata"]["colour"] == "red" and head["CacheControl"] == "c"
    written = dav(server, token, "PUT", "meta/dav/b.txt", content=b"new bytes")
    assert written.status_code == 204, written.text
    head = s3.head_object(Bucket="meta", Key="dav/b.txt")
    assert "colour" not in head["Metadata"] and "CacheControl" not in head
    assert head["ContentLength"] == len(b"new bytes")


def test_metadata_that_is_not_ascii_is_answered_rfc2047_encoded(s3: Any) -> None:
    ensure_bucket(s3, "meta")
    encoded = "=?UTF-8?B?" + base64.b64encode("Grüße ✓".encode()).decode() + "?="
    # boto3 refuses values that are not ASCII: they are sent as encoded words.
    s3.put_object(Bucket="meta", Key="word", Body=b"x", Metadata={"name": encoded})
    s3.put_object(Bucket="meta", Key="ascii", Body=b"x", Metadata={"name": "plain"})
    assert s3.head_object(Bucket="meta", Key="word")["Metadata"]["name"] == encoded
    assert s3.head_object(Bucket="meta", Key="ascii")["Metadata"]["name"] == "plain"
