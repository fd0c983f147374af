"""A request body as S3 checks it while it streams (PutObject, UploadPart): the
payload's declared hash or chunk signatures (:mod:`s3.payload`), the additional
checksums sent as ``x-amz-checksum-*`` headers, and ``Content-MD5``.

The decoded bytes are handed on as they arrive; they are vouched for only once
:meth:`CheckedBody.verify` returns, so the caller MUST keep them provisional (an
upload not yet committed, a part not yet recorded) until then.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from api.s3.checksums import SUPPORTED, Checksum, check_checksum, new_checksum
from api.s3.context import S3Request
from api.s3.errors import BadDigest, IncompleteBody, InvalidDigest
from api.s3.payload import payload_verifier
from api.transfer import declared_length, pump
from gateway.numbers import whole_number_or_none


def content_md5(value: str | None) -> str | None:
    """The hex digest a ``Content-MD5`` header gives, or ``InvalidDigest``."""
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
    """The body of one request; ``size`` is the payload's declared size, if any."""

    def __init__(self, s3: S3Request) -> None:
        request = s3.request
        headers = request.headers
        self._request = request
        self._headers = headers
        self.verifier = payload_verifier(s3.caller.verified, headers)
        self._md5 = content_md5(headers.get("content-md5"))
        self._checks: dict[str, Checksum] = {
            name: new_checksum(name) for name in SUPPORTED if name in headers
        }
        self.size: int | None
        if s3.caller.verified.payload_mode.streaming:
            self.size = whole_number_or_none(headers.get("x-amz-decoded-content-length"))
        else:
            self.size = declared_length(request)

    async def pump(self, write: Callable[[bytes], None]) -> None:
        """Hand the decoded payload to ``write`` (in a worker thread) as it arrives;
        ``IncompleteBody`` if the client stops short."""

        def take(block: bytes) -> None:
            for piece in self.verifier.feed(block):
                for checksum in self._checks.values():
                    checksum.update(piece)
                write(piece)

        _, complete = await pump(self._request, take)
        if not complete:
            raise IncompleteBody()

    def verify(self, md5: str) -> None:
        """After :meth:`pump`: raise the S3 error that says why, unless the signature,
        every checksum and ``Content-MD5`` agree with the payload (whose hex MD5 the
        caller computed: ``md5``)."""
        self.verifier.finish()
        for name, checksum in self._checks.items():
            check_checksum(name, checksum, self._headers[name])
        if self._md5 is not None and md5 != self._md5:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")

    def echoed(self) -> dict[str, str]:
        """The checksum headers an answer repeats."""
        return {name: self._headers[name] for name in self._checks}
