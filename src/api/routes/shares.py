"""Shares of a file (``/api/v1/files/{id}/shares``, ``/api/v1/shares…``): made, listed
and revoked by the owner; downloaded by anyone with the link, each download counted
(see :mod:`gateway.shares`)."""

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
    rate_limit,
    require_principal,
)
from api.routes.downloads import serve
from gateway.errors import BadRequest
from gateway.files import uid_of
from gateway.shares import ShareInfo
from gateway.timefmt import iso, optional_time

PASSWORD_HEADER = "x-share-password"


def share_json(share: ShareInfo, now: float) -> dict[str, object]:
    return {
        "id": share.id,
        "prefix": share.prefix,
        "createdAt": iso(share.created_at),
        "expiresAt": None if share.expires_at is None else iso(share.expires_at),
        "maxDownloads": share.max_downloads,
        "downloads": share.downloads,
        "passwordProtected": share.password_protected,
        "state": share.state(now),
    }


async def create_share(request: Request) -> Response:
    """POST /api/v1/files/{id}/shares {"expiresAt"?, "maxDownloads"?, "password"?} ->
    201 with the share and its ``url``, shown this once."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    body = await json_body(request, optional=True)
    check_fields(body, required=set(), optional={"expiresAt", "maxDownloads", "password"})
    limit, password = body.get("maxDownloads"), body.get("password")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise BadRequest("maxDownloads must be a whole number")
    if password is not None and not isinstance(password, str):
        raise BadRequest("password must be a string")
    expires_at = optional_time(body.get("expiresAt"), "expiresAt")
    share, token = await run_in_threadpool(
        lambda: core.shares.create(
            principal.account_id,
            uid_of(request.path_params["file_id"]),
            expires_at=expires_at,
            max_downloads=limit,
            password=password or None,
        )
    )
    url = f"{core.config.public_url}/s/{token}"
    answer = share_json(share, core.clock()) | {"url": url}
    return JSONResponse(answer, status_code=201, headers={"Cache-Control": "no-store"})


async def list_shares(request: Request) -> Response:
    """GET /api/v1/files/{id}/shares -> {"shares": [...]}: never their URLs."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    shares = await run_in_threadpool(
        core.shares.of_file, principal.account_id, uid_of(request.path_params["file_id"])
    )
    now = core.clock()
    return JSONResponse({"shares": [share_json(share, now) for share in shares]})


async def revoke_share(request: Request) -> Response:
    """DELETE /api/v1/shares/{share_id} -> 204; the link stops working at once."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    await run_in_threadpool(
        core.shares.revoke, principal.account_id, request.path_params["share_id"]
    )
    return Response(status_code=204)


async def download_share(request: Request) -> Response:
    """GET /api/v1/shares/{token}/download (a password in ``X-Share-Password``): the
    file, one download counted. People use the share page, ``/s/{token}``."""
    core = core_of(request)
    await rate_limit(request, None)
    password = request.headers.get(PASSWORD_HEADER)
    _share, entry = await run_in_threadpool(
        lambda: core.shares.take(
            request.path_params["token"], password=password, address=client_address(request)
        )
    )
    return await serve(request, entry, cache="private, no-store")


routes = [
    Route("/api/v1/files/{file_id}/shares", create_share, methods=["POST"]),
    Route("/api/v1/files/{file_id}/shares", list_shares, methods=["GET"]),
    Route("/api/v1/shares/{share_id}", revoke_share, methods=["DELETE"]),
    Route("/api/v1/shares/{token}/download", download_share, methods=["GET"]),
]
