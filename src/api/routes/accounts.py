"""Accounts, login and tokens: ``/api/v1/accounts``, ``/api/v1/login``,
``/api/v1/account``, ``/api/v1/account/password``, ``/api/v1/tokens``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.requests import (
    check_fields,
    client_address,
    core_of,
    json_body,
    require_principal,
)
from gateway.accounts import TokenInfo
from gateway.errors import BadRequest
from gateway.numbers import whole_number
from gateway.timefmt import iso


def token_json(token: TokenInfo) -> dict[str, object]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "createdAt": iso(token.created_at),
        "lastUsedAt": iso(token.last_used_at) if token.last_used_at else None,
    }


async def create_account(request: Request) -> Response:
    """POST /api/v1/accounts {"username","email","password"} -> 201 account + token."""
    core = core_of(request)
    body = await json_body(request)
    check_fields(body, required={"username", "email", "password"}, optional=set())
    account = await run_in_threadpool(
        core.accounts.sign_up,
        body["username"],
        body["email"],
        body["password"],
        address=client_address(request),
    )
    token, secret = await run_in_threadpool(core.accounts.create_token, account.id, "signup")
    return JSONResponse(
        {"account": account.public(), "token": secret, "tokenId": token.id}, status_code=201
    )


async def login(request: Request) -> Response:
    """POST /api/v1/login {"identifier","password"} -> 200 {"token", ...}."""
    core = core_of(request)
    body = await json_body(request)
    check_fields(body, required={"identifier", "password"}, optional={"tokenName"})
    identifier, password = body["identifier"], body["password"]
    if not isinstance(identifier, str) or not isinstance(password, str):
        raise BadRequest("identifier and password must be strings")
    name = body.get("tokenName", "login")
    account = await run_in_threadpool(
        core.auth.check_password, identifier, password, address=client_address(request)
    )
    token, secret = await run_in_threadpool(core.accounts.create_token, account.id, name)
    return JSONResponse({"token": secret, "tokenId": token.id, "account": account.public()})


async def me(request: Request) -> Response:
    """GET /api/v1/account -> the caller's account, with current usage: the bytes
    stored, those held by uploads in progress, and the largest file it may upload."""
    principal = await require_principal(request)
    account = await run_in_threadpool(core_of(request).accounts.get, principal.account_id)
    usage = {"reservedBytes": account.reserved_bytes, "maxObjectSize": principal.max_object_size}
    return JSONResponse({"account": account.public() | usage})


async def change_password(request: Request) -> Response:
    """POST /api/v1/account/password {"currentPassword","newPassword","revokeTokens"?}
    -> 200 {"account", "revokedTokens"}; a wrong current password is 403."""
    core = core_of(request)
    principal = await require_principal(request)
    body = await json_body(request)
    check_fields(body, required={"currentPassword", "newPassword"}, optional={"revokeTokens"})
    current, revoke = body["currentPassword"], body.get("revokeTokens", False)
    if not isinstance(current, str):
        raise BadRequest("currentPassword must be a string")
    if not isinstance(revoke, bool):
        raise BadRequest("revokeTokens must be true or false")
    account, revoked = await run_in_threadpool(
        lambda: core.auth.change_password(
            principal,
            current,
            body["newPassword"],
            revoke_tokens=revoke,
            address=client_address(request),
        )
    )
    return JSONResponse({"account": account.public(), "revokedTokens": revoked})


async def list_tokens(request: Request) -> Response:
    principal = await require_principal(request)
    tokens = await run_in_threadpool(core_of(request).accounts.list_tokens, principal.account_id)
    return JSONResponse(
        {"tokens": [token_json(t) | {"current": t.id == principal.token_id} for t in tokens]}
    )


async def create_token(request: Request) -> Response:
    """POST /api/v1/tokens {"name"?} -> 201 with the token, shown this once."""
    principal = await require_principal(request)
    body = await json_body(request, optional=True)
    check_fields(body, required=set(), optional={"name"})
    token, secret = await run_in_threadpool(
        core_of(request).accounts.create_token, principal.account_id, body.get("name", "")
    )
    return JSONResponse(token_json(token) | {"token": secret}, status_code=201)


async def revoke_token(request: Request) -> Response:
    principal = await require_principal(request)
    token_id = whole_number(request.path_params["token_id"], "token id")
    await run_in_threadpool(core_of(request).accounts.revoke_token, principal.account_id, token_id)
    return Response(status_code=204)


routes = [
    Route("/api/v1/accounts", create_account, methods=["POST"]),
    Route("/api/v1/login", login, methods=["POST"]),
    Route("/api/v1/account", me, methods=["GET"]),
    Route("/api/v1/account/password", change_password, methods=["POST"]),
    Route("/api/v1/tokens", list_tokens, methods=["GET"]),
    Route("/api/v1/tokens", create_token, methods=["POST"]),
    Route("/api/v1/tokens/{token_id}", revoke_token, methods=["DELETE"]),
]
