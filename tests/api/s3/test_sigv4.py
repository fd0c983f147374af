"""SigV4 request verification against requests signed by botocore itself."""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import botocore.crt.auth
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from api.s3 import errors
from api.s3.payload import payload_verifier
from api.s3.sigv4 import PayloadMode, Verified, verify_request

ACCESS_KEY = "AKIDLOCKRTEST"
SECRET = "s3cr3t/with+odd=chars"
REGION = "us-east-1"
SIGNED_AT = datetime.datetime(2026, 3, 14, 15, 9, 26)
NOW = float(calendar.timegm(SIGNED_AT.timetuple()))
HOST = "s3.lockr.test"


@dataclass
class Sent:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@pytest.fixture(autouse=True)
def fixed_signing_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: SIGNED_AT)
    # boto3 signs with the AWS Common Runtime when it is installed (as it is: lockr's
    # CRC32C and CRC64NVME come from it).
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", lambda *a, **k: SIGNED_AT)


def secret_for(access_key_id: str) -> str | None:
    return SECRET if access_key_id == ACCESS_KEY else None


def sent_from(request: AWSRequest) -> Sent:
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = {name: str(value) for name, value in prepared.headers.items()}
    headers.setdefault("Host", url.netloc)
    body = prepared.body if isinstance(prepared.body, bytes) else b""
    return Sent(prepared.method, url.path, url.query, headers, body)


def signed(
    method: str = "GET",
    path: str = "/bucket/key",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    secret: str = SECRET,
    region: str = REGION,
    payload: str | None = None,
) -> Sent:
    """A request signed by botocore; ``payload`` overrides the payload hash it declares
    (botocore itself only declares a hex hash, UNSIGNED-PAYLOAD or the unsigned trailer)."""
    url = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    signer = S3SigV4Auth(Credentials(ACCESS_KEY, secret), "s3", region)
    if payload is not None:
        signer.payload = lambda request: payload  # type: ignore[method-assign]
    signer.add_auth(request)
    return sent_from(request)


def presigned(
    method: str = "GET",
    path: str = "/bucket/key",
    query: str = "",
    *,
    expires: int = 3600,
    headers: dict[str, str] | None = None,
) -> Sent:
    url = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=headers or {})
    S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET), "s3", REGION, expires=expires).add_auth(
        request
    )
    return sent_from(request)


def verify(sent: Sent, *, now: float = NOW, region: str | None = None) -> Verified:
    return verify_request(
        sent.method,
        sent.path,
        sent.query,
        sent.headers,
        secret_for,
        clock=lambda: now,
        region=region,
    )


def key_path(key: str) -> str:
    """The path botocore's serializer builds for a key in path style."""
    return "/bucket/" + quote(key, safe="/~")


KEYS = [
    "plain.txt",
    "with space.txt",
    "ünïcødé/日本語.txt",
    "plus+sign",
    "percent%20literal",
    "tilde~and-dash_dot.",
    "a//double///slashes/",
    "reserved !$&'()*,;=:@[]",
    "#hash?question",
    "trailing space ",
]


@pytest.mark.parametrize("key", KEYS)
def test_keys_signed_by_botocore_verify(key: str) -> None:
    result = verify(signed(path=key_path(key)))
    assert result.access_key_id == ACCESS_KEY
    assert result.region == REGION
    assert result.payload_mode is PayloadMode.SHA256
    assert result.presigned is False


@pytest.mark.parametrize(
    "query",
    [
        "acl",
        "uploads=",
        "list-type=2&prefix=a%20b&delimiter=%2F",
        "prefix=&marker=",
        "tag=b&tag=a&tag=",
        "x-id=PutObject&partNumber=1&uploadId=abc~def",
        "prefix=%E6%97%A5%E6%9C%AC&max-keys=10",
        "key=a%2Bb%25c",
    ],
)
def test_query_strings_verify(query: str) -> None:
    verify(signed(query=query))


def test_a_client_escaping_less_than_s3_still_verifies() -> None:
    """botocore signs the path and query as they appear in the URL."""
    verify(signed(path="/bucket/a!b(c)", query="prefix=a!b"))


