"""The signed-in dashboard: links (with an "API" badge on API-created ones), a form
to create and buttons to delete them, and Settings for the API key and the month's
quota.

Signing in issues an ordinary login token, kept in an ``HttpOnly``, ``SameSite=Lax``
cookie; signing out revokes it. Every form carries a CSRF token derived from the
session (an HMAC under the server secret) and every POST checks it, and a cross-site
``Origin`` is refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from api.requests import client_address
from gateway.auth import Principal
from gateway.errors import (
    BadRequest,
    Busy,
    LockrError,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
)
from gateway.numbers import whole_number
from gateway.secret import same_secret
from gateway.timefmt import iso
from linkservice.pages import form_too_large, read_form, render
from linkservice.service import LinkService
from linkservice.validation import parse_link_request

COOKIE = "lockr_session"
FORM_FIELDS = (
    "type",
    "targetUrl",
    "secretMemo",
    "password",
    "memo",
    "customSlug",
    "redirectLimit",
    "startTime",
    "expireTime",
)


class Dashboard:
    def __init__(self, service: LinkService) -> None:
        self.service = service
        self.core = service.core
        self._secure = self.core.config.https

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/dashboard", self.links_page, methods=["GET"]),
            Route("/dashboard/login", self.login_page, methods=["GET"]),
            Route("/dashboard/login", self.login, methods=["POST"]),
            Route("/dashboard/logout", self.logout, methods=["POST"]),
            Route("/dashboard/links", self.create_link, methods=["POST"]),
            Route("/dashboard/links/{link_id}/delete", self.delete_link, methods=["POST"]),
            Route("/dashboard/settings", self.settings_page, methods=["GET"]),
            Route("/dashboard/settings/api-key", self.api_key, methods=["POST"]),
        ]

    # -- session and CSRF --------------------------------------------------------------

    def _csrf(self, token: str) -> str:
        return hmac.new(self.core.secret, b"csrf\0" + token.encode(), hashlib.sha256).hexdigest()

    async def _session(self, request: Request) -> tuple[Principal, str] | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        try:
            principal = await run_in_threadpool(self.core.auth.bearer, token)
        except Unauthorized:
            return None
        return principal, token

    def _cross_site(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return origin == "null"
        return urlsplit(origin).netloc != request.headers.get("host", "")

    async def _posted(self, request: Request) -> tuple[Principal, str, dict[str, str]] | Response:
        """The session and form of a dashboard POST, or the response refusing it."""
        if self._cross_site(request):
            return render("missing.html", 403)
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/dashboard/login", status_code=303)
        principal, token = session
        try:
            form = await read_form(request)
        except TooLarge:
            return form_too_large()
        if not same_secret(form.get("csrf", ""), self._csrf(token)):
            return _plain_page("The form has expired: reload the page and try again.", 403)
        return principal, token, form

    def _context(self, principal: Principal, token: str) -> dict[str, Any]:
        return {"account": principal.account, "csrf": self._csrf(token)}

    # -- signing in --------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        return render("login.html", notice="", identifier="")

    async def login(self, request: Request) -> Response:
        if self._cross_site(request):
            return render("missing.html", 403)
        try:
            form = await read_form(request)
        except TooLarge:
            return form_too_large()
        identifier = form.get("identifier", "").strip()
        try:
            account = await run_in_threadpool(
                self.core.auth.check_password,
                identifier,
                form.get("password", ""),
                address=client_address(request),
            )
        except (Unauthorized, RateLimited, Busy) as error:
            page = render("login.html", error.status, notice=error.message, identifier=identifier)
            if error.retry_after is not None:
                page.headers["Retry-After"] = str(error.retry_after)
            return page
        _info, token = await run_in_threadpool(
            self.core.accounts.create_token, account.id, "dashboard"
        )
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="lax", secure=self._secure, path="/"
        )
        return response

    async def logout(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        principal, _token, _form = posted
        if principal.token_id is not None:
            await run_in_threadpool(
                self.core.accounts.revoke_token, principal.account_id, principal.token_id
            )
        response = RedirectResponse("/dashboard/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- links -------------------------------------------------------------------------

    async def links_page(
        self,
        request: Request,
        *,
        problem: str = "",
        form: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/dashboard/login", status_code=303)
        principal, token = session
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
                "created": _when(link.created_at),
            }
            for link in links
        ]
        return render(
            "dashboard.html",
            status,
            links=rows,
            next_cursor=next_cursor,
            created=self.service.short_url(created) if created.isascii() and created else "",
            problem=problem,
            form={name: (form or {}).get(name, "") for name in FORM_FIELDS},
            **self._context(principal, token),
        )

    async def create_link(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        principal, _token, form = posted
        try:
            body = _link_body(form)
            link_request = parse_link_request(body, now=self.core.clock())
            info, _used = await run_in_threadpool(
                self.service.links.create, principal.account_id, link_request, source="dashboard"
            )
        except LockrError as error:
            kept = {k: v for k, v in form.items() if k not in ("password", "secretMemo")}
            status = error.status if isinstance(error, Busy) else 400
            return await self.links_page(request, problem=error.message, form=kept, status=status)
        return RedirectResponse(f"/dashboard?created={quote(info.slug)}", status_code=303)

    async def delete_link(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        principal, _token, _form = posted
        try:
            await run_in_threadpool(
                self.service.links.delete, principal.account_id, request.path_params["link_id"]
            )
        except NotFound:
            pass  # already gone: the list shows the truth
        return RedirectResponse("/dashboard", status_code=303)

    # -- settings ----------------------------------------------------------------------

    async def settings_page(
        self, request: Request, *, new_key: str = "", problem: str = "", status: int = 200
    ) -> Response:
        session = await self._session(request)
        if session is None:
            return RedirectResponse("/dashboard/login", status_code=303)
        principal, token = session
        info = await run_in_threadpool(self.core.api_keys.info, principal.account_id)
        quota = self.service.monthly_quota(principal.account_id)
        used = await run_in_threadpool(self.core.counters.used, quota)
        key = None
        if info is not None:
            key = {
                "prefix": info.prefix,
                "created": _when(info.created_at),
                "last_used": _when(info.last_used_at) if info.last_used_at else "",
            }
        return render(
            "settings.html",
            status,
            key=key,
            new_key=new_key,
            problem=problem,
            quota={
                "used": used,
                "limit": quota.limit,
                "resets": iso(quota.resets_at)[:10],
            },
            **self._context(principal, token),
        )

    async def api_key(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        principal, _token, form = posted
        keys = self.core.api_keys
        action = form.get("action")
        try:
            if action == "create":
                _info, key = await run_in_threadpool(keys.create, principal.account_id)
            elif action == "rotate":
                _info, key = await run_in_threadpool(keys.rotate, principal.account_id)
            elif action == "revoke":
                await run_in_threadpool(keys.revoke, principal.account_id)
                return RedirectResponse("/dashboard/settings", status_code=303)
            else:
                raise BadRequest("unknown action")
        except LockrError as error:
            return await self.settings_page(request, problem=error.message, status=error.status)
        return await self.settings_page(request, new_key=key)


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


def _when(seconds: float) -> str:
    """``2027-01-15 08:00 UTC``: minutes are enough on a page."""
    return iso(seconds)[:16].replace("T", " ") + " UTC"


def _plain_page(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")
