"""Checking a link request (the links seed's field table) before anything is stored.

Every refusal is a :class:`BadRequest` whose message starts with the field's name, so
a client can tell what to fix. The same rules serve the API and the dashboard form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.errors import BadRequest
from gateway.timefmt import optional_time

TYPES = ("url", "memo")
SLUG = re.compile(r"[a-z0-9-]{3,30}")
MAX_URL = 2048
MAX_SECRET_MEMO = 10_000
MAX_MEMO = 200
MIN_PASSWORD = 4
MAX_PASSWORD = 1024
MAX_REDIRECT_LIMIT = 1_000_000
# First path segments the service itself uses (or may), which no link may take.
RESERVED_SLUGS = frozenset(
    {
        "about",
        "account",
        "accounts",
        "admin",
        "api",
        "app",
        "assets",
        "dashboard",
        "dav",
        "docs",
        "download",
        "downloads",
        "files",
        "healthz",
        "help",
        "links",
        "login",
        "logout",
        "new",
        "privacy",
        "settings",
        "signin",
        "signup",
        "static",
        "terms",
        "upload",
        "uploads",
        "webdav",
        "www",
    }
)
COMMON_FIELDS = {
    "type",
    "password",
    "memo",
    "customSlug",
    "redirectLimit",
    "startTime",
    "expireTime",
}
URL_FIELDS = {"targetUrl", "link"}
MEMO_FIELDS = {"secretMemo"}


@dataclass(frozen=True)
class LinkRequest:
    """A checked request to create a link; ``secret`` is the target URL or the memo."""

    type: str
    secret: str
    password: str
    memo: str
    slug: str | None
    redirect_limit: int | None
    start_time: float | None
    expire_time: float | None


def parse_link_request(body: Mapping[str, Any], *, now: float) -> LinkRequest:
    """Check ``body`` (the JSON object of ``POST /api/v1/links``)."""
    kind = body.get("type")
    if "type" not in body:
        raise BadRequest("type is required: use url or memo")
    if not isinstance(kind, str) or kind not in TYPES:
        raise BadRequest("type must be url or memo")
    own, other = (URL_FIELDS, MEMO_FIELDS) if kind == "url" else (MEMO_FIELDS, URL_FIELDS)
    for name in body:
        if name in other:
            raise BadRequest(f"{name} does not belong to a {kind} link")
        if name not in COMMON_FIELDS and name not in own:
            raise BadRequest(f"{name} is not a known field")
    secret = _target_url(body) if kind == "url" else _secret_memo(body)
    password = _string(body, "password", low=MIN_PASSWORD, high=MAX_PASSWORD)
    memo = _string(body, "memo", low=1, high=MAX_MEMO).strip()
    if not memo:
        raise BadRequest("memo cannot be blank")
    start = _time(body, "startTime")
    expire = _time(body, "expireTime")
    if expire is not None:
        if start is not None and expire <= start:
            raise BadRequest("expireTime must be after startTime")
        if expire <= now:
            raise BadRequest("expireTime must be in the future")
    return LinkRequest(
        type=kind,
        secret=secret,
        password=password,
        memo=memo,
        slug=_slug(body),
        redirect_limit=_redirect_limit(body),
        start_time=start,
        expire_time=expire,
    )


def _string(body: Mapping[str, Any], name: str, *, low: int, high: int) -> str:
    """The required string field ``name``, ``low`` to ``high`` characters long."""
    value = body.get(name)
    if value is None:
        raise BadRequest(f"{name} is required")
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if len(value) < low:
        raise BadRequest(
            f"{name} cannot be empty" if low == 1 else f"{name} must be at least {low} characters"
        )
    if len(value) > high:
        raise BadRequest(f"{name} must be at most {high} characters")
    return value


def _target_url(body: Mapping[str, Any]) -> str:
    if "targetUrl" in body and "link" in body:
        raise BadRequest("targetUrl and link are the same field: send one of them")
    name = "link" if "link" in body else "targetUrl"
    if name not in body or body[name] is None:
        raise BadRequest("targetUrl (or link) is required for a url link")
    value = _string(body, name, low=1, high=MAX_URL)
    if any(ord(char) <= 32 or ord(char) == 127 for char in value):
        raise BadRequest(f"{name} cannot contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise BadRequest(f"{name} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{name} must be an absolute http:// or https:// URL")
    return value


def _secret_memo(body: Mapping[str, Any]) -> str:
    value = _string(body, "secretMemo", low=1, high=MAX_SECRET_MEMO)
    if not value.strip():
        raise BadRequest("secretMemo cannot be blank")
    return value


def _slug(body: Mapping[str, Any]) -> str | None:
    value = body.get("customSlug")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest("customSlug must be a string")
    if not SLUG.fullmatch(value):
        raise BadRequest("customSlug must be 3-30 characters of lowercase letters, digits and '-'")
    if value in RESERVED_SLUGS:
        raise BadRequest(f"customSlug {value!r} is reserved; choose another")
    return value


def _redirect_limit(body: Mapping[str, Any]) -> int | None:
    value = body.get("redirectLimit")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("redirectLimit must be a positive integer")
    if value < 1:
        raise BadRequest("redirectLimit must be a positive integer")
    if value > MAX_REDIRECT_LIMIT:
        raise BadRequest(f"redirectLimit must be at most {MAX_REDIRECT_LIMIT}")
    return value


def _time(body: Mapping[str, Any], name: str) -> float | None:
    return optional_time(body.get(name), name)
