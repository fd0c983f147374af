"""Recipient pages at ``/<slug>``: ``GET`` shows the public hint and a password form
and consumes nothing (link previews and chat unfurlers do not burn links); ``POST``
of the form field ``password`` opens the link: a URL link answers 303 to its target,
a memo link a ``no-store`` page with the memo."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from api.layout import environment, page_headers
from api.requests import client_address, read_form
from gateway.errors import Busy, Forbidden, Gone, NotFound, RateLimited, TooLarge
from gateway.timefmt import iso
from linkservice.links import LinkInfo, WrongPassword
from linkservice.service import LinkService
from linkservice.validation import SLUG

TEMPLATES = environment(Path(__file__).parent / "templates")
"""The link service's templates, and the web app's shared layout (the links page)."""
RECIPIENT_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""The recipient pages run no script at all; their style is inline (``base.html``)."""
PAGE_HEADERS = {**page_headers(RECIPIENT_POLICY), "X-Robots-Tag": "noindex"}
"""The headers of every page: not indexed by search engines. The 303 to a link's
target sets its own (``Referrer-Policy: no-referrer``)."""
STATE_NOTICES = {
    "not_started": (403, "This link is not open yet. It opens at {start}."),
    "expired": (410, "This link has expired."),
    "used_up": (410, "This link has been opened as many times as it allows."),
}


def render(template: str, status: int = 200, **context: object) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def form_too_large() -> Response:
    """The page answering a form over :data:`api.requests.MAX_FORM` bytes."""
    return HTMLResponse("The form is too large.", status_code=413, headers=PAGE_HEADERS)


class RecipientPages:
    def __init__(self, service: LinkService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{slug}", self.show, methods=["GET"]),
            Route("/{slug}", self.open, methods=["POST"]),
        ]

    def _page(self, link: LinkInfo, *, notice: str = "", status: int = 200) -> HTMLResponse:
        state = link.state(self.service.core.clock())
        if state != "open":
            status, text = STATE_NOTICES[state]
            notice = text.format(start=iso(link.start_time or 0))
        return render("unlock.html", status, link=link, notice=notice, open=state == "open")

    async def show(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        if not SLUG.fullmatch(slug):
            return render("missing.html", 404)
        try:
            link = await run_in_threadpool(self.service.links.preview, slug)
        except NotFound:
            return render("missing.html", 404)
        return self._page(link)

    async def open(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        if not SLUG.fullmatch(slug):
            return render("missing.html", 404)
        try:
            form = await read_form(request)
        except TooLarge:
            return form_too_large()
        links = self.service.links
        address = client_address(request)
        try:
            link, revealed = await run_in_threadpool(
                links.unlock, slug, form.get("password", ""), address=address
            )
        except NotFound:
            return render("missing.html", 404)
        except WrongPassword:
            link = await run_in_threadpool(links.preview, slug)
            return self._page(link, notice="That password is not right.", status=401)
        except (RateLimited, Busy) as error:
            link = await run_in_threadpool(links.preview, slug)
            wait = f"{error.retry_after} seconds"
            if isinstance(error, RateLimited):
                notice = f"Too many wrong passwords. Wait {wait}."
            else:
                notice = f"The server is busy. Try again in {wait}."
            response = self._page(link, notice=notice, status=error.status)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except (Forbidden, Gone):
            link = await run_in_threadpool(links.preview, slug)
            return self._page(link)
        if revealed.type == "url":
            return RedirectResponse(
                revealed.secret,
                status_code=303,
                headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            )
        return render("revealed.html", link=link, secret=revealed.secret)
