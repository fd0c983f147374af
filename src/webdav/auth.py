"""Who a WebDAV request acts as, for both paths (the fast path and wsgidav).

Basic or Bearer through the core's authenticator, never Digest. A request without
valid credentials gets 401 with a Basic challenge; Basic credentials on a write a
browser marks as cross-site get 403 (this listener's own origin counts as lockr's,
beside ``public_url``; see :mod:`gateway.auth`); 429 while the sign-in budgets are
used up, 503 while too many passwords are being checked, both with Retry-After."""

from __future__ import annotations

from gateway.auth import Principal, RequestSource, client_address
from gateway.core import Core
from gateway.errors import Busy, LockrError, RateLimited, Unauthorized
from webdav.answers import Answer, text
from webdav.request import DavRequest

CHALLENGE = (b"www-authenticate", b'Basic realm="lockr", charset="UTF-8"')


def authenticate(core: Core, request: DavRequest) -> Principal:
    """The caller of ``request`` (remembered on it: asked again, it is not looked up
    again). Raises :class:`Unauthorized`, :class:`Forbidden`, :class:`RateLimited` or
    :class:`Busy`; :func:`refusal` is the answer to each. Blocks: call it in a worker
    thread."""
    if request.principal is not None:
        return request.principal
    scope, headers = request.scope, request.headers
    client = scope.get("client")
    address = client_address(
        client[0] if client else "",
        headers.get("x-forwarded-for"),
        trust_proxy=core.config.trust_proxy_headers,
    )
    principal = core.auth.resolve(
        headers.get("authorization"), address=address, source=_source(request)
    )
    if principal is None:
        raise Unauthorized("sign in")
    request.principal = principal
    return principal


def known_caller(core: Core, request: DavRequest) -> Principal | None:
    """The caller of ``request`` when it is known without blocking (its Basic
    credentials verified lately, see :meth:`gateway.auth.Authenticator.remembered`),
    remembered on the request; else ``None``: :func:`authenticate` then decides."""
    if request.principal is None:
        authorization = request.headers.get("authorization")
        request.principal = core.auth.remembered(authorization, source=_source(request))
    return request.principal


def _source(request: DavRequest) -> RequestSource:
    headers = request.headers
    origin = headers.get("origin")
    # The listener's origin is compared with an Origin header only (tools send none).
    listener = (
        f"{request.scope.get('scheme', 'http')}://{headers.get('host', '')}"
        if origin is not None
        else None
    )
    return RequestSource(
        request.method,
        fetch_site=headers.get("sec-fetch-site"),
        origin=origin,
        listener_origin=listener,
    )


def refusal(error: LockrError) -> Answer:
    """The answer to a request :func:`authenticate` refused with ``error``."""
    if isinstance(error, Unauthorized):
        return text(401, error.message, [CHALLENGE])
    if isinstance(error, RateLimited | Busy):
        retry = str(error.retry_after or 1).encode()
        return text(error.status, error.message, [(b"retry-after", retry)])
    return text(error.status, error.message)
