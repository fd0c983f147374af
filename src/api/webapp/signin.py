"""Signing in to the web app: the sign-in and sign-up forms, and signing out.

A session is an ordinary login token, named ``web session``, kept in the cookie
``lockr_session`` (``HttpOnly``, ``SameSite=Lax``, ``Secure`` when lockr is served
over https), so the JSON API, the links pages and every other page know the caller
by it (:meth:`gateway.auth.Authenticator.session`). Signing out revokes the token;
so does a password change that signs out everywhere else, from another session.

The forms work without scripts. A form posted from another origin is refused (the
browser's ``Origin`` and ``Sec-Fetch-Site``, before any password is looked at), and
signing out needs the session's CSRF token too."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from api.pages import refusal, render
from api.requests import (
    SESSION_COOKIE,
    client_address,
    core_of,
    local_path,
    read_form,
    request_source,
    web_session,
)
from gateway.accounts import AccountInfo
from gateway.core import Core
from gateway.errors import CrossSite, Forbidden, LockrError, TooLarge
from gateway.secret import same_secret

HOME = "/files"
SESSION_NAME = "web session"


async def _new_session(core: Core, account_of: Callable[[], AccountInfo]) -> str:
    """The token of a new web session of the account ``account_of`` answers (checking
    a password, or making the account), both on one worker thread."""

    def sign_in() -> str:
        _info, token = core.accounts.create_token(account_of().id, SESSION_NAME)
        return token

    return await run_in_threadpool(sign_in)


def _signed_in(request: Request, token: str, to: str) -> Response:
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=core_of(request).config.https,
        path="/",
    )
    return response


async def _form(request: Request) -> dict[str, str] | Response:
    """The posted form, or the page refusing it (another origin, too large)."""
    try:
        core_of(request).auth.refuse_cross_site(
            request_source(request), "this form was sent from another site"
        )
        return await read_form(request)
    except (CrossSite, TooLarge) as error:
        return refusal(request, "refused.html", error)


async def login_page(request: Request) -> Response:
    """GET /login: the sign-in form; a signed-in browser goes on to ``next``."""
    to = local_path(request.query_params.get("next"), HOME)
    if await web_session(request) is not None:
        return RedirectResponse(to, status_code=303)
    return render(request, "login.html", notice="", identifier="", next=to)


async def login(request: Request) -> Response:
    """POST /login identifier, password, next: a session, and on to ``next``."""
    form = await _form(request)
    if isinstance(form, Response):
        return form
    core = core_of(request)
    identifier = form.get("identifier", "").strip()
    to = local_path(form.get("next"), HOME)
    password, address = form.get("password", ""), client_address(request)
    try:
        token = await _new_session(
            core, lambda: core.auth.check_password(identifier, password, address=address)
        )
    except LockrError as error:
        return refusal(request, "login.html", error, identifier=identifier, next=to)
    return _signed_in(request, token, to)


async def signup_page(request: Request) -> Response:
    """GET /signup: the form to create an account."""
    if await web_session(request) is not None:
        return RedirectResponse(HOME, status_code=303)
    return render(request, "signup.html", notice="", username="", email="")


async def signup(request: Request) -> Response:
    """POST /signup username, email, password: a new account, signed in."""
    form = await _form(request)
    if isinstance(form, Response):
        return form
    core = core_of(request)
    username, email = form.get("username", "").strip(), form.get("email", "").strip()
    password, address = form.get("password", ""), client_address(request)
    try:
        token = await _new_session(
            core, lambda: core.accounts.sign_up(username, email, password, address=address)
        )
    except LockrError as error:
        return refusal(request, "signup.html", error, username=username, email=email)
    return _signed_in(request, token, HOME)


async def logout(request: Request) -> Response:
    """POST /logout csrf: the session's token is revoked and its cookie cleared."""
    form = await _form(request)
    if isinstance(form, Response):
        return form
    session = await web_session(request)
    if session is not None:
        principal, csrf = session
        if not same_secret(form.get("csrf", ""), csrf):
            expired = Forbidden("The form has expired: reload the page and try again.")
            return refusal(request, "refused.html", expired)
        if principal.token_id is not None:
            await run_in_threadpool(
                core_of(request).accounts.revoke_token, principal.account_id, principal.token_id
            )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/signup", signup_page, methods=["GET"]),
    Route("/signup", signup, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
