"""PROPFIND answered straight from engine entries, for the request clients send most.

rclone lists every folder with a PROPFIND of Depth 1 naming a few live properties,
and reads each file it uploaded back with Depth 0; a sync of a large tree is mostly
such requests. wsgidav builds an ElementTree per response and looks every property up
through its generic machinery, which costs more than the listing itself. This module
answers exactly that shape itself:

- Depth ``0`` or ``1`` inside the caller's home, no conditional headers;
- a ``<prop>`` list of ``DAV:`` properties and ownCloud's ``checksums`` and
  ``permissions`` (other namespaces may name dead properties; no ``DAV:`` one can be
  dead, wsgidav stores none, and the ownCloud ones are always live);
- when ``lockdiscovery`` is asked for, a home that holds no locks (it is then
  empty); rclone's listings do not ask, so they need no look at the home's locks.

Anything else (allprop, propname, other properties, locks, errors) goes to wsgidav,
which gives the same properties the same values: a test compares the two answers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from wsgidav.util import get_rfc3339_time

from gateway.errors import NotFound
from gateway.storage import Entry
from gateway.timefmt import http_date
from webdav.answers import Answer, Receive, error_page
from webdav.fast.dispatch import CONDITIONAL, Fast, read_body
from webdav.names import OC, display_name
from webdav.request import DavRequest

DAV = "{DAV:}"
MAX_BODY = 64 * 1024
HREF_SAFE = "/!*'(),$-_|."
SUPPORTED_LOCK = (
    "<d:supportedlock>"
    "<d:lockentry><d:lockscope><d:exclusive/></d:lockscope>"
    "<d:locktype><d:write/></d:locktype></d:lockentry>"
    "<d:lockentry><d:lockscope><d:shared/></d:lockscope>"
    "<d:locktype><d:write/></d:locktype></d:lockentry>"
    "</d:supportedlock>"
)
OWNCLOUD = {OC + "checksums": "oc:checksums", OC + "permissions": "oc:permissions"}
MULTISTATUS = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
)
XML = (b"content-type", b"application/xml; charset=utf-8")
LOCKS = DAV + "lockdiscovery"
QUOTA = {DAV + "quota-used-bytes", DAV + "quota-available-bytes"}


async def propfind(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """PROPFIND of the shape this module takes (see above), or ``None``."""
    headers = request.headers
    depth = headers.get("depth")
    if depth not in ("0", "1") or any(name in headers for name in CONDITIONAL):
        return None
    body = await read_body(request, receive, MAX_BODY)
    plan = None if not body else plan_for(body)
    if plan is None:
        return None
    return await fast.read(_listing, request, fast, plan, depth == "1")


def _listing(request: DavRequest, fast: Fast, plan: Plan, children: bool) -> Answer | None:
    inner = fast.enter(request, plain=plan.locks)
    if inner is None:
        return None
    principal = request.caller
    storage = fast.core.storage
    try:
        entry = storage.stat(principal.account_id, inner)
    except NotFound:
        return error_page(404, request.normal_path)
    listed = storage.children_of(entry) if children and entry.is_dir else []
    used, quota = storage.usage(principal.account_id) if plan.quota else (0, 0)
    context = _Context(principal.username, used, max(0, quota - used))
    base = fast.mount + request.normal_path.rstrip("/")
    chunks = [MULTISTATUS, plan.response(base, entry, context)]
    chunks.extend(plan.response(base + "/" + child.name, child, context) for child in listed)
    chunks.append("</d:multistatus>")
    body = "".join(chunks).encode()
    return Answer(207, [XML, (b"content-length", b"%d" % len(body))], body)


def plan_for(body: bytes) -> Plan | None:
    """How to answer a PROPFIND with this body, or ``None`` when it is not the shape
    this module takes. Clients send the same few bodies again and again: the plans
    of the last :data:`PLANS` short ones are kept."""
    if len(body) > PLAN_BODY:
        return _plan_for(body)
    return _remembered_plan_for(body)


def _plan_for(body: bytes) -> Plan | None:
    names = requested_names(body)
    if names is None or not all(name.startswith(DAV) or name in OWNCLOUD for name in names):
        return None
    return Plan(names)


PLANS = 64
PLAN_BODY = 4096
_remembered_plan_for = functools.lru_cache(maxsize=PLANS)(_plan_for)


def requested_names(body: bytes) -> list[str] | None:
    """The property names of a ``<propfind><prop>…</prop></propfind>`` body, or
    ``None`` for any other body."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    if root.tag != DAV + "propfind" or len(root) != 1 or root[0].tag != DAV + "prop":
        return None
    return [element.tag for element in root[0]]


class _Context:
    """What a response says beside the entry: the caller's name and usage."""

    __slots__ = ("available", "home", "used")

    def __init__(self, home: str, used: int, available: int) -> None:
        self.home = home
        self.used = f"<d:quota-used-bytes>{used}</d:quota-used-bytes>"
        self.available = f"<d:quota-available-bytes>{available}</d:quota-available-bytes>"


Property = Callable[[Entry, _Context], "str | None"]


class Plan:
    """The answer to one list of property names: one ``<d:response>`` per entry,
    values as wsgidav gives them. ``locks``: whether lockdiscovery is asked for;
    ``quota``: whether the account's usage is."""

    def __init__(self, names: list[str]) -> None:
        self.props = [(_property(name), _empty(name)) for name in names]
        self.locks = LOCKS in names
        self.quota = bool(QUOTA.intersection(names))

    def response(self, path: str, entry: Entry, context: _Context) -> str:
        values = [value_of(entry, context) for value_of, _ in self.props]
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


def _property(name: str) -> Property:
    """How to render the property ``name`` of an entry (``None``: it has none)."""
    if name == OC + "permissions":
        return lambda e, _: (
            "<oc:permissions>RDNVCK</oc:permissions>"
            if e.is_dir
            else "<oc:permissions>RDNVW</oc:permissions>"
        )
    if name == OC + "checksums":
        return lambda e, _: (
            None
            if e.is_dir
            else "<oc:checksums><oc:checksum>"
            f"SHA1:{e.sha1} MD5:{e.md5}</oc:checksum></oc:checksums>"
        )
    local = name[len(DAV) :]
    if local == "quota-used-bytes":
        return lambda e, context: context.used
    if local == "quota-available-bytes":
        return lambda e, context: context.available
    constant = {"lockdiscovery": "<d:lockdiscovery/>", "supportedlock": SUPPORTED_LOCK}.get(local)
    if constant is not None:
        return lambda e, _: constant
    if local == "resourcetype":
        return lambda e, _: (
            "<d:resourcetype><d:collection/></d:resourcetype>" if e.is_dir else "<d:resourcetype/>"
        )
    if local == "displayname":
        return lambda e, context: (
            f"<d:displayname>{escape(display_name(e, context.home))}</d:displayname>"
        )
    text = _TEXT.get(local)
    if text is None:
        return lambda e, _: None
    files_only = local in _FILES_ONLY
    open_tag, close_tag = f"<d:{local}>", f"</d:{local}>"

    def value(e: Entry, _: _Context) -> str | None:
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
