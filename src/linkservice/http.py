"""What the link routes read from a request: the client address, a bounded JSON body,
the signed-in owner and the API key."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gateway.accounts import AccountInfo
from gateway.apikeys import ApiKeyInfo, looks_like_key
from gateway.auth import Principal, client_address
from gateway.core import Core
from gateway.errors import BadRequest, Forbidden, TooLarge, Unauthorized

MAX_JSON = 64 * 1024
KEY_PARAMETERS = ("api_key", "apikey", "key", "token", "access_token", "apiKey")


def address_of(request: Request, core: Core) -> str:
    return client_address(
        request.client.host if request.client else "",
        request.headers.get("x-forwarded-for"),
        trust_proxy=core.config.trust_proxy_headers,
    )


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, at most 64 KiB, or a 400/413 that says what is wrong."""
    size = 0
    parts: list[bytes] = []
    async for part in request.stream():
        size += len(part)
        if size > MAX_JSON:
            raise TooLarge(f"the JSON body is at most {MAX_JSON} bytes")
        parts.append(part)
    try:
        body = json.loads(b"".join(parts) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


async def signed_in_owner(request: Request, core: Core) -> Principal:
    """The account managing its key: a login token or Basic credentials (not an API
    key, and not a guest)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and looks_like_key(value.strip()):
        raise Forbidden(
            "an API key cannot manage API keys: sign in with your login token or password"
        )
    principal = await run_in_threadpool(
        core.auth.resolve, header or None, address=address_of(request, core)
    )
    if principal is None or principal.is_guest:
        raise Unauthorized("sign in: send Authorization: Bearer <login token> or Basic credentials")
    return principal


async def api_key_caller(request: Request, core: Core) -> tuple[AccountInfo, ApiKeyInfo]:
    """The account behind ``Authorization: Bearer ll_live_…``. A key anywhere in the
    query string is refused (URLs end up in logs and browser history)."""
    for name, value in request.query_params.multi_items():
        if name in KEY_PARAMETERS or looks_like_key(value) or looks_like_key(name):
            raise BadRequest(
                "API keys are not accepted in the query string: send "
                "Authorization: Bearer <your key>, and rotate a key that was put in a URL"
            )
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if not header:
        raise Unauthorized("send your API key as Authorization: Bearer ll_live_…")
    if scheme.lower() != "bearer" or not looks_like_key(value.strip()):
        raise Unauthorized(
            "this endpoint takes an API key: Authorization: Bearer ll_live_… "
            "(create one in Settings or with POST /api/v1/api-key)"
        )
    return await run_in_threadpool(core.api_keys.resolve, value.strip())
