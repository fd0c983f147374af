"""One S3 request as the handlers see it: the core, the request (and its headers by
lowercase name), who signed it, the bucket and key it addresses
(:mod:`api.s3.addressing`), and the id its answer carries (``x-amz-request-id``);
and the reading of a whole-number parameter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from api.s3.auth import Caller
from api.s3.errors import InvalidArgument
from api.s3.threads import Lookups
from api.s3.xml import Owner
from gateway.core import Core
from gateway.numbers import whole_number_or_none


@dataclass(frozen=True)
class S3Request:
    core: Core
    request: Request
    headers: Mapping[str, str]
    """The request's headers by lowercase name (:func:`api.s3.app.request_headers`)."""
    caller: Caller
    bucket: str
    key: str
    request_id: str
    lookups: Lookups
    """Where the handler's reads run (:mod:`api.s3.threads`)."""

    @property
    def account_id(self) -> int:
        return self.caller.account_id

    @property
    def query(self) -> QueryParams:
        """The request's query parameters (parsed only when there are any)."""
        if not self.request.scope.get("query_string"):
            return NO_QUERY
        return self.request.query_params

    @property
    def owner(self) -> Owner:
        """The caller's account as S3 names an owner (every object and upload is its)."""
        return Owner(str(self.caller.account_id), self.caller.username)


NO_QUERY = QueryParams()


Handler = Callable[[S3Request], Awaitable[Response]]


def whole_number(text: str | None, what: str, default: int) -> int:
    """The whole number a request's parameter or header ``what`` gives as ``text``,
    ``default`` without one; ``InvalidArgument`` for anything else."""
    if text is None:
        return default
    number = whole_number_or_none(text.strip())
    if number is None:
        raise InvalidArgument(f"{what} must be a whole number.")
    return number
