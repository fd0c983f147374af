"""What the link routes read from a request beyond the API's own helpers
(:mod:`api.requests`): the signed-in owner and the API key."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.requests import optional_principal
from gateway.accounts import AccountInfo
from gateway.apikeys import ApiKeyInfo, looks_like_key
from gateway.auth import Principal
from gateway.core import Core
from gateway.errors import BadRequest, Forbidden, Unauthorized

KEY_PARAMETERS = ("api_key", "apikey", "key", "token", "access_token", "apiKey")


async def signed_in_owner(request: Request, core: Core) -> Principal:
    """The account managing its key: a login token or Basic credentials (not an API
    key, and not a guest)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and looks_like_key(value.strip()):
        raise Forbidden(
            "an API key cannot manage API keys: sign in with your login token or password"
        )
    principal = await optional_principal(request)
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
