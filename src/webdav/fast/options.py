"""OPTIONS inside the caller's home: what may be done there, as wsgidav tells it
(the methods allowed on a folder, a file, or a free name in a folder)."""

from __future__ import annotations

from webdav.answers import Answer, Receive, error_page
from webdav.fast.dispatch import Fast
from webdav.request import DavRequest

ON_FOLDER = b"OPTIONS, HEAD, GET, PROPFIND, DELETE, COPY, MOVE, PROPPATCH, LOCK, UNLOCK"
ON_FILE = b"OPTIONS, HEAD, GET, PROPFIND, PUT, DELETE, COPY, MOVE, PROPPATCH, LOCK, UNLOCK"
ON_FREE_NAME = b"OPTIONS, PUT, MKCOL"
HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-length", b"0"),
    (b"dav", b"1,2"),
    (b"ms-author-via", b"DAV"),
]


async def options(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """OPTIONS of a path inside the caller's home, or ``None``."""
    return await fast.run(_options, request, fast)


def _options(request: DavRequest, fast: Fast) -> Answer | None:
    inner = fast.enter(request, plain=False)
    if inner is None:
        return None
    entry = fast.lookup(request, inner)
    if entry is None:
        parent = fast.lookup(request, inner.rpartition("/")[0])
        if parent is None or not parent.is_dir:
            return error_page(404, request.normal_path)
        return Answer(200, [*HEADERS, (b"allow", ON_FREE_NAME)])
    if entry.is_dir:
        return Answer(200, [*HEADERS, (b"allow", ON_FOLDER)])
    return Answer(200, [*HEADERS, (b"allow", ON_FILE), (b"accept-ranges", b"bytes")])
