"""One S3 request as the handlers see it: the core, the request, who signed it, and
the bucket and key it addresses (:mod:`api.s3.addressing`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from api.s3.auth import Caller
from gateway.core import Core


@dataclass(frozen=True)
class S3Request:
    core: Core
    request: Request
    caller: Caller
    bucket: str
    key: str

    @property
    def account_id(self) -> int:
        return self.caller.account_id
