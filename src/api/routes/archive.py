"""``GET /api/v1/archive?id=…&id=…``: several of the caller's files and folders as
one zip, streamed as it is made (folders with everything below them, by their paths
inside the folder). Every id is checked before the first byte: an id of nothing, of
another account's entry, too many ids or none are a JSON error, never half an
archive."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.requests import core_of, rate_limit, require_principal
from api.transfer import stream_blocks
from api.zipwriter import zip_stream
from gateway.disposition import content_disposition
from gateway.selection import members, select


async def archive(request: Request) -> Response:
    """The owner's own entries only, so a key-protected file goes in as its owner's
    single download would (its owner needs no key). HEAD checks the ids and answers
    the headers alone, as a page does before it starts the download."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    ids = request.query_params.getlist("id")
    chosen = await run_in_threadpool(select, core.storage, principal.account_id, ids)
    day = time.strftime("%Y-%m-%d", time.gmtime(core.clock()))
    headers = {
        "Content-Disposition": content_disposition(f"lockr-{day}.zip"),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if request.method == "HEAD":
        return Response(headers=headers, media_type="application/zip")
    body = zip_stream(members(core.db, principal.account_id, chosen), core.storage.open)
    return StreamingResponse(stream_blocks(body), headers=headers, media_type="application/zip")


routes = [Route("/api/v1/archive", archive, methods=["GET", "HEAD"])]
