"""S3 access keys of the caller's account: ``/api/v1/s3-keys``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.requests import check_fields, core_of, json_body, require_principal
from gateway.numbers import whole_number
from gateway.s3keys import S3KeyInfo
from gateway.timefmt import iso


def s3_key_json(key: S3KeyInfo) -> dict[str, object]:
    return {
        "id": key.id,
        "accessKeyId": key.access_key_id,
        "name": key.name,
        "createdAt": iso(key.created_at),
        "lastUsedAt": iso(key.last_used_at) if key.last_used_at is not None else None,
    }


async def list_s3_keys(request: Request) -> Response:
    """GET /api/v1/s3-keys -> {"s3Keys": [...]}, never a secret."""
    principal = await require_principal(request)
    keys = await run_in_threadpool(core_of(request).s3_keys.list, principal.account_id)
    return JSONResponse({"s3Keys": [s3_key_json(key) for key in keys]})


async def create_s3_key(request: Request) -> Response:
    """POST /api/v1/s3-keys {"name"?} -> 201 with the secret, shown this once."""
    principal = await require_principal(request)
    body = await json_body(request, optional=True)
    check_fields(body, required=set(), optional={"name"})
    key, secret = await run_in_threadpool(
        core_of(request).s3_keys.create, principal.account_id, body.get("name", "")
    )
    return JSONResponse(s3_key_json(key) | {"secretAccessKey": secret}, status_code=201)


async def revoke_s3_key(request: Request) -> Response:
    """DELETE /api/v1/s3-keys/{key_id} -> 204; the key stops working at once."""
    principal = await require_principal(request)
    key_id = whole_number(request.path_params["key_id"], "S3 key id")
    await run_in_threadpool(core_of(request).s3_keys.revoke, principal.account_id, key_id)
    return Response(status_code=204)


routes = [
    Route("/api/v1/s3-keys", list_s3_keys, methods=["GET"]),
    Route("/api/v1/s3-keys", create_s3_key, methods=["POST"]),
    Route("/api/v1/s3-keys/{key_id}", revoke_s3_key, methods=["DELETE"]),
]
