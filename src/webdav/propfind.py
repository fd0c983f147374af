"""PROPFIND answered straight from engine entries, for the request clients send most.

rclone lists every folder with a PROPFIND of Depth 1 naming a few live properties;
a sync of a large tree is mostly such listings. wsgidav builds an ElementTree per
response and looks every property up through its generic machinery, which costs
more than the listing itself. This module answers exactly that shape itself:

- Depth ``0`` or ``1`` inside the caller's home, no conditional headers;
- a ``<prop>`` list of ``DAV:`` properties and ownCloud's ``checksums`` and
  ``permissions`` (other namespaces may name dead properties);
- an account that holds no locks (``lockdiscovery`` is then empty).

Anything else (allprop, propname, other properties, locks, errors) goes to wsgidav,
which gives the same properties the same values: a test compares the two answers.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from wsgidav.util import get_rfc3339_time

from gateway.errors import BadRequest, NotFound
from gateway.storage import Entry
from gateway.timefmt import http_date
from webdav.resources import OC, display_name, home_path, principal_of, usage

if TYPE_CHECKING:
    from webdav.provider import LockrProvider
    from webdav.state import DbLockStorage

DAV = "{DAV:}"
MAX_BODY = 64 * 1024
HREF_SAFE = "/!*'(),$-_|."
CONDITIONAL = (
    "HTTP_IF",
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)
SUPPORTED_LOCK = (
    "<d:supportedlock>"
    "<d:lockentry><d:lockscope><d:exclusive/></d:lockscope>"
    "<d:locktype><d:write/></d:locktype></d:lockentry>"
    "<d:lockentry><d:lockscope><d:shared/></d:lockscope>"
    "<d:locktype><d:write/></d:locktype></d:lockentry>"
    "</d:supportedlock>"
)
OWNCLOUD = {OC + "checksums": "oc:checksums", OC + "permissions": "oc:permissions"}


class FastPropfind:
    """Answers a PROPFIND of the common shape, or returns ``None`` to let wsgidav."""

    def __init__(self, provider: LockrProvider, locks: DbLockStorage) -> None:
        self.provider = provider
        self.locks = locks

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        depth = environ.get("HTTP_DEPTH")
        if depth not in ("0", "1") or any(name in environ for name in CONDITIONAL):
            return None
        names = _requested_names(environ)
        if names is None or not all(name.startswith(DAV) or name in OWNCLOUD for name in names):
            return None
        principal = principal_of(environ)
        path: str = environ["PATH_INFO"]
        inner = home_path(environ, path)
        if inner is None or not self.locks.home_is_lock_free():
            return None
        parts = [part for part in path.split("/") if part]
        storage = self.provider.core.storage
        try:
            entry = storage.stat(principal.account_id, inner)
            children = storage.children_of(entry) if depth == "1" and entry.is_dir else []
        except (NotFound, BadRequest):
            return None
        used, quota = usage(environ)
        render = _Renderer(names, used, max(0, quota - used), principal.username)
        base = self.provider.mount_path + self.provider.share_path + "/" + "/".join(parts)
        chunks = ['<?xml version="1.0" encoding="utf-8"?>\n']
        chunks.append('<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">')
        chunks.append(render.response(base, entry))
        for child in children:
            chunks.append(render.response(base + "/" + child.name, child))
        chunks.append("</d:multistatus>")
        body = "".join(chunks).encode()
        start_response(
            "207 Multi-Status",
            [
                ("Content-Type", "application/xml; charset=utf-8"),
                ("Date", http_date(time.time())),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]


def _requested_names(environ: dict[str, Any]) -> list[str] | None:
    """The property names of a ``<propfind><prop>…</prop></propfind>`` body, or
    ``None`` for any other body. The body is put back for wsgidav either way."""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0 or length > MAX_BODY:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    if root.tag != DAV + "propfind" or len(root) != 1 or root[0].tag != DAV + "prop":
        return None
    return [element.tag for element in root[0]]


class _Renderer:
    """One ``<d:response>`` per entry, values as wsgidav gives them."""

    def __init__(self, names: list[str], used: int, available: int, home: str) -> None:
        self.home = home
        self.used = f"<d:quota-used-bytes>{used}</d:quota-used-bytes>"
        self.available = f"<d:quota-available-bytes>{available}</d:quota-available-bytes>"
        self.props = [(_property(name, self), _empty(name)) for name in names]

    def response(self, path: str, entry: Entry) -> str:
        values = [value_of(entry) for value_of, _ in self.props]
        found = [value for value in values if value is not None]
        missing = [
            empty for (_, empty), value in zip(self.props, values, strict=True) if value is None
        ]
        href = quote(path + "/" if entry.is_dir else path, safe=HREF_SAFE)
        out = [f"<d:response><d:href>{escape(href)}</d:href>"]
        groups = [(found, "200 OK"), (missing, "404 Not Found")]
        if values and values[0] is None:
            groups.reverse()  # wsgidav orders the groups by their first property
        for props, status in groups:
            if props:
                out.append(
                    f"<d:propstat><d:prop>{''.join(props)}</d:prop>"
                    f"<d:status>HTTP/1.1 {status}</d:status></d:propstat>"
                )
        out.append("</d:response>")
        return "".join(out)


Property = Callable[[Entry], "str | None"]


def _property(name: str, renderer: _Renderer) -> Property:
    """How to render the property ``name`` of an entry (``None``: it has none)."""
    if name == OC + "permissions":
        return lambda e: (
            "<oc:permissions>RDNVCK</oc:permissions>"
            if e.is_dir
            else "<oc:permissions>RDNVW</oc:permissions>"
        )
    if name == OC + "checksums":
        return lambda e: (
            None
            if e.is_dir
            else "<oc:checksums><oc:checksum>"
            f"SHA1:{e.sha1} MD5:{e.md5}</oc:checksum></oc:checksums>"
        )
    local = name[len(DAV) :]
    constant = {
        "lockdiscovery": "<d:lockdiscovery/>",
        "supportedlock": SUPPORTED_LOCK,
        "quota-used-bytes": renderer.used,
        "quota-available-bytes": renderer.available,
    }.get(local)
    if constant is not None:
        return lambda e: constant
    if local == "resourcetype":
        return lambda e: (
            "<d:resourcetype><d:collection/></d:resourcetype>" if e.is_dir else "<d:resourcetype/>"
        )
    if local == "displayname":
        return lambda e: f"<d:displayname>{escape(display_name(e, renderer.home))}</d:displayname>"
    text = _TEXT.get(local)
    if text is None:
        return lambda e: None
    files_only = local in _FILES_ONLY
    open_tag, close_tag = f"<d:{local}>", f"</d:{local}>"

    def value(e: Entry) -> str | None:
        if files_only and e.is_dir:
            return None
        return open_tag + escape(text(e)) + close_tag

    return value


_TEXT: dict[str, Callable[[Entry], str]] = {
    "creationdate": lambda e: get_rfc3339_time(e.created_at),
    "getlastmodified": lambda e: http_date(e.mtime),
    "getcontentlength": lambda e: str(e.size),
    "getcontenttype": lambda e: e.content_type or "application/octet-stream",
    "getetag": lambda e: e.md5 or "",
}
_FILES_ONLY = {"getcontentlength", "getcontenttype", "getetag"}


def _empty(name: str) -> str:
    if name in OWNCLOUD:
        return f"<{OWNCLOUD[name]}/>"
    return f"<d:{name[len(DAV) :]}/>"
