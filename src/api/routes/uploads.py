"""Uploads: ``POST /api/v1/upload`` (direct, streamed) and the resumable session
``POST /api/v1/upload/session`` + ``PUT`` of its upload URL."""

from __future__ import annotations

import re
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.files_json import file_json
from api.requests import (
    acting_principal,
    check_fields,
    client_address,
    core_of,
    json_body,
    optional_principal,
    rate_limit,
    require_principal,
)
from api.transfer import declared_length, pump
from gateway.auth import Principal
from gateway.errors import BadRequest, Forbidden, NotFound
from gateway.files import (
    UPLOADS_FOLDER,
    check_key_hash,
    claim_hash_of,
    key_hash_of_phrase,
    new_claim_token,
)
from gateway.sessions import SessionInfo
from gateway.storage import check_new_name
from gateway.timefmt import iso
from gateway.upload import Upload

GUEST_COOKIE = "lockr_guest"
_CONTENT_RANGE = re.compile(r"^bytes (?:([0-9]{1,18})-([0-9]{1,18})|\*)/([0-9]{1,18}|\*)$")


def _key_hash_from(principal: Principal, phrase: object, key_hash: object) -> str | None:
    if phrase is None and key_hash is None:
        return None
    if principal.is_guest:
        raise Forbidden("guests cannot attach download keys; sign in to protect a file")
    if phrase is not None and key_hash is not None:
        raise BadRequest("send either a key phrase or a keyHash, not both")
    if phrase is not None:
        if not isinstance(phrase, str) or not phrase:
            raise BadRequest("the download key must be a non-empty string")
        return key_hash_of_phrase(phrase)
    return check_key_hash(key_hash)


def _holder(request: Request, principal: Principal) -> str | None:
    """Whose cap a guest's write counts against: the client address."""
    return client_address(request) if principal.is_guest else None


def _guest_claim(request: Request, principal: Principal) -> tuple[str | None, str | None]:
    """A guest's claim token (kept in a cookie for browsers) and its hash."""
    if not principal.is_guest:
        return None, None
    token = request.cookies.get(GUEST_COOKIE) or new_claim_token()
    return token, claim_hash_of(token)


def _with_claim(request: Request, response: Response, token: str | None) -> Response:
    """Keep a guest's claim token in a cookie (``Secure`` when lockr is served over https)."""
    if token is not None:
        response.set_cookie(
            GUEST_COOKIE,
            token,
            max_age=30 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=core_of(request).config.https,
            path="/api/v1",
        )
    return response


async def direct_upload(request: Request) -> Response:
    """POST /api/v1/upload: the raw body, streamed, becomes a file."""
    core = core_of(request)
    principal = await acting_principal(request, allow_guest=True)
    await rate_limit(request, principal)
    raw_name = request.headers.get("x-file-name")
    if not raw_name:
        raise BadRequest("x-file-name is required (the file's name, UTF-8 percent-encoded)")
    try:
        # Header values arrive as latin-1; the name is UTF-8, percent-encoded or not.
        name = unquote(raw_name.encode("latin-1").decode("utf-8"), errors="strict")
    except UnicodeError:
        raise BadRequest("x-file-name must be UTF-8 (percent-encoded)") from None
    name = check_new_name(name)
    key_hash = _key_hash_from(
        principal, request.headers.get("x-file-key"), request.headers.get("x-key-hash")
    )
    region = request.headers.get("x-upload-region") or principal.account.default_region
    core.storage.store_for(region)
    token, claim_hash = _guest_claim(request, principal)
    content_type = request.headers.get("content-type") or "application/octet-stream"
    storage = core.storage
    holder = _holder(request, principal)

    def start() -> Upload:
        storage.mkdir(principal.account_id, UPLOADS_FOLDER, exist_ok=True)
        return storage.upload(
            principal.account_id,
            f"{UPLOADS_FOLDER}/{name}",
            max_size=principal.max_object_size,
            expected_size=declared_length(request),
            content_type=content_type,
            on_conflict="rename",
            region=region,
            key_hash=None if key_hash is None else core.files.seal_key(key_hash),
            claim_hash=claim_hash,
            holder=holder,
        )

    upload = await run_in_threadpool(start)
    with upload:
        _, complete = await pump(request, upload.write)
        if not complete:
            raise BadRequest("the upload was interrupted before the body ended")
        entry = await run_in_threadpool(upload.commit)
    body = file_json(entry, UPLOADS_FOLDER + "/" + entry.name, core.config.public_url)
    if token is not None:
        body["claimToken"] = token
    return _with_claim(request, JSONResponse(body, status_code=201), token)


async def create_session(request: Request) -> Response:
    """POST /api/v1/upload/session {"name","size","type"} -> 201 with uploadUrl."""
    core = core_of(request)
    principal = await acting_principal(request, allow_guest=True)
    await rate_limit(request, principal)
    body = await json_body(request)
    check_fields(
        body,
        required={"name", "size"},
        optional={"type", "region", "path", "key", "keyHash"},
    )
    key_hash = _key_hash_from(principal, body.get("key"), body.get("keyHash"))
    region = body.get("region") or principal.account.default_region
    if not isinstance(region, str):
        raise BadRequest("region must be a string")
    if principal.is_guest and "path" in body:
        raise BadRequest("guests upload into uploads/; sign in to choose a folder with path")
    folder = body.get("path", UPLOADS_FOLDER)
    if not isinstance(folder, str):
        raise BadRequest("path must be a folder path such as 'uploads/2024' ('' is the top)")
    token, claim_hash = _guest_claim(request, principal)
    info, secret = await run_in_threadpool(
        lambda: core.sessions.create(
            principal.account_id,
            name=body["name"],
            size=body["size"],
            content_type=body.get("type", ""),
            max_size=principal.max_object_size,
            region=region,
            folder=folder.strip("/"),
            key_hash=None if key_hash is None else core.files.seal_key(key_hash),
            claim_hash=claim_hash,
            holder=_holder(request, principal),
        )
    )
    base = core.config.public_url
    file_id = f"{info.region}_{info.file_uid}"
    response = {
        "id": file_id,
        "sessionId": info.id,
        "uploadUrl": f"{base}/api/v1/upload/session/{info.id}?uploadToken={secret}",
        "downloadUrl": f"{base}/api/v1/download/{file_id}",
        "pageUrl": f"{base}/download/{file_id}",
        "name": info.name,
        "size": info.size,
        "type": info.content_type,
        "region": info.region,
        "expiresAt": iso(info.expires_at),
    }
    if token is not None:
        response["claimToken"] = token
    return _with_claim(request, JSONResponse(response, status_code=201), token)


