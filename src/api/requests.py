"""Request helpers shared by the routes: the principal, the client address, JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gateway.auth import Principal
from gateway.auth import client_address as auth_client_address
from gateway.core import Core
from gateway.errors import BadRequest, TooLarge, Unauthorized

MAX_JSON_BODY = 64 * 1024


def core_of(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


def client_address(request: Request) -> str:
    """The client's address; with ``trust_proxy_headers``, the first X-Forwarded-For hop."""
    return auth_client_address(
        request.client.host if request.client else "",
        request.headers.get("x-forwarded-for"),
        trust_proxy=core_of(request).config.trust_proxy_headers,
    )


async def optional_principal(request: Request) -> Principal | None:
    """The caller, or ``None`` with no credentials; bad credentials raise 401."""
    if "principal" in request.scope:
        cached: Principal | None = request.scope["principal"]
        return cached
    header = request.headers.get("authorization")
    if not header:
        request.scope["principal"] = None
        return None
    auth = core_of(request).auth
    principal = await run_in_threadpool(auth.resolve, header, address=client_address(request))
    request.scope["principal"] = principal
    return principal


async def require_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise Unauthorized("sign in: send Authorization: Bearer <token> or Basic credentials")
    return principal


async def acting_principal(request: Request, *, allow_guest: bool) -> Principal:
    """The caller; without credentials, the guest principal where guests may act."""
    principal = await optional_principal(request)
    if principal is not None:
        return principal
    if not allow_guest:
        raise Unauthorized("sign in: send Authorization: Bearer <token> or Basic credentials")
    return await run_in_threadpool(core_of(request).auth.guest)


async def rate_limit(request: Request, principal: Principal | None) -> None:
    """Count the request against the account's and the address's burst limits."""
    account_id = None if principal is None or principal.is_guest else principal.account_id
    await run_in_threadpool(
        core_of(request).limiter.check,
        account_id=account_id,
        address=client_address(request),
    )


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, read up to 64 KiB; anything else is a clear 400/413.

    The Content-Type is not insisted on: ``curl -d '{...}'`` labels JSON as a form."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise TooLarge(f"a JSON body is at most {MAX_JSON_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("the request needs a JSON object body")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def has_body(request: Request) -> bool:
    """Whether the request says it carries a body."""
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or length not in (None, "0")


def check_fields(body: dict[str, Any], *, required: set[str], optional: set[str]) -> None:
    """400 naming the first missing or unknown field."""
    for name in sorted(required):
        if name not in body:
            raise BadRequest(f"field {name!r} is required")
    for name in sorted(body):
        if name not in required and name not in optional:
            raise BadRequest(f"unknown field {name!r}")
