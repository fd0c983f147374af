"""Checking an S3 request body while it streams, as its ``x-amz-content-sha256`` declared.

``payload_verifier(verified, headers)`` picks the check for a verified request:

- a hex SHA-256: the body is hashed; ``finish`` raises ``XAmzContentSHA256Mismatch``;
- ``UNSIGNED-PAYLOAD``: nothing to check;
- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``: the aws-chunked body is decoded and
  every chunk signature checked, chained from the seed signature, then the trailing
  checksum and its signature when there is a trailer;
- ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: the aws-chunked body is decoded and the
  trailing ``x-amz-checksum-*`` named by ``x-amz-trailer`` checked.

Every verifier has the same two calls. ``feed(data)`` takes the bytes as they arrive,
split anywhere, and returns the payload bytes they complete (possibly none). Those
bytes are not yet vouched for: a chunk's signature is checked at the chunk's end, the
checksums and lengths at ``finish()``. The caller MUST therefore write them somewhere
provisional (a temporary file) and MUST NOT commit the object until ``finish()``
returns. Memory stays bounded: nothing is buffered but one chunk header or trailer
line, and chunk sizes above ``max_chunk_size`` are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Protocol

from api.s3.checksums import SUPPORTED, Checksum, check_checksum, new_checksum
from api.s3.errors import (
    IncompleteBody,
    InvalidArgument,
    InvalidRequest,
    MissingSecurityHeader,
    SignatureDoesNotMatch,
    XAmzContentSHA256Mismatch,
)
from api.s3.sigv4 import EMPTY_SHA256, PayloadMode, Verified, sign
from gateway.numbers import whole_number_or_none

MAX_CHUNK_SIZE = 64 * 1024 * 1024
MAX_LINE = 4096
MAX_TRAILER_LINES = 16
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE = re.compile(rb"[0-9a-f]{64}")


class PayloadVerifier(Protocol):
    """Checks one request body; see the module's docstring for the contract."""

    def feed(self, data: bytes) -> list[bytes]: ...

    def finish(self) -> None: ...

    @property
    def trailing(self) -> tuple[str, str] | None:
        """The trailing checksum's header and value, once :meth:`finish` returned."""
        ...


def payload_verifier(
    verified: Verified, headers: Mapping[str, str], *, max_chunk_size: int = MAX_CHUNK_SIZE
) -> PayloadVerifier:
    """The verifier for a request's body, from its verified signature and its headers
    (``x-amz-decoded-content-length`` and ``x-amz-trailer`` are read here)."""
    mode = verified.payload_mode
    if mode is PayloadMode.UNSIGNED:
        return UnsignedPayload()
    if mode is PayloadMode.SHA256:
        assert verified.payload_sha256 is not None
        return Sha256Payload(verified.payload_sha256)
    lowered = {name.lower(): value for name, value in headers.items()}
    decoded_length = _decoded_length(lowered.get("x-amz-decoded-content-length"))
    if decoded_length is None and mode is not PayloadMode.STREAMING_UNSIGNED_TRAILER:
        raise MissingSecurityHeader(
            "Your request was missing a required header: x-amz-decoded-content-length"
        )
    trailer = None
    if mode in (PayloadMode.STREAMING_SIGNED_TRAILER, PayloadMode.STREAMING_UNSIGNED_TRAILER):
        trailer = _trailer_name(lowered.get("x-amz-trailer"))
    chain = None
    if mode is not PayloadMode.STREAMING_UNSIGNED_TRAILER:
        chain = ChunkChain(
            verified.signing_key, verified.timestamp, verified.scope, verified.seed_signature
        )
    return AwsChunkedDecoder(
        chain=chain,
        trailer=trailer,
        decoded_length=decoded_length,
        max_chunk_size=max_chunk_size,
    )


class UnsignedPayload:
    """``UNSIGNED-PAYLOAD``: the body passes through unchecked."""

    trailing = None

    def feed(self, data: bytes) -> list[bytes]:
        return [data] if data else []

    def finish(self) -> None:
        return None


