"""Pages for people: the sign-up and sign-in page at ``/account``."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.errors import NotFound

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def render(template: str, status: int = 200, **context: object) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def account_page(request: Request) -> Response:
    return render("account.html", public_url=request.app.state.core.config.public_url)


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
    core = request.app.state.core
    file_id = request.path_params["file_id"]
    try:
        entry = await run_in_threadpool(core.files.get, file_id)
    except NotFound:
        return render("missing.html", status=404)
    return render(
        "download.html",
        name=entry.name,
        size_text=size_text(entry.size),
        type=entry.content_type or "application/octet-stream",
        protected=entry.key_protected,
        download_path=f"/api/v1/download/{file_id}",
    )


async def home(_request: Request) -> Response:
    return RedirectResponse("/account", status_code=303)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/account", account_page, methods=["GET"]),
    Route("/download/{file_id}", download_page, methods=["GET"]),
]
