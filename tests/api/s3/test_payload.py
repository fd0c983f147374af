"""Body checks: AWS's published aws-chunked examples, botocore's own aws-chunked
encoder, and arbitrary re-splitting of the bytes as they arrive."""

from __future__ import annotations

import base64
import calendar
import hashlib
import io
import zlib
from collections.abc import Sequence

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from api.s3 import errors
from api.s3.checksums import crc32c
from api.s3.payload import PayloadVerifier, payload_verifier
from api.s3.sigv4 import PayloadMode, Verified, signing_key, verify_request

# The examples of AWS's "Signature Calculations for the Authorization Header:
# Transferring Payload in Multiple Chunks" and "... Including Trailing Headers" pages.
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_CREDENTIAL = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
AWS_NOW = float(calendar.timegm((2013, 5, 24, 0, 0, 0)))
AWS_HEADERS = {
    "Host": "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "Content-Encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
}
CHUNKED_HEADERS = {
    **AWS_HEADERS,
    "Content-Length": "66824",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "Authorization": (
        f"AWS4-HMAC-SHA256 Credential={AWS_CREDENTIAL},SignedHeaders=content-encoding;"
        "content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-storage-class,"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    ),
}
CHUNKED_BODY = (
    b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    + b"a" * 65536
    + b"\r\n"
    + b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    + b"a" * 1024
    + b"\r\n"
    + b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n"
    + b"\r\n"
)
TRAILER_HEADERS = {
    **AWS_HEADERS,
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "x-amz-trailer": "x-amz-checksum-crc32c",
    "Authorization": (
        f"AWS4-HMAC-SHA256 Credential={AWS_CREDENTIAL},SignedHeaders=content-encoding;host;"
        "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;"
        "x-amz-trailer,"
        "Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    ),
}
TRAILER_BODY = (
    b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"
    + b"a" * 65536
    + b"\r\n"
    + b"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"
    + b"a" * 1024
    + b"\r\n"
    + b"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"
    + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    + b"x-amz-trailer-signature:"
    + b"d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
    + b"\r\n"
)


def aws_example(headers: dict[str, str]) -> Verified:
    return verify_request(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "",
        headers,
        lambda key: AWS_SECRET if key == "AKIAIOSFODNN7EXAMPLE" else None,
        clock=lambda: AWS_NOW,
    )


def run(verifier: PayloadVerifier, pieces: Sequence[bytes]) -> bytes:
    out = bytearray()
    for piece in pieces:
        for decoded in verifier.feed(piece):
            out += decoded
    verifier.finish()
    return bytes(out)


def split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[start:end] for start, end in zip(edges, edges[1:], strict=False)]


def unsigned_trailer(
    data: bytes, checksum_cls: type, name: str, *, chunk_size: int = 7
) -> tuple[Verified, dict[str, str], bytes]:
    """A body encoded by botocore's own aws-chunked wrapper, with its headers."""
    body = AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=checksum_cls, checksum_name=name, chunk_size=chunk_size
    ).read()
    headers = {"x-amz-trailer": name, "x-amz-decoded-content-length": str(len(data))}
    verified = Verified(
        access_key_id="AKID",
        region="us-east-1",
        timestamp="20260101T000000Z",
        scope="20260101/us-east-1/s3/aws4_request",
        signing_key=signing_key("secret", "20260101", "us-east-1"),
        seed_signature="0" * 64,
        payload_mode=PayloadMode.STREAMING_UNSIGNED_TRAILER,
        payload_sha256=None,
        presigned=False,
    )
    return verified, headers, body


# -- AWS's examples ------------------------------------------------------------------


def test_the_aws_chunked_example_decodes_and_verifies() -> None:
    assert len(CHUNKED_BODY) == 66824
    verified = aws_example(CHUNKED_HEADERS)
    assert verified.seed_signature.startswith("4f232c43")
    assert run(payload_verifier(verified, CHUNKED_HEADERS), [CHUNKED_BODY]) == b"a" * 66560


def test_the_aws_trailer_example_decodes_and_verifies() -> None:
    verified = aws_example(TRAILER_HEADERS)
    assert run(payload_verifier(verified, TRAILER_HEADERS), [TRAILER_BODY]) == b"a" * 66560


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(TRAILER_BODY)), max_size=40))
def test_any_split_of_the_signed_bodies_verifies(cuts: list[int]) -> None:
    for headers, body in ((CHUNKED_HEADERS, CHUNKED_BODY), (TRAILER_HEADERS, TRAILER_BODY)):
        verifier = payload_verifier(aws_example(headers), headers)
        assert run(verifier, split(body, cuts)) == b"a" * 66560