class Sha256Payload:
    """A body whose hex SHA-256 was declared (and signed) up front."""

    trailing = None

    def __init__(self, expected_hex: str) -> None:
        self._expected = expected_hex
        self._hash = hashlib.sha256()

    def feed(self, data: bytes) -> list[bytes]:
        self._hash.update(data)
        return [data] if data else []

    def finish(self) -> None:
        if not hmac.compare_digest(self._hash.hexdigest(), self._expected):
            raise XAmzContentSHA256Mismatch()


class ChunkChain:
    """The chain of chunk signatures of a signed aws-chunked body.

    Each chunk's signature signs its data's SHA-256 and the previous signature
    (the request's own signature for the first chunk); the trailer's signature signs
    the trailing headers and the final (empty) chunk's signature.
    """

    def __init__(self, key: bytes, timestamp: str, scope: str, seed_signature: str) -> None:
        self._key = key
        self._prefix = f"\n{timestamp}\n{scope}\n"
        self.previous = seed_signature

    def verify_chunk(self, data_sha256_hex: str, signature: str) -> None:
        text = (
            f"AWS4-HMAC-SHA256-PAYLOAD{self._prefix}{self.previous}\n"
            f"{EMPTY_SHA256}\n{data_sha256_hex}"
        )
        self._verify(text, signature)

    def verify_trailer(self, canonical_trailer: bytes, signature: str) -> None:
        digest = hashlib.sha256(canonical_trailer).hexdigest()
        self._verify(f"AWS4-HMAC-SHA256-TRAILER{self._prefix}{self.previous}\n{digest}", signature)

    def _verify(self, text: str, signature: str) -> None:
        if not hmac.compare_digest(sign(self._key, text), signature):
            raise SignatureDoesNotMatch()
        self.previous = signature