def test_several_headers_with_odd_whitespace_verify() -> None:
    sent = signed(
        "PUT",
        key_path("doc.txt"),
        headers={
            "Content-Type": "text/plain;   charset=utf-8",
            "x-amz-meta-mtime": "  1700000000.123456789  ",
            "x-amz-meta-note": "two  spaces\tand tab",
            "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        },
        body=b"hello",
    )
    result = verify(sent)
    assert result.payload_sha256 == sent.headers["X-Amz-Content-SHA256"]


def test_repeated_header_values_are_joined_like_clients_sign_them() -> None:
    sent = signed(headers={"x-amz-meta-a": "1"})
    pairs = [(k, v) for k, v in sent.headers.items()]

    class Repeated(dict[str, str]):
        def items(self) -> Any:
            return pairs

    verify(Sent(sent.method, sent.path, sent.query, Repeated(sent.headers), b""))


def test_region_is_enforced_when_given() -> None:
    verify(signed(), region=REGION)
    with pytest.raises(errors.AuthorizationHeaderMalformed, match="expecting 'eu-west-1'"):
        verify(signed(), region="eu-west-1")


def tampered(sent: Sent, **changes: Any) -> Sent:
    values = {**sent.__dict__, **changes}
    return Sent(**values)


@pytest.mark.parametrize(
    "change",
    [
        {"method": "DELETE"},
        {"path": "/bucket/other"},
        {"query": "prefix=b"},
    ],
)
def test_tampering_with_the_request_line_fails(change: dict[str, str]) -> None:
    sent = signed(query="prefix=a")
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(tampered(sent, **change))


def test_tampering_with_a_signed_header_fails() -> None:
    sent = signed(headers={"x-amz-meta-owner": "alice"})
    sent.headers["x-amz-meta-owner"] = "mallory"
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(sent)


def test_tampering_with_the_payload_hash_fails() -> None:
    sent = signed("PUT", body=b"data")
    sent.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(sent)


def test_tampering_with_the_date_fails() -> None:
    sent = signed()
    sent.headers["X-Amz-Date"] = "20260314T150927Z"
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(sent)


def test_a_wrong_secret_fails_and_the_message_holds_no_secret() -> None:
    with pytest.raises(errors.SignatureDoesNotMatch) as caught:
        verify(signed(secret="not-the-secret"))
    assert SECRET not in str(caught.value)
    assert caught.value.status == 403


def test_an_unknown_access_key_fails() -> None:
    sent = signed()
    sent.headers["Authorization"] = sent.headers["Authorization"].replace(ACCESS_KEY, "NOBODY")
    with pytest.raises(errors.InvalidAccessKeyId):
        verify(sent)


def test_an_unsigned_amz_header_is_refused() -> None:
    sent = signed()
    sent.headers["x-amz-copy-source"] = "/bucket/secret"
    sent.headers["X-Amz-Acl"] = "public-read"
    with pytest.raises(errors.AccessDenied, match="not signed: x-amz-acl, x-amz-copy-source$"):
        verify(sent)


def test_headers_already_by_lowercase_name_are_taken_as_they_are() -> None:
    """As the front passes them (``lowercase``): no second lowering, same verdicts."""
    sent = signed(headers={"X-Amz-Meta-Mtime": "1700000000.5"})
    lowered = {name.lower(): value for name, value in sent.headers.items()}

    def check(headers: dict[str, str]) -> Verified:
        return verify_request(
            sent.method, sent.path, "", headers, secret_for, clock=lambda: NOW, lowercase=True
        )

    assert check(lowered).access_key_id == ACCESS_KEY
    with pytest.raises(errors.SignatureDoesNotMatch):
        check(lowered | {"x-amz-meta-mtime": "1700000001.5"})
    with pytest.raises(errors.AccessDenied, match="not signed: x-amz-tagging$"):
        check(lowered | {"x-amz-tagging": "a=b"})


def test_a_credential_date_other_than_the_request_day_fails() -> None:
    sent = signed()
    sent.headers["Authorization"] = sent.headers["Authorization"].replace(
        "/20260314/", "/20260313/"
    )
    with pytest.raises(errors.AuthorizationHeaderMalformed, match="credential date"):
        verify(sent)


@pytest.mark.parametrize(
    ("replace", "by"),
    [
        ("SignedHeaders=host;", "SignedHeaders="),
        ("/s3/", "/ec2/"),
        ("aws4_request", "aws5_request"),
        ("Signature=", "Signature=zz"),
        ("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 "),
    ],
)
def test_a_malformed_authorization_header_is_refused(replace: str, by: str) -> None:
    sent = signed()
    assert replace in sent.headers["Authorization"]
    sent.headers["Authorization"] = sent.headers["Authorization"].replace(replace, by)
    with pytest.raises(errors.AuthorizationHeaderMalformed) as caught:
        verify(sent)
    assert caught.value.status == 400


def test_sigv2_is_refused_as_unsupported() -> None:
    sent = signed()
    sent.headers["Authorization"] = f"AWS {ACCESS_KEY}:c2lnbmF0dXJl"
    with pytest.raises(errors.InvalidRequest, match="AWS4-HMAC-SHA256"):
        verify(sent)


def test_a_sigv2_presigned_url_is_refused_as_unsupported() -> None:
    """As botocore presigns by default for us-east-1 unless told ``s3v4``."""
    query = "AWSAccessKeyId=AK&Signature=c2ln&Expires=1700000000"
    sent = Sent("GET", "/bucket/key", query, {"Host": HOST}, b"")
    with pytest.raises(errors.InvalidRequest, match="AWS4-HMAC-SHA256"):
        verify(sent)


def test_the_payload_hash_header_is_required_and_checked() -> None:
    sent = signed()
    del sent.headers["X-Amz-Content-SHA256"]
    with pytest.raises(errors.InvalidRequest, match="x-amz-content-sha256"):
        verify(sent)
    sent = signed()
    sent.headers["X-Amz-Content-SHA256"] = "NOT-A-HASH"
    with pytest.raises(errors.InvalidArgument):
        verify(sent)


@pytest.mark.parametrize(
    "mode",
    [
        "UNSIGNED-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    ],
)
def test_declared_payload_modes_are_reported(mode: str) -> None:
    result = verify(signed("PUT", payload=mode))
    assert result.payload_mode.value == mode
    assert result.payload_sha256 is None
    assert len(result.seed_signature) == 64
    assert "signing_key" not in repr(result)


@pytest.mark.parametrize("offset", [-15 * 60, 15 * 60])
def test_fifteen_minutes_of_skew_is_allowed(offset: int) -> None:
    verify(signed(), now=NOW + offset)


@pytest.mark.parametrize("offset", [-15 * 60 - 1, 15 * 60 + 1, 86400])
def test_more_skew_is_refused(offset: int) -> None:
    with pytest.raises(errors.RequestTimeTooSkewed) as caught:
        verify(signed(), now=NOW + offset)
    assert caught.value.status == 403


def test_the_date_header_can_stand_for_x_amz_date() -> None:
    sent = signed(headers={"Date": "placeholder"})
    assert "X-Amz-Date" not in sent.headers
    verify(sent)
    with pytest.raises(errors.RequestTimeTooSkewed):
        verify(sent, now=NOW + 3600)


def test_a_request_without_any_date_is_denied() -> None:
    sent = signed()
    del sent.headers["X-Amz-Date"]
    with pytest.raises(errors.AccessDenied, match="Date"):
        verify(sent)


def test_an_anonymous_request_is_denied() -> None:
    with pytest.raises(errors.AccessDenied):
        verify_request("GET", "/bucket/key", "", {"Host": HOST}, secret_for, clock=lambda: NOW)


# -- presigned URLs ------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_presigned_urls_verify(key: str) -> None:
    result = verify(presigned(path=key_path(key), query="response-content-type=text%2Fplain"))
    assert result.presigned is True
    assert result.payload_mode is PayloadMode.UNSIGNED


def test_a_presigned_put_with_a_signed_header_verifies() -> None:
    sent = presigned("PUT", headers={"x-amz-meta-owner": "alice"})
    verify(sent)
    sent.headers["x-amz-meta-owner"] = "mallory"
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(sent)


def test_a_presigned_url_expires() -> None:
    sent = presigned(expires=60)
    verify(sent, now=NOW + 60)
    with pytest.raises(errors.AccessDenied, match="Request has expired"):
        verify(sent, now=NOW + 61)


def test_a_presigned_url_from_the_future_is_not_valid_yet() -> None:
    with pytest.raises(errors.AccessDenied, match="not valid yet"):
        verify(presigned(), now=NOW - 3600)


def test_a_presigned_url_may_last_a_week_and_no_more() -> None:
    verify(presigned(expires=604800), now=NOW + 604800)
    with pytest.raises(errors.AuthorizationQueryParametersError, match="604800"):
        verify(presigned(expires=604801))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Amz-Signature", "0" * 64),
        ("X-Amz-Expires", "7200"),
        ("X-Amz-Date", "20260314T150000Z"),
        ("response-content-type", "text%2Fhtml"),
    ],
)
def test_tampering_with_a_presigned_parameter_fails(name: str, value: str) -> None:
    sent = presigned(query="response-content-type=text%2Fplain")
    pairs = [pair.partition("=") for pair in sent.query.split("&")]
    sent.query = "&".join(f"{k}={value if k == name else v}" for k, _, v in pairs)
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(sent)


