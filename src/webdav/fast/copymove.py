"""COPY and MOVE inside the caller's home, done by the engine in one step (a copy
shares blobs; a move keeps ids), for requests without conditions or locks.

``Overwrite`` T or F (412 when F and the destination exists), Depth infinity,
``X-OC-Mtime`` applied (answered ``X-OC-Mtime: accepted``); 201 for a new destination,
204 for a replaced one, 404 without a source, 409 without the destination's folder.
Another host, the root, another home, a source and destination that are the same or
nested, a Depth 0 copy: wsgidav's (:mod:`webdav.copymove`)."""

from __future__ import annotations

from gateway.errors import NotFound
from webdav.answers import MTIME_ACCEPTED, Answer, Receive, empty, error_page
from webdav.fast.dispatch import CONDITIONAL, Fast, dotted
from webdav.request import DavRequest, destination_path, home_path, parse_mtime


async def copy_move(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """COPY or MOVE inside the caller's home, or ``None``."""
    headers = request.headers
    overwrite = headers.get("overwrite", "T").upper()
    if (
        overwrite not in ("T", "F")
        or headers.get("depth", "infinity").lower() != "infinity"
        or "destination" not in headers
        or any(name in headers for name in CONDITIONAL)
    ):
        return None
    return await fast.run(_copy_move, request, fast, overwrite == "T")


def _copy_move(request: DavRequest, fast: Fast, overwrite: bool) -> Answer | None:
    inner = fast.enter(request, plain=True)
    if not inner:
        return None
    headers = request.headers
    hosts = (headers.get("host", ""), headers.get("x-forwarded-host", ""))
    target = destination_path(headers["destination"], hosts=hosts, mount=fast.mount)
    dst = None if target is None else home_path(request.caller.username, target)
    if (
        not dst
        or dotted(dst)
        or (dst + "/").startswith(inner + "/")
        or (inner + "/").startswith(dst + "/")
    ):
        return None
    source = fast.lookup(request, inner)
    if source is None:
        return error_page(404, request.normal_path)
    existed = fast.lookup(request, dst) is not None
    if existed and not overwrite:
        return error_page(412, "destination exists")
    mtime = parse_mtime(headers.get("x-oc-mtime"))
    storage, account_id = fast.core.storage, request.caller.account_id
    try:
        if request.method == "MOVE":
            storage.move(account_id, source, dst, overwrite=True, mtime=mtime)
        else:
            storage.copy(account_id, source, dst, overwrite=True, mtime=mtime)
    except NotFound:
        return error_page(409, "destination folder missing")
    return empty(204 if existed else 201, [MTIME_ACCEPTED] if "x-oc-mtime" in headers else [])
