"""File management: list, register, key, delete, signed URLs (``/api/v1/files…``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.files_json import file_json
from api.requests import (
    check_fields,
    core_of,
    json_body,
    rate_limit,
    require_principal,
)
from api.routes.uploads import GUEST_COOKIE
from gateway.auth import Principal
from gateway.errors import BadRequest, Forbidden
from gateway.files import (
    UPLOADS_FOLDER,
    check_key_hash,
    claim_hash_of,
    key_hash_of_phrase,
    uid_of,
)
from gateway.numbers import whole_number
from gateway.storage import Entry
from gateway.timefmt import iso

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = whole_number(raw, name)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


async def list_files(request: Request) -> Response:
    """GET /api/v1/files?cursor=&limit= -> {"files": [...], "nextCursor": ...}."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    limit = _int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    page = await run_in_threadpool(
        lambda: core.files.list(
            principal.account_id, cursor=request.query_params.get("cursor"), limit=limit
        )
    )
    files = [file_json(entry, path, core.config.public_url) for entry, path in page.entries]
    return JSONResponse({"files": files, "nextCursor": page.next_cursor})


async def _owned(request: Request) -> tuple[Principal, Entry]:
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    entry = await run_in_threadpool(core.files.get, request.path_params["file_id"])
    if entry.account_id != principal.account_id:
        raise Forbidden("this file belongs to another account")
    return principal, entry


async def get_file(request: Request) -> Response:
    """GET /api/v1/files/:id -> the file's metadata (owner only)."""
    core = core_of(request)
    _, entry = await _owned(request)
    path = await run_in_threadpool(core.storage.path_of, entry)
    return JSONResponse(file_json(entry, path, core.config.public_url))


async def register(request: Request) -> Response:
    """POST /api/v1/files/register {"id", "claimToken"?} -> the file, now yours."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    body = await json_body(request)
    check_fields(body, required={"id"}, optional={"claimToken"})
    if not isinstance(body["id"], str):
        raise BadRequest("id must be a download id string")
    token = body.get("claimToken") or request.cookies.get(GUEST_COOKIE)
    if token is not None and not isinstance(token, str):
        raise BadRequest("claimToken must be a string")
    uid = uid_of(body["id"])
    entry = await run_in_threadpool(
        lambda: core.storage.adopt(
            uid,
            principal.account_id,
            UPLOADS_FOLDER,
            proof_hash=None if token is None else claim_hash_of(token),
        )
    )
    path = await run_in_threadpool(core.storage.path_of, entry)
    return JSONResponse(file_json(entry, path, core.config.public_url))


async def set_key(request: Request) -> Response:
    """POST /api/v1/files/:id/key {"key": "phrase"} sets; {"key": null} or {} clears."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    body = await json_body(request, optional=True)
    check_fields(body, required=set(), optional={"key", "keyHash"})
    phrase, key_hash = body.get("key"), body.get("keyHash")
    if phrase is not None and key_hash is not None:
        raise BadRequest("send either key or keyHash, not both")
    if phrase is not None:
        if not isinstance(phrase, str) or not phrase:
            raise BadRequest("key must be a non-empty string, or null to clear it")
        key_hash = key_hash_of_phrase(phrase)
    elif key_hash is not None:
        key_hash = check_key_hash(key_hash)
    entry = await run_in_threadpool(
        core.files.set_key, principal.account_id, request.path_params["file_id"], key_hash
    )
    path = await run_in_threadpool(core.storage.path_of, entry)
    return JSONResponse(file_json(entry, path, core.config.public_url))


async def delete_file(request: Request) -> Response:
    """DELETE /api/v1/files/:id -> 204; gone from every front, bytes off the quota."""
    core = core_of(request)
    principal, entry = await _owned(request)
    await run_in_threadpool(core.storage.delete_uid, principal.account_id, entry.uid)
    return Response(status_code=204)


async def signed_url(request: Request) -> Response:
    """GET /api/v1/files/:id/signed-url?expires=SECONDS -> {"url", "expiresAt"}."""
    core = core_of(request)
    _, entry = await _owned(request)
    seconds = _int_param(request, "expires", 3600, 1, 7 * 24 * 3600)
    file_id = request.path_params["file_id"]
    query, expires_at = core.files.sign(file_id, seconds)
    url = f"{core.config.public_url}/api/v1/download/{file_id}?{query}"
    return JSONResponse({"url": url, "expiresAt": iso(expires_at)})


routes = [
    Route("/api/v1/files", list_files, methods=["GET"]),
    Route("/api/v1/files/register", register, methods=["POST"]),
    Route("/api/v1/files/{file_id}", get_file, methods=["GET"]),
    Route("/api/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/api/v1/files/{file_id}/key", set_key, methods=["POST"]),
    Route("/api/v1/files/{file_id}/signed-url", signed_url, methods=["GET"]),
]