def _progress(received: int) -> Response:
    headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
    return Response(status_code=308, headers=headers)


async def _session_of(request: Request) -> SessionInfo:
    """The session the request names: by its upload URL's secret, or, without one,
    by the credentials of the account that opened it."""
    core = core_of(request)
    session_id = request.path_params["session_id"]
    secret = request.query_params.get("uploadToken")
    if secret is None:
        principal = await optional_principal(request)
        await rate_limit(request, principal)
        if principal is None:
            raise NotFound("no such upload session: send its uploadUrl, with its uploadToken")
        return await run_in_threadpool(core.sessions.get_owned, session_id, principal.account_id)
    await rate_limit(request, None)
    return await run_in_threadpool(core.sessions.get, session_id, secret)


async def put_session(request: Request) -> Response:
    """PUT the upload URL: the whole body, a chunk (Content-Range: bytes S-E/T), or a
    status query (Content-Range: bytes */T, empty body)."""
    core = core_of(request)
    info = await _session_of(request)
    content_range = request.headers.get("content-range")
    if content_range is None:
        start, end = 0, info.size - 1
    else:
        match = _CONTENT_RANGE.match(content_range.strip())
        if match is None:
            raise BadRequest("Content-Range must be 'bytes START-END/TOTAL' or 'bytes */TOTAL'")
        first, last, total = match.groups()
        if total != "*" and int(total) != info.size:
            raise BadRequest(
                f"Content-Range total {total} differs from the session's size {info.size}"
            )
        if first is None:
            if info.completed or info.received < info.size:
                return await _status(request, info)
            start, end = info.size, info.size - 1  # finished below
        else:
            start, end = int(first), int(last)
            if end < start or end >= info.size:
                raise BadRequest(f"Content-Range {start}-{end} is outside 0-{info.size - 1}")
    if info.completed:
        return await _status(request, info)
    if info.received == info.size:
        # Every byte is stored (a size-0 upload, or one whose commit failed before, the
        # folder gone or full): whatever this request sends, it finishes the upload.
        start, end = info.size, info.size - 1
    chunk = await run_in_threadpool(core.sessions.begin, info, start)
    expected = end - start + 1
    try:
        if expected:
            written, complete = await pump(request, chunk.write, limit=expected)
            if written == expected and not complete:
                raise BadRequest(
                    f"the body is longer than the {expected} bytes Content-Range gives"
                )
        entry = await run_in_threadpool(chunk.finish)
    except BaseException:
        await run_in_threadpool(chunk.close)
        raise
    if entry is None:
        return _progress(chunk.received)
    path = await run_in_threadpool(core.storage.path_of, entry)
    return JSONResponse(file_json(entry, path, core.config.public_url), status_code=201)


async def cancel_session(request: Request) -> Response:
    """DELETE the upload URL: give the unfinished upload up -> 204; its bytes and
    reserved quota are freed, and the URL answers 404 from then on."""
    info = await _session_of(request)
    await run_in_threadpool(core_of(request).sessions.cancel, info)
    return Response(status_code=204)


async def list_sessions(request: Request) -> Response:
    """GET /api/v1/upload/sessions -> {"sessions": [...]}: the caller's unfinished
    sessions, oldest first, with the bytes stored; never their upload secrets."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    sessions = await run_in_threadpool(core.sessions.unfinished, principal.account_id)
    base = core.config.public_url
    return JSONResponse(
        {
            "sessions": [
                {
                    "sessionId": info.id,
                    "id": f"{info.region}_{info.file_uid}",
                    "sessionUrl": f"{base}/api/v1/upload/session/{info.id}",
                    "name": info.name,
                    "size": info.size,
                    "received": info.received,
                    "type": info.content_type,
                    "path": info.folder,
                    "region": info.region,
                    "expiresAt": iso(info.expires_at),
                }
                for info in sessions
            ]
        }
    )


async def _status(request: Request, info: SessionInfo) -> Response:
    core = core_of(request)
    if info.completed:
        try:
            entry = await run_in_threadpool(core.sessions.completed_file, info)
        except NotFound:
            raise NotFound("the uploaded file has since been deleted") from None
        path = await run_in_threadpool(core.storage.path_of, entry)
        return JSONResponse(file_json(entry, path, core.config.public_url), status_code=200)
    return _progress(info.received)


routes = [
    Route("/api/v1/upload", direct_upload, methods=["POST"]),
    Route("/api/v1/upload/session", create_session, methods=["POST"]),
    Route("/api/v1/upload/sessions", list_sessions, methods=["GET"]),
    Route("/api/v1/upload/session/{session_id}", put_session, methods=["PUT"]),
    Route("/api/v1/upload/session/{session_id}", cancel_session, methods=["DELETE"]),
]
