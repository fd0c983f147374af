"""AWS Signature Version 4 for S3: checks a request's ``Authorization`` header or its
presigned query string, the way S3 does.

Pure: no web framework. A front passes the method, the raw (still percent-encoded)
path, the raw query string, the headers, a ``secret_for(access_key_id)`` lookup and a
clock; it gets back a ``Verified`` or one of the ``s3.errors``. The body is checked
afterwards, while it streams, by ``s3.payload.payload_verifier(verified, headers)``.

The canonical request is rebuilt as S3 clients (botocore, the Go and Java SDKs) build
it: each path segment percent-encoded once with the RFC 3986 unreserved set kept and
``/`` kept (no dot-segment removal), query pairs percent-encoded the same way and sorted,
header values trimmed with inner whitespace runs collapsed, and ``x-amz-content-sha256``
as the payload hash.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

from api.s3.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    RequestTimeTooSkewed,
    S3Error,
    SignatureDoesNotMatch,
)
from gateway.clock import Clock, system_clock
from gateway.numbers import whole_number_or_none

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
TERMINATOR = "aws4_request"
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNRESERVED = "-_.~"
SIGNING_KEYS_CACHED = 256

SecretLookup = Callable[[str], "str | None"]

_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_HEADER_NAME = r"[a-z0-9!#$%&'*+.^_`|~-]+"
_HEADER_NAMES = re.compile(rf"{_HEADER_NAME}(?:;{_HEADER_NAME})*")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.~-]*")
"""A path whose canonical form is itself: only unreserved characters and ``/``."""
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


class PayloadMode(enum.Enum):
    """What ``x-amz-content-sha256`` declares about the body."""

    SHA256 = "sha256"
    UNSIGNED = "UNSIGNED-PAYLOAD"
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    @property
    def streaming(self) -> bool:
        return self.value.startswith("STREAMING-")


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked out.

    ``signing_key`` and ``seed_signature`` let the payload checks chain the chunk
    signatures of an aws-chunked body; ``payload_sha256`` is the declared hex digest
    when ``payload_mode`` is ``SHA256``, else None.
    """

    access_key_id: str
    region: str
    timestamp: str
    scope: str
    signing_key: bytes = field(repr=False)
    seed_signature: str
    payload_mode: PayloadMode
    payload_sha256: str | None
    presigned: bool


def verify_request(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    secret_for: SecretLookup,
    *,
    clock: Clock = system_clock,
    region: str | None = None,
    lowercase: bool = False,
) -> Verified:
    """Check a request signed either way: an ``Authorization: AWS4-HMAC-SHA256 ...``
    header, or a presigned URL's ``X-Amz-*`` query parameters.

    ``raw_path`` and ``query_string`` MUST be as received (percent-encoded, without
    the ``?``). ``headers`` MAY repeat a name in ``items()``; repeated values are
    joined with commas, as clients sign them. When ``region`` is given, the
    credential scope MUST name it. A request with no signature at all raises
    ``AccessDenied``: a front that serves anonymous requests decides that before.

    A presigned URL's payload is ``UNSIGNED-PAYLOAD`` unless the URL itself carries
    ``X-Amz-Content-Sha256``; its signature is valid from ``X-Amz-Date`` (give or take
    the allowed skew) for ``X-Amz-Expires`` seconds.

    With ``lowercase``, ``headers`` MUST already be by lowercase name, each name
    once, repeated values joined with commas (as :func:`api.s3.app.request_headers`
    gives them): they are used as they are.
    """
    pairs = _query_pairs(query_string) if query_string else []
    names = {name for name, _ in pairs}
    lowered = headers if lowercase else _lower_headers(headers)
    request = _Request(method, raw_path, query_string, lowered)
    if "X-Amz-Algorithm" in names or "X-Amz-Signature" in names:
        if "authorization" in lowered:
            raise InvalidArgument("Only one auth mechanism allowed")
        return _verify_presigned(request, pairs, secret_for, clock=clock, region=region)
    if "authorization" in lowered:
        return _verify_authorization(request, secret_for, clock=clock, region=region)
    if "AWSAccessKeyId" in names and "Signature" in names:
        raise _unsupported()  # a SigV2 presigned URL
    raise AccessDenied()