def test_a_byte_split_off_at_every_boundary_verifies() -> None:
    """Header lines, CRLFs and signatures cut at every position, one byte at a time."""
    head = CHUNKED_BODY[:120]
    tail = CHUNKED_BODY[-200:]
    middle = CHUNKED_BODY[120:-200]
    pieces = [bytes([b]) for b in head] + [middle] + [bytes([b]) for b in tail]
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    assert run(verifier, pieces) == b"a" * 66560


@pytest.mark.parametrize(
    "position",
    [100, 65000, 65700],  # in chunk 1's data, in chunk 1's data, in chunk 2's data
)
def test_a_corrupted_chunk_fails(position: int) -> None:
    body = bytearray(CHUNKED_BODY)
    body[position] = ord("b")
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.SignatureDoesNotMatch):
        run(verifier, [bytes(body)])


def test_a_forged_chunk_signature_fails() -> None:
    body = CHUNKED_BODY.replace(b"0055627c", b"1055627c")
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.SignatureDoesNotMatch):
        run(verifier, [body])


def test_reordered_chunks_fail() -> None:
    first = CHUNKED_BODY[: 88 + 65536 + 2]
    second = CHUNKED_BODY[len(first) : len(first) + 86 + 1024 + 2]
    rest = CHUNKED_BODY[len(first) + len(second) :]
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.SignatureDoesNotMatch):
        run(verifier, [second, first, rest])


def test_a_body_cut_short_is_incomplete() -> None:
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.IncompleteBody):
        run(verifier, [CHUNKED_BODY[: 88 + 65536 + 2]])


def test_data_after_the_final_chunk_is_refused() -> None:
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.InvalidRequest):
        run(verifier, [CHUNKED_BODY + b"more"])


def test_a_tampered_signed_trailer_fails() -> None:
    verified = aws_example(TRAILER_HEADERS)
    body = TRAILER_BODY.replace(b"sOO8/Q==", b"AAAAAA==")
    with pytest.raises((errors.BadDigest, errors.SignatureDoesNotMatch)):
        run(payload_verifier(verified, TRAILER_HEADERS), [body])
    forged = TRAILER_BODY.replace(b"d81f82fc", b"e81f82fc")
    with pytest.raises(errors.SignatureDoesNotMatch):
        run(payload_verifier(verified, TRAILER_HEADERS), [forged])
    unsigned = TRAILER_BODY.replace(b"x-amz-trailer-signature:", b"x-amz-other:")
    with pytest.raises(errors.InvalidRequest):
        run(payload_verifier(verified, TRAILER_HEADERS), [unsigned])


def test_the_decoded_length_must_match() -> None:
    headers = {**CHUNKED_HEADERS, "x-amz-decoded-content-length": "66561"}
    with pytest.raises(errors.IncompleteBody):
        run(payload_verifier(aws_example(CHUNKED_HEADERS), headers), [CHUNKED_BODY])
    headers = {**CHUNKED_HEADERS, "x-amz-decoded-content-length": "1000"}
    with pytest.raises(errors.InvalidRequest, match="longer"):
        run(payload_verifier(aws_example(CHUNKED_HEADERS), headers), [CHUNKED_BODY])
    headers = {k: v for k, v in CHUNKED_HEADERS.items() if k != "x-amz-decoded-content-length"}
    with pytest.raises(errors.MissingSecurityHeader):
        payload_verifier(aws_example(CHUNKED_HEADERS), headers)


def test_an_absurd_chunk_size_is_refused_before_its_data() -> None:
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.InvalidRequest, match="exceeds"):
        verifier.feed(b"ffffffffffff;chunk-signature=" + b"0" * 64 + b"\r\n")
    verifier = payload_verifier(aws_example(CHUNKED_HEADERS), CHUNKED_HEADERS)
    with pytest.raises(errors.InvalidRequest, match="too long"):
        verifier.feed(b"1" * 10_000)


def test_a_small_chunk_limit_is_honoured() -> None:
    verified = aws_example(CHUNKED_HEADERS)
    verifier = payload_verifier(verified, CHUNKED_HEADERS, max_chunk_size=1024)
    with pytest.raises(errors.InvalidRequest, match="exceeds"):
        run(verifier, [CHUNKED_BODY])


# -- botocore's own aws-chunked encoder (STREAMING-UNSIGNED-PAYLOAD-TRAILER) ---------


class Crc32cChecksum:
    """CRC32C for botocore's wrapper (botocore's own needs the CRT)."""

    def __init__(self) -> None:
        self._crc = 0

    def update(self, chunk: bytes) -> None:
        self._crc = crc32c(chunk, self._crc)

    def b64digest(self) -> str:
        return base64.b64encode(self._crc.to_bytes(4, "big")).decode()


