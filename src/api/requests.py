"""Request helpers shared by the routes (and by every front's pages): the principal,
the web session, the client address, JSON bodies and forms.

Every route that authenticates goes through :func:`optional_principal`, which tells the
authenticator where the request comes from, so remembered Basic credentials and the
web session's cookie cannot change state from another site (see :mod:`gateway.auth`).
With Basic credentials, a JSON body must also be labelled JSON, so no HTML form can
post one."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gateway.auth import Principal, RequestSource
from gateway.auth import client_address as auth_client_address
from gateway.core import Core
from gateway.errors import BadRequest, TooLarge, Unauthorized, UnsupportedMediaType

MAX_JSON_BODY = 64 * 1024
SESSION_COOKIE = "lockr_session"
"""The web session's cookie: a login token, ``HttpOnly`` and ``SameSite=Lax``."""
CSRF_HEADER = "x-csrf-token"
MAX_FORM = 16 * 1024


def core_of(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


def client_address(request: Request) -> str:
    """The client's address; with ``trust_proxy_headers``, the first X-Forwarded-For hop."""
    return auth_client_address(
        request.client.host if request.client else "",
        request.headers.get("x-forwarded-for"),
        trust_proxy=core_of(request).config.trust_proxy_headers,
    )


def request_source(request: Request, *, own_address: bool = True) -> RequestSource:
    """What the request says about where it comes from, for the authenticator. With
    ``own_address``, the origin it was sent to (scheme and ``Host``) counts as lockr's
    own, as ``public_url``'s does; without it (Basic credentials on the API), only
    ``public_url``'s."""
    host = request.headers.get("host") if own_address else None
    return RequestSource(
        request.method,
        fetch_site=request.headers.get("sec-fetch-site"),
        origin=request.headers.get("origin"),
        listener_origin=f"{request.url.scheme}://{host}" if host else None,
    )


async def optional_principal(request: Request) -> Principal | None:
    """The caller, or ``None`` with no credentials; bad credentials raise 401.

    Without an ``Authorization`` header, the web session's cookie is the caller's
    credential (see :meth:`gateway.auth.Authenticator.session`): a state-changing
    request with it MUST carry the session's CSRF token in ``X-CSRF-Token``."""
    if "principal" in request.scope:
        cached: Principal | None = request.scope["principal"]
        return cached
    header = request.headers.get("authorization")
    session = request.cookies.get(SESSION_COOKIE)
    principal: Principal | None = None
    if header:
        source = request_source(request, own_address=False)
        principal = await run_in_threadpool(
            lambda: core_of(request).auth.resolve(
                header, address=client_address(request), source=source
            )
        )
    elif session:
        principal = await run_in_threadpool(
            lambda: core_of(request).auth.session(
                session,
                source=request_source(request),
                csrf=request.headers.get(CSRF_HEADER),
            )
        )
    request.scope["principal"] = principal
    return principal


async def web_session(request: Request) -> tuple[Principal, str] | None:
    """For a page: the signed-in principal of the session cookie and the session's
    CSRF token (for the page's forms and scripts), or ``None`` when signed out. The
    session is read as a page reads it (``GET``), whatever the method: a form's
    handler checks the origin and the form's CSRF field itself."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    auth = core_of(request).auth
    principal = await run_in_threadpool(
        lambda: auth.session(token, source=RequestSource("GET"), csrf=None)
    )
    if principal is None:
        return None
    return principal, auth.csrf_token(token)


async def require_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise Unauthorized("sign in: send Authorization: Bearer <token> or Basic credentials")
    return principal


async def acting_principal(request: Request, *, allow_guest: bool) -> Principal:
    """The caller; without credentials, the guest principal where guests may act."""
    principal = await optional_principal(request)
    if principal is not None:
        return principal
    if not allow_guest:
        raise Unauthorized("sign in: send Authorization: Bearer <token> or Basic credentials")
    return await run_in_threadpool(core_of(request).auth.guest)


async def rate_limit(request: Request, principal: Principal | None) -> None:
    """Count the request against the account's and the address's burst limits."""
    account_id = None if principal is None or principal.is_guest else principal.account_id
    await run_in_threadpool(
        core_of(request).limiter.check,
        account_id=account_id,
        address=client_address(request),
    )


def is_json(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type, with any parameters."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _check_json_label(request: Request, *, body: bool) -> None:
    """415 for a request with Basic credentials whose body (or declared type) is not
    labelled JSON: an HTML form could have sent it."""
    scheme = request.headers.get("authorization", "").strip().partition(" ")[0]
    if scheme.lower() != "basic" or is_json(request.headers.get("content-type")):
        return
    if body or "content-type" in request.headers:
        raise UnsupportedMediaType(
            "send the body as Content-Type: application/json (required with Basic credentials)"
        )


async def json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, read up to 64 KiB; anything else is a clear 400/413.
    With ``optional``, a request without a body gives ``{}``.

    The Content-Type is insisted on only with Basic credentials (415); otherwise
    ``curl -d '{...}'``, which labels JSON as a form, works."""
    present = has_body(request)
    _check_json_label(request, body=present)
    if optional and not present:
        return {}
    raw = await _read_limited(request, MAX_JSON_BODY, "a JSON body")
    if not raw.strip():
        raise BadRequest("the request needs a JSON object body")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    for name, value in body.items():
        if _holds_lone_surrogate(name) or _holds_lone_surrogate(value):
            raise BadRequest(
                f"field {name!r} holds a lone surrogate escape (\\ud800-\\udfff): "
                "JSON strings must be valid UTF-8 text"
            )
    return body


_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_lone_surrogate(value: object) -> bool:
    """Whether a string anywhere in ``value`` (keys too) holds a lone surrogate: JSON
    may escape one (``"\\ud800"``), but it is no character, and encoding it fails."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def has_body(request: Request) -> bool:
    """Whether the request says it carries a body."""
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or length not in (None, "0")


def check_fields(body: dict[str, Any], *, required: set[str], optional: set[str]) -> None:
    """400 naming the first missing or unknown field."""
    for name in sorted(required):
        if name not in body:
            raise BadRequest(f"field {name!r} is required")
    for name in sorted(body):
        if name not in required and name not in optional:
            raise BadRequest(f"unknown field {name!r}")


async def _read_limited(request: Request, limit: int, what: str) -> bytes:
    """The whole body, or :class:`TooLarge` (``what`` is at most ``limit`` bytes) as
    soon as it passes ``limit``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"{what} is at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form of at most 16 KiB (the first value of each field); past
    that, :class:`TooLarge`."""
    raw = await _read_limited(request, MAX_FORM, "a form")
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def local_path(value: str | None, default: str) -> str:
    """``value`` when it is a path on this site (``/files/a``), else ``default``: a
    page to return to after signing in must never lead elsewhere."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or not value.isascii()
        or any(ord(c) <= 0x20 or c in "\\\x7f" for c in value)
    ):
        return default
    return value
