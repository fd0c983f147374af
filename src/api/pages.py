"""Pages for people that need no account: the download page at ``/download/<id>`` and
the share page at ``/s/<token>`` (the web app's own pages are in :mod:`api.webapp`)."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.layout import environment, page_time, render_page
from api.requests import client_address, core_of, rate_limit, read_form
from api.routes.downloads import INLINE_IMAGES, serve
from gateway.core import Core
from gateway.errors import LockrError, NotFound
from gateway.storage import Entry

TEMPLATES = environment(Path(__file__).parent / "templates")


def render(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    """``template`` of the API's front, with the headers every page carries."""
    public_url = core_of(request).config.public_url
    return render_page(TEMPLATES, template, public_url, status, **context)


def refusal(request: Request, template: str, error: LockrError, **context: object) -> HTMLResponse:
    """``template`` saying why ``error`` refused the request (its message as
    ``notice``), with the error's status and, when it has one, ``Retry-After``."""
    page = render(request, template, error.status, notice=error.message, **context)
    if error.retry_after is not None:
        page.headers["Retry-After"] = str(error.retry_after)
    return page


def size_text(size: int) -> str:
    """``1.5 MB``-style sizes for people (decimal units, as file managers show)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            break
        value /= 1000
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


async def download_page(request: Request) -> Response:
    """GET /download/<id>: name, size, type and a download button; a key field when
    the file is protected. Shows nothing about the owner."""
    core = core_of(request)
    file_id = request.path_params["file_id"]
    try:
        entry = await run_in_threadpool(core.files.get, file_id)
    except NotFound:
        return render(request, "missing.html", status=404)
    media_type = entry.content_type or "application/octet-stream"
    # No preview of a key-protected file, nor of one its region's store serves (the
    # page's policy loads nothing from other origins).
    shown = not entry.key_protected and entry.region not in core.storage.redirecting
    kind = preview_kind(media_type) if shown else None
    text = None
    if kind == "text":
        text = await run_in_threadpool(_text_start, core, entry)
    return render(
        request,
        "download.html",
        name=entry.name,
        size_text=size_text(entry.size),
        type=media_type,
        protected=entry.key_protected,
        download_path=f"/api/v1/download/{file_id}",
        md5=entry.md5,
        sha1=entry.sha1,
        preview=kind,
        text=text,
        clipped=entry.size > PREVIEW_TEXT_BYTES,
    )


PREVIEW_TEXT_BYTES = 64 * 1024
PREVIEW_TEXT = {"application/json", "text/csv", "text/markdown", "text/plain"}


def preview_kind(media_type: str) -> str | None:
    """How the download page shows a file inline: ``image``, ``audio``, ``video``
    (the browser's own elements, from the download URL), ``pdf`` (the browser's
    viewer in a frame, from the download URL's inline mode) or ``text`` (its first
    64 KiB, escaped, on the page); ``None`` for anything else. Never a type that can
    run script (HTML, SVG): the page shows, it does not execute."""
    media = media_type.split(";", 1)[0].strip().lower()
    if media in INLINE_IMAGES:
        return "image"
    if media == "application/pdf":
        return "pdf"
    if media.startswith(("audio/", "video/")):
        return media.split("/", 1)[0]
    if media in PREVIEW_TEXT:
        return "text"
    return None


def _text_start(core: Core, entry: Entry) -> str:
    data = b"".join(core.storage.open(entry, 0, min(entry.size, PREVIEW_TEXT_BYTES)))
    return data.decode("utf-8", errors="replace")


async def share_page(request: Request) -> Response:
    """GET /s/<token>: what is shared (name, size, type), until when and how many
    downloads are left, and a download button (with a password field when the share
    has one). Consumes nothing: link previews do not use a share up."""
    return await _share_page(request, refused=None)


async def _share_page(request: Request, *, refused: LockrError | None) -> Response:
    """The share page as it stands now; when ``refused``, saying why."""
    core = core_of(request)
    now = core.clock()
    try:
        share, entry = await run_in_threadpool(core.shares.find, request.path_params["token"])
    except NotFound:
        return render(request, "missing.html", status=404)
    state = share.state(now)
    left = None if share.max_downloads is None else max(0, share.max_downloads - share.downloads)
    context: dict[str, object] = {
        "name": entry.name,
        "size_text": size_text(entry.size),
        "type": entry.content_type or "application/octet-stream",
        "state": state,
        "left": left,
        "expires": None if share.expires_at is None else page_time(share.expires_at),
        "protected": share.password_protected,
    }
    if refused is not None:
        return refusal(request, "share.html", refused, **context)
    return render(request, "share.html", 200 if state == "open" else 410, notice="", **context)


async def share_download(request: Request) -> Response:
    """POST /s/<token> (form field ``password`` when the share has one): the file,
    one download counted; a refusal shows the page again, saying why."""
    core = core_of(request)
    await rate_limit(request, None)
    try:
        password = (await read_form(request)).get("password")
        _share, entry = await run_in_threadpool(
            lambda: core.shares.take(
                request.path_params["token"], password=password, address=client_address(request)
            )
        )
    except NotFound:
        return render(request, "missing.html", status=404)
    except LockrError as error:
        return await _share_page(request, refused=error)
    return await serve(request, entry, cache="private, no-store")


routes = [
    Route("/download/{file_id}", download_page, methods=["GET"]),
    Route("/s/{token}", share_page, methods=["GET"]),
    Route("/s/{token}", share_download, methods=["POST"]),
]
