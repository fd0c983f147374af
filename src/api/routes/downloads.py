"""``GET /api/v1/download/<id>``: the bytes of a file, streamed, with ranges and
conditional requests. Anyone with the id may download, as the storage seed's share
links need; a key-protected file also needs its keyHash (query ``keyHash`` or header
``X-Key-Hash``), its owner's credentials, or a valid signed URL. A file in a region
with ``redirect_downloads`` is answered, once authorized, with a 302 to a presigned
URL of the region's store."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.requests import client_address, core_of, optional_principal, rate_limit
from api.transfer import RangeNotSatisfiable, precondition, response_window, stream_blocks
from gateway.disposition import content_disposition
from gateway.errors import Forbidden
from gateway.storage import Entry
from gateway.timefmt import http_date

REDIRECT_SECONDS = 300
"""How long the presigned URL a redirecting region answers with stays valid."""

INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
INLINE_TYPES = INLINE_IMAGES | {"application/pdf"}
"""Types that ``?inline=1`` lets a browser show in place (with audio and video): none
can run script in lockr's origin. HTML, SVG, XML and the rest stay attachments."""

INLINE_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'self'; sandbox"
)
"""The Content-Security-Policy of a file shown inline: sandboxed (an opaque origin, no
script, no forms), it may load nothing, and only lockr's own pages may frame it."""


def renders_inline(media_type: str) -> bool:
    """Whether ``?inline=1`` shows a file of this type in place (see
    :data:`INLINE_TYPES`)."""
    media = media_type.split(";", 1)[0].strip().lower()
    return media in INLINE_TYPES or media.startswith(("audio/", "video/"))


async def authorize(request: Request, entry: Entry, file_id: str) -> None:
    """Raise 403 (or 429 after repeated wrong keys) unless this request may read."""
    core = core_of(request)
    query = request.query_params
    if "signature" in query or "expires" in query:
        if core.files.signature_valid(
            file_id, query.get("expires", ""), query.get("signature", "")
        ):
            return
        raise Forbidden("this signed URL has expired or was altered")
    if not entry.key_protected:
        return
    principal = await optional_principal(request)
    if principal is not None and principal.account_id == entry.account_id:
        return
    presented = request.headers.get("x-key-hash") or query.get("keyHash")
    await run_in_threadpool(core.files.check_key, entry, presented, address=client_address(request))


async def download(request: Request) -> Response:
    core = core_of(request)
    await rate_limit(request, None)
    file_id = request.path_params["file_id"]
    entry = await run_in_threadpool(core.files.get, file_id)
    await authorize(request, entry, file_id)
    cache = "private, no-cache" if entry.key_protected else "public, no-cache"
    return await serve(
        request, entry, cache=cache, inline=request.query_params.get("inline") == "1"
    )


async def serve(request: Request, entry: Entry, *, cache: str, inline: bool = False) -> Response:
    """The bytes of ``entry``, already authorized: ranges, conditional requests, HEAD,
    or a redirect to its region's store; ``cache`` is the Cache-Control. With
    ``inline``, a type that :func:`renders_inline` is answered ``inline`` under
    :data:`INLINE_POLICY`; any other stays an attachment."""
    core = core_of(request)
    etag = f'"{entry.md5}"'
    media_type = entry.content_type or "application/octet-stream"
    shown = inline and renders_inline(media_type)
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(entry.mtime),
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(entry.name, inline=shown),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": cache,
    }
    if shown:
        headers["Content-Security-Policy"] = INLINE_POLICY
    status = precondition(request, etag, entry.mtime)
    if status is not None:
        return Response(status_code=status, headers=headers)
    # HEAD answers here (a page checking a key sends one; a URL presigned for GET
    # would not take it).
    url = (
        await run_in_threadpool(core.storage.download_url, entry, expires=REDIRECT_SECONDS)
        if request.method == "GET"
        else None
    )
    if url is not None:
        # The region serves its own bytes: a short-lived presigned URL of its store.
        return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"})
    try:
        offset, length, code = response_window(request, entry.size, etag, entry.mtime, headers)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{entry.size}"
        return Response(status_code=416, headers=headers)
    if request.method == "HEAD":
        return Response(status_code=code, headers=headers, media_type=media_type)
    blocks = core.storage.open(entry, offset, length)
    return StreamingResponse(
        stream_blocks(blocks), status_code=code, headers=headers, media_type=media_type
    )


routes = [Route("/api/v1/download/{file_id}", download, methods=["GET", "HEAD"])]