@dataclass(frozen=True)
class _Request:
    """The parts of a request a signature covers: the method, the raw path and query
    string, and the headers by lowercase name."""

    method: str
    raw_path: str
    query_string: str
    lowered: Mapping[str, str]


def _verify_authorization(
    request: _Request, secret_for: SecretLookup, *, clock: Clock, region: str | None
) -> Verified:
    lowered = request.lowered
    fields = _parse_authorization(lowered["authorization"])
    access_key, scope_date, scope_region = _parse_credential(
        fields["Credential"], AuthorizationHeaderMalformed
    )
    signed = _parse_signed_headers(fields["SignedHeaders"], AuthorizationHeaderMalformed)
    signature = fields["Signature"]
    if not _HEX_SHA256.fullmatch(signature):
        raise AuthorizationHeaderMalformed("The signature is not a lowercase hex SHA-256 HMAC.")

    payload_hash = lowered.get("x-amz-content-sha256")
    if payload_hash is None:
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    mode = _payload_mode(payload_hash)  # a bad value is refused before any lookup

    timestamp, when = _header_timestamp(lowered)
    if scope_date != timestamp[:8]:
        raise AuthorizationHeaderMalformed(
            "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    _check_region(scope_region, region, AuthorizationHeaderMalformed)
    if abs(clock() - when) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed()
    _check_all_amz_headers_signed(lowered, signed, exempt=())

    claim = _Claim(
        access_key, scope_date, scope_region, timestamp, signed, signature, payload_hash, mode
    )
    return _check_claim(claim, request, secret_for, presigned=False)


def _verify_presigned(
    request: _Request,
    pairs: list[tuple[str, str]],
    secret_for: SecretLookup,
    *,
    clock: Clock,
    region: str | None,
) -> Verified:
    error = AuthorizationQueryParametersError
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params and name.startswith("X-Amz-"):
            raise error(f"The {name} parameter is given more than once.")
        params.setdefault(name, value)
    missing = [name for name in _PRESIGN_PARAMS if name not in params]
    if missing:
        raise error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    access_key, scope_date, scope_region = _parse_credential(params["X-Amz-Credential"], error)
    signed = _parse_signed_headers(params["X-Amz-SignedHeaders"], error)
    signature = params["X-Amz-Signature"]
    if not _HEX_SHA256.fullmatch(signature):
        raise error("X-Amz-Signature is not a lowercase hex SHA-256 HMAC.")
    timestamp = params["X-Amz-Date"]
    when = _parse_amz_date(timestamp, error)
    expires = whole_number_or_none(params["X-Amz-Expires"])
    if expires is None:
        raise error("X-Amz-Expires should be a number")
    if expires > MAX_PRESIGNED_EXPIRES:
        raise error(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"
        )
    if scope_date != timestamp[:8]:
        raise error("Invalid credential date. Date is not the same as X-Amz-Date.")
    _check_region(scope_region, region, error)
    payload_hash = params.get("X-Amz-Content-Sha256", PayloadMode.UNSIGNED.value)
    mode = _payload_mode(payload_hash)
    if mode.streaming:
        raise InvalidRequest("A presigned request cannot carry a streaming payload.")
    now = clock()
    if when - now > MAX_SKEW_SECONDS:
        raise AccessDenied("Request is not valid yet")
    if now > when + expires:
        raise AccessDenied("Request has expired")
    _check_all_amz_headers_signed(request.lowered, signed, exempt=("x-amz-content-sha256",))

    claim = _Claim(
        access_key, scope_date, scope_region, timestamp, signed, signature, payload_hash, mode
    )
    return _check_claim(claim, request, secret_for, presigned=True)


# -- the canonical forms ------------------------------------------------------------


def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """The key derived from a secret for one day, region and service."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, TERMINATOR)


def credential_scope(date: str, region: str, service: str = SERVICE) -> str:
    return f"{date}/{region}/{service}/{TERMINATOR}"


def canonical_uri(raw_path: str) -> str:
    """S3's canonical URI: every segment decoded, then percent-encoded once."""
    if _PLAIN_PATH.fullmatch(raw_path):
        return raw_path  # nothing to decode or encode
    return "/".join(
        quote(unquote_to_bytes(segment), safe=UNRESERVED) for segment in raw_path.split("/")
    )


def canonical_query_string(query_string: str, *, exclude: Iterable[str] = ()) -> str:
    """Pairs decoded, re-encoded with the unreserved set, sorted by name then value.

    Only ``%XX`` escapes are decoded: a ``+`` is a literal plus, as S3 clients mean it.
    """
    if not query_string:
        return ""
    skip = set(exclude)
    pairs = sorted(
        (
            quote(unquote_to_bytes(name), safe=UNRESERVED),
            quote(unquote_to_bytes(value), safe=UNRESERVED),
        )
        for name, value in _raw_query_pairs(query_string)
        if _decode(name) not in skip
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_headers(lowered: Mapping[str, str], signed: list[str]) -> str:
    """``name:value`` lines (each ending in a newline) for the signed headers, in order.

    ``lowered`` maps lowercase names to values; a signed header that is absent counts
    as empty, which no honest client produces, so the signature then fails.
    """
    return "".join(f"{name}:{' '.join(lowered.get(name, '').split())}\n" for name in signed)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    header_block: str,
    signed: list[str],
    payload_hash: str,
) -> str:
    return "\n".join([method.upper(), uri, query, header_block, ";".join(signed), payload_hash])


def string_to_sign(timestamp: str, scope: str, request: str) -> str:
    digest = hashlib.sha256(request.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def sign(key: bytes, text: str) -> str:
    """The hex HMAC-SHA256 of ``text`` under a derived signing key."""
    return hmac.digest(key, text.encode(), "sha256").hex()


# -- helpers ------------------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.digest(key, text.encode(), "sha256")


def _decode(text: str) -> str:
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def _raw_query_pairs(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query_string.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((name, value))
    return pairs


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    return [(_decode(name), _decode(value)) for name, value in _raw_query_pairs(query_string)]


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    return lowered


def _candidates(
    raw_path: str, query_string: str, *, exclude: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    """The canonical URI and query string: S3's encoding first; then, lazily, the path
    and the pairs exactly as sent, for a client that signed its own (different but
    equivalent) escaping of the same request line, as botocore does."""
    uri = canonical_uri(raw_path or "/")
    query = canonical_query_string(query_string, exclude=exclude)
    yield uri, query
    raw_query = "&".join(
        f"{name}={value}"
        for name, value in sorted(_raw_query_pairs(query_string))
        if _decode(name) not in exclude
    )
    queries = [query] + ([raw_query] if raw_query != query else [])
    if raw_query != query:
        yield uri, raw_query
    if raw_path and raw_path != uri:
        for candidate_query in queries:
            yield raw_path, candidate_query


def _unsupported() -> InvalidRequest:
    """What a Signature Version 2 request gets, in the header or the query."""
    return InvalidRequest(
        f"The authorization mechanism you have provided is not supported. Please use {ALGORITHM}."
    )


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        if algorithm == "AWS":
            raise _unsupported()
        raise AuthorizationHeaderMalformed(f"The authorization header must start with {ALGORITHM}.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if not sep or name in fields:
            raise AuthorizationHeaderMalformed()
        fields[name] = field_value.strip()
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise AuthorizationHeaderMalformed(
            "The authorization header needs exactly Credential, SignedHeaders and Signature."
        )
    return fields


def _parse_credential(value: str, error: type[S3Error]) -> tuple[str, str, str]:
    parts = value.split("/")
    if len(parts) != 5 or not parts[0] or not parts[2]:
        raise error(
            "The credential is malformed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    access_key, date, scope_region, service, terminator = parts
    if not (len(date) == 8 and date.isdigit()):
        raise error(f"Invalid credential date {date!r}; expecting YYYYMMDD.")
    if service != SERVICE:
        raise error(f"The credential is scoped to the service {service!r}; expecting 's3'.")
    if terminator != TERMINATOR:
        raise error(f"The credential's terminator is {terminator!r}; expecting 'aws4_request'.")
    return access_key, date, scope_region


def _parse_signed_headers(value: str, error: type[S3Error]) -> list[str]:
    if not _HEADER_NAMES.fullmatch(value):
        raise error("SignedHeaders must be lowercase header names separated by ';'.")
    names = value.split(";")
    if len(set(names)) != len(names):
        raise error("SignedHeaders must be lowercase header names separated by ';'.")
    if "host" not in names:
        raise error("SignedHeaders must include 'host'.")
    return names


def _payload_mode(payload_hash: str) -> PayloadMode:
    if _HEX_SHA256.fullmatch(payload_hash):
        return PayloadMode.SHA256
    try:
        mode = PayloadMode(payload_hash)
    except ValueError:
        raise InvalidArgument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING- mode, "
            "or a valid sha256 value."
        ) from None
    if mode is PayloadMode.SHA256:
        raise InvalidArgument("x-amz-content-sha256 must be a valid sha256 value.")
    return mode


def _parse_amz_date(value: str, error: type[S3Error]) -> float:
    if not _TIMESTAMP.fullmatch(value):
        raise error(f"X-Amz-Date must be in the ISO8601 basic format; got {value[:32]!r}.")
    seconds = _amz_seconds(value)
    if seconds is None:
        raise error(f"X-Amz-Date is not a valid date: {value!r}.")
    return seconds


@functools.lru_cache(maxsize=64)
def _amz_seconds(value: str) -> float | None:
    """The moment a well-formed ``YYYYMMDDTHHMMSSZ`` names, ``None`` for no date; kept
    for the few moments a busy client signs with in a row."""
    try:
        moment = datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return moment.timestamp()


def _header_timestamp(lowered: Mapping[str, str]) -> tuple[str, float]:
    """The signing timestamp: ``x-amz-date``, else the ``Date`` header."""
    denied = "AWS authentication requires a valid Date or x-amz-date header"
    amz_date = lowered.get("x-amz-date")
    if amz_date is not None:
        if not _TIMESTAMP.fullmatch(amz_date):
            raise AccessDenied(denied)
        return amz_date, _parse_amz_date(amz_date, AccessDenied)
    date = lowered.get("date")
    if date is None:
        raise AccessDenied(denied)
    try:
        moment = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise AccessDenied(denied) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), moment.timestamp()


def _check_region(scope_region: str, expected: str | None, error: type[S3Error]) -> None:
    if expected is not None and scope_region != expected:
        raise error(f"the region '{scope_region}' is wrong; expecting '{expected}'")


def _check_all_amz_headers_signed(
    lowered: Mapping[str, str], signed: list[str], *, exempt: Iterable[str]
) -> None:
    unsigned = [
        n for n in lowered if n.startswith("x-amz-") and n not in signed and n not in exempt
    ]
    if unsigned:
        unsigned.sort()
        raise AccessDenied(
            "There were headers present in the request which were not signed: "
            + ", ".join(unsigned)
        )


def _signing_key_for(
    secret_for: SecretLookup, access_key: str, date: str, scope_region: str
) -> bytes:
    secret = secret_for(access_key)
    if secret is None:
        raise InvalidAccessKeyId()
    return _cached_signing_key(secret, date, scope_region)


_cached_signing_key = functools.lru_cache(maxsize=SIGNING_KEYS_CACHED)(signing_key)
"""The key of a (secret, day, region): four HMACs a request saved, for each client
signing all day with the same key. Reached only through a secret just looked up, so
a revoked key's entry is never used again."""


@dataclass(frozen=True)
class _Claim:
    """What a request says about its own signature, once parsed."""

    access_key: str
    date: str
    region: str
    timestamp: str
    signed: list[str]
    signature: str
    payload_hash: str
    payload_mode: PayloadMode


def _check_claim(
    claim: _Claim, request: _Request, secret_for: SecretLookup, *, presigned: bool
) -> Verified:
    key = _signing_key_for(secret_for, claim.access_key, claim.date, claim.region)
    scope = credential_scope(claim.date, claim.region)
    header_block = canonical_headers(request.lowered, claim.signed)
    exclude = ("X-Amz-Signature",) if presigned else ()
    for uri, query in _candidates(request.raw_path, request.query_string, exclude=exclude):
        text = canonical_request(
            request.method, uri, query, header_block, claim.signed, claim.payload_hash
        )
        expected = sign(key, string_to_sign(claim.timestamp, scope, text))
        if hmac.compare_digest(expected, claim.signature):
            break
    else:
        raise SignatureDoesNotMatch()
    mode = claim.payload_mode
    return Verified(
        access_key_id=claim.access_key,
        region=claim.region,
        timestamp=claim.timestamp,
        scope=scope,
        signing_key=key,
        seed_signature=claim.signature,
        payload_mode=mode,
        payload_sha256=claim.payload_hash if mode is PayloadMode.SHA256 else None,
        presigned=presigned,
    )
