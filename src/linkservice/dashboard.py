"""The links page of the web app: the account's links (with an "API" badge on
API-created ones), a form to create one and buttons to delete them, under the web
app's one sign-in and navigation (:mod:`api.webapp`; the links API key is in its
Settings). Every form carries the session's CSRF token and every POST checks it, and
a POST from another origin is refused outright. The dashboard's old addresses
(``/dashboard``…) lead to the new ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from api.layout import page_time, render_page
from api.requests import read_form, request_source, web_session
from gateway.auth import Principal
from gateway.errors import BadRequest, Busy, CrossSite, LockrError, NotFound, TooLarge
from gateway.numbers import whole_number
from gateway.secret import same_secret
from linkservice.pages import TEMPLATES, form_too_large, render
from linkservice.service import LinkService
from linkservice.validation import COMMON_FIELDS, MEMO_FIELDS, parse_link_request

FORM_FIELDS = COMMON_FIELDS | MEMO_FIELDS | {"targetUrl"}
"""The new-link form's fields: the links API's, but ``link`` (``targetUrl``'s alias)."""


class Dashboard:
    def __init__(self, service: LinkService) -> None:
        self.service = service
        self.core = service.core

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/links", self.links_page, methods=["GET"]),
            Route("/links", self.create_link, methods=["POST"]),
            Route("/links/{link_id}/delete", self.delete_link, methods=["POST"]),
            # The dashboard's old addresses.
            Route("/dashboard", _moved("/links"), methods=["GET"]),
            Route("/dashboard/login", _moved("/login"), methods=["GET"]),
            Route("/dashboard/settings", _moved("/settings"), methods=["GET"]),
        ]

    async def _posted(self, request: Request) -> tuple[Principal, str, dict[str, str]] | Response:
        """The session (principal, CSRF token) and form of a POST of the links page, or
        the response refusing it: from another site, signed out, too large, or without
        the CSRF token."""
        try:
            self.core.auth.refuse_cross_site(
                request_source(request), "this form was sent from another site"
            )
        except CrossSite:
            return render("missing.html", 403)
        session = await web_session(request)
        if session is None:
            return _signed_out()
        principal, csrf = session
        try:
            form = await read_form(request)
        except TooLarge:
            return form_too_large()
        if not same_secret(form.get("csrf", ""), csrf):
            return _plain_page("The form has expired: reload the page and try again.", 403)
        return principal, csrf, form

    async def links_page(self, request: Request) -> Response:
        """GET /links: the account's links, a page at a time, and the form for a new one."""
        session = await web_session(request)
        if session is None:
            return _signed_out()
        return await self._page(request, *session)

    async def _page(
        self,
        request: Request,
        principal: Principal,
        csrf: str,
        *,
        problem: str = "",
        form: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        """The links page of the session of ``principal`` and ``csrf``; after a refused
        form, saying why (``problem``) and keeping what was typed (``form``)."""
        cursor = request.query_params.get("cursor") or None
        try:
            links, next_cursor = await run_in_threadpool(
                self.service.links.page, principal.account_id, cursor=cursor, limit=50
            )
        except BadRequest:
            links, next_cursor = await run_in_threadpool(
                self.service.links.page, principal.account_id, limit=50
            )
        created = request.query_params.get("created", "")
        rows = [
            {
                "id": link.id,
                "memo": link.memo,
                "type": link.type,
                "source": link.source,
                "short_url": self.service.short_url(link.slug),
                "access_count": link.access_count,
                "redirect_limit": link.redirect_limit,
                "created": page_time(link.created_at),
            }
            for link in links
        ]
        return render_page(
            TEMPLATES,
            "dashboard.html",
            self.core.config.public_url,
            status,
            links=rows,
            next_cursor=next_cursor,
            created=self.service.short_url(created) if created.isascii() and created else "",
            problem=problem,
            form={name: (form or {}).get(name, "") for name in FORM_FIELDS},
            section="links",
            account=principal.account,
            csrf=csrf,
        )

    async def create_link(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        principal, csrf, form = posted
        try:
            body = _link_body(form)
            link_request = parse_link_request(body, now=self.core.clock())
            info, _used = await run_in_threadpool(
                self.service.links.create, principal.account_id, link_request, source="dashboard"
            )
        except LockrError as error:
            kept = {k: v for k, v in form.items() if k not in ("password", "secretMemo")}
            status = error.status if isinstance(error, Busy) else 400
            return await self._page(
                request, principal, csrf, problem=error.message, form=kept, status=status
            )
        return RedirectResponse(f"/links?created={quote(info.slug)}", status_code=303)

    async def delete_link(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        principal, _csrf, _form = posted
        try:
            await run_in_threadpool(
                self.service.links.delete, principal.account_id, request.path_params["link_id"]
            )
        except NotFound:
            pass  # already gone: the list shows the truth
        return RedirectResponse("/links", status_code=303)


def _signed_out() -> Response:
    return RedirectResponse("/login?next=/links", status_code=303)


def _moved(to: str) -> Callable[[Request], Awaitable[Response]]:
    async def moved(_request: Request) -> Response:
        return RedirectResponse(to, status_code=301)

    return moved


def _link_body(form: dict[str, str]) -> dict[str, Any]:
    """The API's JSON shape from the dashboard form: blank fields are left out, the
    other type's field is dropped, and the access limit must be a whole number."""
    kind = form.get("type", "url")
    body: dict[str, Any] = {"type": kind}
    for name in ("password", "memo", "customSlug", "startTime", "expireTime"):
        if form.get(name, "").strip():
            body[name] = form[name] if name == "password" else form[name].strip()
    if kind == "url":
        body["targetUrl"] = form.get("targetUrl", "").strip() or None
    else:
        body["secretMemo"] = form.get("secretMemo") or None
    limit = form.get("redirectLimit", "").strip()
    if limit:
        body["redirectLimit"] = whole_number(limit, "redirectLimit")
    return body


def _plain_page(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")
