"""A WebDAV request as the front sees it, read from the ASGI scope once, and the
request headers both WebDAV paths (the fast path and wsgidav) read the same way."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from gateway.auth import Principal
from gateway.errors import BadRequest

Scope = dict[str, Any]
CHECKSUM_ALGORITHMS = ("sha1", "md5", "sha256")


class DavRequest:
    """The method, the path inside the mount (what wsgidav calls ``PATH_INFO``:
    decoded, the mount removed), the headers by lowercase name (repeated ones joined
    with commas), and once authenticated the caller. ``body`` is set when the front
    has read a small body before deciding who answers, so that wsgidav gets it again."""

    __slots__ = ("body", "headers", "method", "path", "principal", "scope")

    def __init__(self, scope: Scope, path: str) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path = path
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        self.headers = headers
        self.principal: Principal | None = None
        self.body: bytes | None = None

    @property
    def caller(self) -> Principal:
        """The authenticated caller (only once the front has authenticated)."""
        assert self.principal is not None
        return self.principal

    def home_path(self) -> str | None:
        """See :func:`home_path`, for this request's path and caller."""
        return home_path(self.caller.username, self.path)

    @property
    def normal_path(self) -> str:
        """The path as wsgidav's pages show it: no empty segments (a trailing slash
        kept)."""
        path = "/" + "/".join(part for part in self.path.split("/") if part)
        return path + "/" if self.path.endswith("/") and path != "/" else path


def home_path(username: str, path: str) -> str | None:
    """The path inside the home of ``username`` of the WebDAV path ``/<username>/a/b``
    (``"a/b"``; ``""`` for the home itself), or ``None`` when ``path`` is the root or
    anywhere outside that home."""
    parts = [part for part in path.split("/") if part]
    if not parts or parts[0] != username:
        return None
    return "/".join(parts[1:])


def parse_mtime(raw: str | None) -> float | None:
    """``X-OC-Mtime: <unix seconds>`` (fractional and negative allowed)."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest("X-OC-Mtime must be unix seconds") from None
    if value != value or abs(value) > 1e11:
        raise BadRequest("X-OC-Mtime is out of range")
    return value


def parse_checksums(raw: str | None) -> dict[str, str]:
    """``OC-Checksum: SHA1:<hex>`` or ``MD5:<hex>`` (several, space-separated)."""
    checks: dict[str, str] = {}
    for item in (raw or "").split():
        algorithm, _, value = item.partition(":")
        if algorithm.lower() in CHECKSUM_ALGORITHMS and value:
            checks[algorithm.lower()] = value.lower()
    return checks


def destination_path(raw: str, *, hosts: tuple[str, ...], mount: str) -> str | None:
    """The path inside the mount that a COPY or MOVE ``Destination`` names (parsed
    before it is decoded, so names with ``?`` or ``#`` work), or ``None`` when it
    names another host than ``hosts`` (the request's Host and X-Forwarded-Host)."""
    split = urlsplit(raw)
    if split.netloc and split.netloc.lower() not in [host.lower() for host in hosts]:
        return None
    path = unquote(split.path)
    if mount and (path == mount or path.startswith(mount + "/")):
        path = path[len(mount) :]
    return path