class AwsChunkedDecoder:
    """An incremental decoder of ``Content-Encoding: aws-chunked`` bodies.

    ``chain`` is None for the unsigned variant; ``trailer`` is the one trailing
    checksum header declared by ``x-amz-trailer``, if any; ``decoded_length`` is
    ``x-amz-decoded-content-length``, when sent.
    """

    def __init__(
        self,
        *,
        chain: ChunkChain | None,
        trailer: str | None,
        decoded_length: int | None,
        max_chunk_size: int = MAX_CHUNK_SIZE,
    ) -> None:
        self._chain = chain
        self._trailer = trailer
        self._checksum: Checksum | None = new_checksum(trailer) if trailer else None
        self._decoded_length = decoded_length
        self._max_chunk_size = max_chunk_size
        self._line = bytearray()
        self._state = "header"
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._received = 0
        self._trailers: list[tuple[str, str]] = []
        self._canonical_trailer = bytearray()
        self._trailer_signature: str | None = None
        self._trailing: tuple[str, str] | None = None

    @property
    def trailing(self) -> tuple[str, str] | None:
        return self._trailing

    @property
    def received(self) -> int:
        """Payload bytes decoded so far."""
        return self._received

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        position = 0
        size = len(data)
        while position < size:
            if self._state == "data":
                end = min(size, position + self._remaining)
                piece = data[position:end]
                position = end
                self._take(piece)
                out.append(piece)
                if self._remaining == 0:
                    self._end_of_chunk_data()
                continue
            if self._state == "done":
                raise InvalidRequest("Unexpected data after the end of the aws-chunked body.")
            newline = data.find(b"\n", position)
            end = size if newline < 0 else newline
            if len(self._line) + end - position > MAX_LINE:
                raise InvalidRequest("An aws-chunked header or trailer line is too long.")
            self._line += data[position:end]
            if newline < 0:
                break
            position = newline + 1
            line = bytes(self._line).removesuffix(b"\r")
            self._line.clear()
            self._on_line(line)
        return out

    def finish(self) -> None:
        lenient_end = self._state == "trailer" and not self._line and bool(self._trailers)
        if self._state != "done" and not lenient_end:
            raise IncompleteBody("The aws-chunked body ended before its final chunk.")
        self._state = "done"
        if self._trailer is not None:
            values = [value for name, value in self._trailers if name == self._trailer]
            if not values:
                raise InvalidRequest(f"The trailing header {self._trailer} was not sent.")
            assert self._checksum is not None
            check_checksum(self._trailer, self._checksum, values[0], trailing=True)
        if self._chain is not None and self._trailer is not None:
            if self._trailer_signature is None:
                raise SignatureDoesNotMatch("The trailer signature is missing.")
            self._chain.verify_trailer(bytes(self._canonical_trailer), self._trailer_signature)
        if self._decoded_length is not None and self._received != self._decoded_length:
            raise IncompleteBody(
                f"The body holds {self._received} bytes; x-amz-decoded-content-length "
                f"says {self._decoded_length}."
            )
        if self._trailer is not None:
            self._trailing = (self._trailer, values[0].strip())

    # -- states ---------------------------------------------------------------------

    def _on_line(self, line: bytes) -> None:
        if self._state == "header":
            self._on_chunk_header(line)
        elif self._state == "crlf":
            if line:
                raise InvalidRequest("An aws-chunked chunk is longer than its declared size.")
            self._state = "header"
        else:
            self._on_trailer_line(line)

    def _on_chunk_header(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        size_text = size_text.strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise InvalidRequest("An aws-chunked chunk header is malformed.")
        size = int(size_text, 16)
        if size > self._max_chunk_size:
            raise InvalidRequest(
                f"An aws-chunked chunk of {size} bytes exceeds the limit of {self._max_chunk_size}."
            )
        if self._decoded_length is not None and self._received + size > self._decoded_length:
            raise InvalidRequest("The body is longer than x-amz-decoded-content-length.")
        if self._chain is not None:
            name, _, signature = extension.strip().partition(b"=")
            if name != b"chunk-signature" or not _SIGNATURE.fullmatch(signature):
                raise SignatureDoesNotMatch("An aws-chunked chunk has no valid chunk-signature.")
            self._chunk_signature = signature.decode()
            self._chunk_hash = hashlib.sha256()
        self._remaining = size
        if size:
            self._state = "data"
        else:
            self._end_of_chunk_data()
            self._state = "trailer"

    def _take(self, piece: bytes) -> None:
        self._remaining -= len(piece)
        self._received += len(piece)
        if self._chain is not None:
            self._chunk_hash.update(piece)
        if self._checksum is not None:
            self._checksum.update(piece)

    def _end_of_chunk_data(self) -> None:
        if self._chain is not None:
            self._chain.verify_chunk(self._chunk_hash.hexdigest(), self._chunk_signature)
        self._state = "crlf"

    def _on_trailer_line(self, line: bytes) -> None:
        if not line:
            self._state = "done"
            return
        if len(self._trailers) >= MAX_TRAILER_LINES:
            raise InvalidRequest("Too many trailing headers.")
        name_bytes, sep, value_bytes = line.partition(b":")
        try:
            name = name_bytes.strip().decode("ascii").lower()
            value = value_bytes.strip().decode("ascii")
        except UnicodeDecodeError:
            raise InvalidRequest("A trailing header is not ASCII.") from None
        if not sep or not name:
            raise InvalidRequest("A trailing header is malformed.")
        if name == "x-amz-trailer-signature" and self._chain is not None:
            if self._trailer_signature is not None:
                raise InvalidRequest("The trailer signature is sent twice.")
            self._trailer_signature = value
            return
        seen = any(seen_name == name for seen_name, _ in self._trailers)
        if name != self._trailer or seen or self._trailer_signature is not None:
            raise InvalidRequest(f"The trailing header {name!r} was not declared in x-amz-trailer.")
        self._trailers.append((name, value))
        self._canonical_trailer += f"{name}:{value}\n".encode("ascii")


def _decoded_length(value: str | None) -> int | None:
    if value is None:
        return None
    length = whole_number_or_none(value.strip())
    if length is None:
        raise InvalidArgument("x-amz-decoded-content-length must be a non-negative integer.")
    return length


def _trailer_name(value: str | None) -> str:
    if value is None or not value.strip():
        raise InvalidRequest("A STREAMING-...-TRAILER payload needs an x-amz-trailer header.")
    name = value.strip().lower()
    if name not in SUPPORTED:
        raise InvalidRequest("The value specified in the x-amz-trailer header is not supported")
    return name
