"""The web app's pages: Files and Settings (their scripts do the rest, as clients of
the JSON API), and the old addresses that lead to them. A page asked for without a
session leads to the sign-in form, and back after it."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.pages import render
from api.requests import core_of, web_session
from gateway import rclone


async def _app_page(request: Request, template: str, section: str, **context: object) -> Response:
    session = await web_session(request)
    if session is None:
        back = quote(request.url.path)
        return RedirectResponse("/login?" + urlencode({"next": back}), status_code=303)
    principal, csrf = session
    page = {"section": section, "account": principal.account, "csrf": csrf, **context}
    return render(request, template, 200, **page)


async def files_page(request: Request) -> Response:
    """GET /files and /files/<folder path>: the file manager."""
    return await _app_page(request, "files.html", "files")


async def settings_page(request: Request) -> Response:
    """GET /settings: the account, its password, tokens, S3 keys, rclone remotes and
    the links API key."""
    config = core_of(request).config
    return await _app_page(
        request,
        "settings.html",
        "settings",
        dav_url=rclone.webdav_url(config),
        s3_endpoint=rclone.s3_endpoint(config),
    )


async def guest_page(request: Request) -> Response:
    """GET /upload: an upload without an account (up to the guest limit), and its
    download link; a signed-in browser goes to its files instead."""
    if await web_session(request) is not None:
        return RedirectResponse("/files", status_code=303)
    limit = core_of(request).config.max_guest_object_size
    return render(request, "guest.html", max_size=limit)


async def home(request: Request) -> Response:
    return RedirectResponse("/files", status_code=303)


async def account(request: Request) -> Response:
    """GET /account, the old sign-up and account page: its settings when signed in,
    else the sign-up form (where the storage seed sends new users)."""
    signed_in = await web_session(request) is not None
    return RedirectResponse("/settings" if signed_in else "/signup", status_code=303)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/account", account, methods=["GET"]),
    Route("/files", files_page, methods=["GET"]),
    Route("/files/{path:path}", files_page, methods=["GET"]),
    Route("/settings", settings_page, methods=["GET"]),
    Route("/upload", guest_page, methods=["GET"]),
]
