"""Pages for people, the plumbing every front that serves them shares: a Jinja
environment over a front's own templates and the shared layout (``templates/layout/``:
the web app's frame with its one navigation, and the plain frame of signed-out
pages), the headers every page carries, and the static files (styles, scripts) that
lockr serves itself, from ``static/``.

Pages run no inline script: the Content-Security-Policy allows scripts and styles
from lockr's own origin only, so markup that reaches a page from a file name or a
link's label can never run."""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.auth import origin_of
from gateway.timefmt import iso

LAYOUT_FOLDER = Path(__file__).parent / "templates" / "layout"
STATIC_FOLDER = Path(__file__).parent / "static"


def content_security_policy(public_url: str) -> str:
    """Scripts, styles, frames (the download page's PDF preview) and connections from
    lockr's own origin only (its ``public_url`` too, where uploads are sent), no
    plugins, and no page of lockr's in a frame (a file shown inline, which has its own
    policy, may be)."""
    connect = " ".join(["'self'", *filter(None, [origin_of(public_url)])])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src {connect}; frame-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


def page_headers(policy: str) -> dict[str, str]:
    """The headers of every page of every front, under the Content-Security-Policy
    ``policy`` (:func:`content_security_policy` for the web app's pages).
    ``Referrer-Policy: same-origin`` rather than ``no-referrer``: with the latter,
    browsers send ``Origin: null`` on form posts, which the forms refuse as
    cross-site."""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def page_time(seconds: float) -> str:
    """``2027-01-15 08:00 UTC``: a moment as pages show it (minutes are enough)."""
    return iso(seconds)[:16].replace("T", " ") + " UTC"


def environment(folder: Path) -> Environment:
    """Templates from ``folder``, then the shared layout's (``app.html``,
    ``plain.html``), HTML-escaped."""
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(LAYOUT_FOLDER)]),
        autoescape=select_autoescape(["html"]),
    )


def render_page(
    templates: Environment,
    template: str,
    public_url: str,
    status: int = 200,
    **context: object,
) -> HTMLResponse:
    html = templates.get_template(template).render(**context)
    headers = page_headers(content_security_policy(public_url))
    return HTMLResponse(html, status_code=status, headers=headers)


class Assets(StaticFiles):
    """The static files, revalidated on each use (``ETag``; no build step stamps
    names with versions) and never sniffed as another type."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_mount() -> Mount:
    """``/static/…``: every asset the pages use, served by lockr itself."""
    return Mount("/static", app=Assets(directory=STATIC_FOLDER), name="static")
