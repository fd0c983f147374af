"""Every check of a request body, made while it streams: its payload signature or
hash (:mod:`api.s3.payload`), the ``x-amz-checksum-*`` headers (:mod:`api.s3.checksums`;
a trailing one is the payload verifier's) and ``Content-MD5``.

The contract is the payload verifier's: :meth:`CheckedBody.feed` returns the payload
bytes a block completes, which are not vouched for until :meth:`CheckedBody.finish`
returns, so a caller MUST NOT act on them (commit an object, delete keys) before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping

from starlette.requests import Request

from api.s3.checksums import (
    BY_HEADER,
    FULL_OBJECT,
    PREFIX,
    SUPPORTED,
    TYPE_HEADER,
    Algorithm,
    Checksum,
    algorithm_named,
    check_checksum,
    encode,
    new_checksum,
)
from api.s3.errors import BadDigest, IncompleteBody, InvalidDigest, InvalidRequest, S3Error
from api.s3.payload import payload_verifier
from api.s3.sigv4 import PayloadMode, Verified
from api.transfer import declared_length, pump
from gateway.numbers import whole_number_or_none

_NOT_A_CHECKSUM = frozenset((TYPE_HEADER, "x-amz-checksum-algorithm", "x-amz-checksum-mode"))


def content_md5(value: str | None) -> str | None:
    """The hex digest a ``Content-MD5`` header gives; ``InvalidDigest`` if malformed."""
    if value is None:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest() from None
    if len(digest) != 16:
        raise InvalidDigest()
    return digest.hex()


class CheckedBody:
    """The checks of one request body. With ``hash_md5``, a ``Content-MD5`` is
    checked against an MD5 computed here; without, the caller gives the body's MD5
    to :meth:`finish` (an upload computes one anyway). With ``compute``, a body sent
    without a checksum gets one of that algorithm, computed as it streams (and
    answered as if sent); with ``also``, a checksum of that algorithm is kept besides
    whatever was sent (:attr:`also_checksum`), computed unless the one sent is of
    it. Either is computed in the pass that checks the body, never by reading it
    again."""

    def __init__(
        self,
        verified: Verified,
        headers: Mapping[str, str],
        *,
        hash_md5: bool,
        compute: Algorithm | None = None,
        also: Algorithm | None = None,
    ) -> None:
        self._headers = headers
        self._verifier = payload_verifier(verified, headers)
        self._mode = verified.payload_mode
        self.expected_md5 = content_md5(headers.get("content-md5"))
        self._md5 = hashlib.md5() if hash_md5 and self.expected_md5 is not None else None
        self.checksums: dict[str, Checksum] = {
            name: new_checksum(name) for name in SUPPORTED if name in headers
        }
        unknown = [
            name for name in headers if name.startswith(PREFIX) and name not in _NOT_A_CHECKSUM
        ]
        if any(name not in SUPPORTED for name in unknown):
            raise InvalidRequest(
                "The algorithm type you specified in x-amz-checksum- header is invalid."
            )
        trailer = headers.get("x-amz-trailer", "").strip().lower() if self.trailing else ""
        sent = set(self.checksums) | ({trailer} if trailer else set())
        if len(sent) > 1:
            raise InvalidRequest(
                "Expecting a single x-amz-checksum- header. "
                "Multiple checksum Types are not allowed."
            )
        self.algorithm = BY_HEADER.get(next(iter(sent))) if sent else None
        sdk = headers.get("x-amz-sdk-checksum-algorithm")
        if sdk is not None and (self.algorithm is None or algorithm_named(sdk) != self.algorithm):
            raise InvalidRequest(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                "or x-amz-trailer headers were found."
            )
        # A checksum nobody sent, to be computed (a part of an upload that has one).
        self._computed: Checksum | None = None
        if compute is not None and self.algorithm is None:
            self._computed = compute.new()
            self.algorithm = compute
        self._also = also
        self._also_running = None if also is None or also == self.algorithm else also.new()
        self._value: str | None = None
        self._also_value: str | None = None

    @property
    def trailing(self) -> bool:
        return self._mode in (
            PayloadMode.STREAMING_SIGNED_TRAILER,
            PayloadMode.STREAMING_UNSIGNED_TRAILER,
        )

    @property
    def has_checksum(self) -> bool:
        """Whether the request gives a checksum of its body: ``Content-MD5``, an
        ``x-amz-checksum-*`` header or a trailing one."""
        return self.expected_md5 is not None or bool(self.checksums) or self.trailing

    def feed(self, data: bytes) -> list[bytes]:
        """The payload bytes ``data`` (bytes as they arrive) completes."""
        pieces = self._verifier.feed(data)
        for piece in pieces:
            for checksum in self.checksums.values():
                checksum.update(piece)
            if self._computed is not None:
                self._computed.update(piece)
            if self._also_running is not None:
                self._also_running.update(piece)
            if self._md5 is not None:
                self._md5.update(piece)
        return pieces

    def finish(self, md5: str | None = None) -> None:
        """Check everything once the body has ended; ``md5`` is the body's hex MD5
        when this does not compute it."""
        self._verifier.finish()
        for name, checksum in self.checksums.items():
            check_checksum(name, checksum, self._headers[name])
            self._value = self._headers[name].strip()
        if self._verifier.trailing is not None:
            self._value = self._verifier.trailing[1]
        if self._computed is not None:
            self._value = encode(self._computed.digest())
        if self._also is not None:
            running = self._also_running
            self._also_value = self._value if running is None else encode(running.digest())
        if self._md5 is not None:
            md5 = self._md5.hexdigest()
        if self.expected_md5 is not None and md5 != self.expected_md5:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")

    @property
    def also_checksum(self) -> str | None:
        """The body's checksum (base64) of the ``also`` algorithm, once
        :meth:`finish` returned."""
        return self._also_value

    @property
    def checksum(self) -> str | None:
        """The body's checksum (base64) of :attr:`algorithm`, once :meth:`finish`
        returned: the one the request sent, or the one computed."""
        return self._value

    def answer_headers(self) -> dict[str, str]:
        """The checksum to echo in the answer, as S3 does (sent or computed)."""
        if self.algorithm is None or self._value is None:
            return {}
        return {self.algorithm.header: self._value}

    def stored_meta(self, meta: dict[str, str]) -> dict[str, str]:
        """``meta`` (a single upload's) with the body's checksum, which GetObject and
        HeadObject answer in checksum mode (:mod:`api.s3.metadata`)."""
        if self.algorithm is None or self._value is None:
            return meta
        return meta | {self.algorithm.header: self._value, TYPE_HEADER: FULL_OBJECT}


def declared_size(verified: Verified, request: Request) -> int | None:
    """The payload's size as the request declares it (an aws-chunked body's decoded
    size, else its Content-Length), if it does."""
    if verified.payload_mode.streaming:
        return whole_number_or_none(request.headers.get("x-amz-decoded-content-length"))
    return declared_length(request)


async def pump_checked(request: Request, body: CheckedBody, write: Callable[[bytes], None]) -> None:
    """Hand the payload of ``request`` to ``write`` (in a worker thread) as ``body``
    decodes it; ``IncompleteBody`` if the client stops short. Call
    :meth:`CheckedBody.finish` before acting on what was written."""

    def take(block: bytes) -> None:
        for piece in body.feed(block):
            write(piece)

    _, complete = await pump(request, take)
    if not complete:
        raise IncompleteBody()


async def read_document(
    request: Request, body: CheckedBody, *, limit: int, too_large: S3Error
) -> bytes:
    """The payload of a request that sends a small document (an XML body), decoded
    and fed through ``body``'s checks: ``too_large`` past ``limit`` bytes (read no
    further), ``IncompleteBody`` if the client stops short. Call
    :meth:`CheckedBody.finish` before acting on it."""
    received: list[bytes] = []

    def take(block: bytes) -> None:
        received.extend(body.feed(block))

    size, complete = await pump(request, take, limit=limit)
    if size >= limit:
        raise too_large
    if not complete:
        raise IncompleteBody()
    return b"".join(received)
