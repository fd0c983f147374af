"""Pages for people that need no account: the download page at ``/download/<id>``
(the web app's own pages are in :mod:`api.webapp`)."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.layout import environment, render_page
from api.requests import core_of
from gateway.errors import NotFound

TEMPLATES = environment(Path(__file__).parent / "templates")


def render(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    """``template`` of the API's front, with the headers every page carries."""
    public_url = core_of(request).config.public_url
    return render_page(TEMPLATES, template, public_url, status, **context)


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
    return render(
        request,
        "download.html",
        name=entry.name,
        size_text=size_text(entry.size),
        type=entry.content_type or "application/octet-stream",
        protected=entry.key_protected,
        download_path=f"/api/v1/download/{file_id}",
    )


routes = [
    Route("/download/{file_id}", download_page, methods=["GET"]),
]
