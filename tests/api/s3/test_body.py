"""The checks of a request body (api.s3.body): Content-MD5 and x-amz-checksum-*
headers over the payload verifier, on bodies split anywhere."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from starlette.datastructures import Headers

from api.s3.body import CheckedBody
from api.s3.errors import BadDigest, InvalidDigest
from api.s3.sigv4 import PayloadMode, Verified

DATA = b"the body of a request, split anywhere"


def verified(mode: PayloadMode = PayloadMode.UNSIGNED) -> Verified:
    return Verified(
        access_key_id="AKID",
        region="us-east-1",
        timestamp="20260101T000000Z",
        scope="20260101/us-east-1/s3/aws4_request",
        signing_key=b"k" * 32,
        seed_signature="0" * 64,
        payload_mode=mode,
        payload_sha256=None,
        presigned=False,
    )


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def feed(body: CheckedBody, data: bytes) -> bytes:
    return b"".join(
        piece for start in range(0, len(data), 5) for piece in body.feed(data[start : start + 5])
    )


def test_content_md5_is_computed_or_given() -> None:
    body = CheckedBody(verified(), Headers({"content-md5": md5(DATA)}), hash_md5=True)
    assert body.has_checksum and feed(body, DATA) == DATA
    body.finish()
    given = CheckedBody(verified(), Headers({"content-md5": md5(DATA)}), hash_md5=False)
    feed(given, DATA)
    given.finish(hashlib.md5(DATA).hexdigest())
    wrong = CheckedBody(verified(), Headers({"content-md5": md5(b"other")}), hash_md5=True)
    feed(wrong, DATA)
    with pytest.raises(BadDigest):
        wrong.finish()
    with pytest.raises(InvalidDigest):
        CheckedBody(verified(), Headers({"content-md5": "AAAA"}), hash_md5=True)


def test_checksum_headers_are_checked_and_echoed() -> None:
    headers = Headers({"x-amz-checksum-crc32": crc32(DATA)})
    body = CheckedBody(verified(), headers, hash_md5=True)
    feed(body, DATA)
    body.finish()
    assert body.has_checksum and body.answer_headers() == {"x-amz-checksum-crc32": crc32(DATA)}
    wrong = CheckedBody(verified(), Headers({"x-amz-checksum-crc32": crc32(b"x")}), hash_md5=True)
    feed(wrong, DATA)
    with pytest.raises(BadDigest):
        wrong.finish()


def test_which_bodies_come_with_a_checksum() -> None:
    assert not CheckedBody(verified(), Headers({}), hash_md5=True).has_checksum
    trailing = Headers({"x-amz-trailer": "x-amz-checksum-crc32"})
    mode = PayloadMode.STREAMING_UNSIGNED_TRAILER
    assert CheckedBody(verified(mode), trailing, hash_md5=True).has_checksum