def test_a_presigned_url_missing_a_parameter_is_refused() -> None:
    sent = presigned()
    sent.query = "&".join(p for p in sent.query.split("&") if not p.startswith("X-Amz-Expires"))
    with pytest.raises(errors.AuthorizationQueryParametersError) as caught:
        verify(sent)
    assert caught.value.status == 400


def test_both_auth_mechanisms_at_once_are_refused() -> None:
    sent = presigned()
    sent.headers["Authorization"] = signed().headers["Authorization"]
    with pytest.raises(errors.InvalidArgument):
        verify(sent)


# -- a real boto3 client, its requests caught before they leave ----------------------


class _Raw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


@pytest.fixture
def captured() -> Iterator[tuple[Any, list[Sent]]]:
    sent: list[Sent] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        headers = {
            name: value.decode() if isinstance(value, bytes) else str(value)
            for name, value in request.headers.items()
        }
        if not any(name.lower() == "host" for name in headers):  # the CRT signer sets one
            headers["Host"] = url.netloc
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        sent.append(Sent(request.method, url.path, url.query, headers, body or b""))
        return AWSResponse(request.url, 200, {}, _Raw())

    client = boto3.client(
        "s3",
        endpoint_url=f"https://{HOST}",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    client.meta.events.register("before-send.s3", capture)
    yield client, sent
    client.close()


def test_boto3_calls_verify(captured: tuple[Any, list[Sent]]) -> None:
    client, sent = captured
    client.list_objects(Bucket="bucket", Prefix="a b/ü", Delimiter="/")
    client.head_object(Bucket="bucket", Key="dir/with space+plus%~.txt")
    client.delete_object(Bucket="bucket", Key="ünï/cødé")
    client.put_object(Bucket="bucket", Key="k", Body=b"x" * 10, Metadata={"mtime": "1.5"})
    assert len(sent) == 4
    modes = [verify(one).payload_mode for one in sent]
    assert modes[-1] is PayloadMode.STREAMING_UNSIGNED_TRAILER
    put = sent[-1]
    verifier = payload_verifier(verify(put), put.headers)
    assert b"".join(verifier.feed(put.body)) == b"x" * 10
    verifier.finish()


def test_boto3_presigned_urls_verify(captured: tuple[Any, list[Sent]]) -> None:
    client, _ = captured
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "a b/ü+~"}, ExpiresIn=300
    )
    parts = urlsplit(url)
    sent = Sent("GET", parts.path, parts.query, {"Host": parts.netloc}, b"")
    assert verify(sent).presigned
    with pytest.raises(errors.AccessDenied, match="expired"):
        verify(sent, now=NOW + 301)