CHECKSUMS = [
    (Crc32Checksum, "x-amz-checksum-crc32"),
    (Sha256Checksum, "x-amz-checksum-sha256"),
    (Crc32cChecksum, "x-amz-checksum-crc32c"),
]


@pytest.mark.parametrize(("checksum_cls", "name"), CHECKSUMS)
@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_botocore_unsigned_trailer_bodies_verify(
    checksum_cls: type, name: str, data: bytes, cuts: list[int]
) -> None:
    verified, headers, body = unsigned_trailer(data, checksum_cls, name)
    assert run(payload_verifier(verified, headers), split(body, cuts)) == data


def test_sha1_trailers_verify() -> None:
    data = b"hello world"
    verified, headers, _ = unsigned_trailer(data, Crc32Checksum, "x-amz-checksum-sha1")
    digest = base64.b64encode(hashlib.sha1(data).digest())
    body = b"b\r\nhello world\r\n0\r\nx-amz-checksum-sha1:" + digest + b"\r\n\r\n"
    assert run(payload_verifier(verified, headers), [body]) == data


@pytest.mark.parametrize(("checksum_cls", "name"), CHECKSUMS)
def test_a_wrong_trailing_checksum_fails(checksum_cls: type, name: str) -> None:
    data = b"the real data"
    verified, headers, body = unsigned_trailer(data, checksum_cls, name, chunk_size=100)
    tampered = body.replace(b"real", b"fake")
    with pytest.raises(errors.BadDigest):
        run(payload_verifier(verified, headers), [tampered])


def test_a_malformed_trailing_checksum_is_an_invalid_request() -> None:
    verified, headers, body = unsigned_trailer(b"data", Crc32Checksum, "x-amz-checksum-crc32")
    value = base64.b64encode(zlib.crc32(b"data").to_bytes(4, "big"))
    for bad in (b"not base64!", base64.b64encode(b"12345")):
        with pytest.raises(errors.InvalidRequest, match="trailing header is invalid"):
            run(payload_verifier(verified, headers), [body.replace(value, bad)])


def test_a_missing_or_undeclared_trailer_fails() -> None:
    verified, headers, body = unsigned_trailer(b"data", Crc32Checksum, "x-amz-checksum-crc32")
    with pytest.raises(errors.InvalidRequest, match="not sent"):
        run(payload_verifier(verified, headers), [b"4\r\ndata\r\n0\r\n\r\n"])
    other = {**headers, "x-amz-trailer": "x-amz-checksum-sha256"}
    with pytest.raises(errors.InvalidRequest, match="not declared"):
        run(payload_verifier(verified, other), [body])
    with pytest.raises(errors.InvalidRequest, match="not supported"):
        payload_verifier(verified, {**headers, "x-amz-trailer": "x-amz-checksum-md4"})


def test_a_trailer_without_its_final_empty_line_is_accepted_at_the_end() -> None:
    verified, headers, body = unsigned_trailer(b"data", Crc32Checksum, "x-amz-checksum-crc32")
    assert body.endswith(b"\r\n\r\n")
    assert run(payload_verifier(verified, headers), [body[:-2]]) == b"data"


# -- the two simple modes ------------------------------------------------------------


def simple(mode: PayloadMode, sha256: str | None) -> Verified:
    verified, _, _ = unsigned_trailer(b"", Crc32Checksum, "x-amz-checksum-crc32")
    return Verified(**{**verified.__dict__, "payload_mode": mode, "payload_sha256": sha256})


def test_a_declared_sha256_is_checked_at_the_end() -> None:
    data = b"payload bytes"
    verifier = payload_verifier(simple(PayloadMode.SHA256, hashlib.sha256(data).hexdigest()), {})
    assert run(verifier, split(data, [3, 7])) == data
    verifier = payload_verifier(simple(PayloadMode.SHA256, hashlib.sha256(data).hexdigest()), {})
    with pytest.raises(errors.XAmzContentSHA256Mismatch) as caught:
        run(verifier, [data, b"!"])
    assert caught.value.status == 400


def test_an_unsigned_payload_passes_through() -> None:
    assert run(payload_verifier(simple(PayloadMode.UNSIGNED, None), {}), [b"a", b"", b"b"]) == b"ab"


@pytest.mark.parametrize("value", ["²", "-1", "1" * 30, "1e3", ""])
def test_a_decoded_length_that_is_not_a_number_is_invalid_argument(value: str) -> None:
    """Not a 500: "²" passes str.isdigit but not int()."""
    from api.s3.payload import _decoded_length

    with pytest.raises(errors.InvalidArgument):
        _decoded_length(value)
