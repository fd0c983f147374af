"""MKCOL and DELETE: one folder made, or a file or folder tree removed, by the engine.

Answers as wsgidav's: MKCOL 201, 405 where anything exists (rclone reads 409 as a
missing parent), 409 where the parent folder is missing; DELETE 204, or 404. Requests
with a body or an unusual Depth, and the home itself, are wsgidav's."""

from __future__ import annotations

from typing import Literal

from gateway.errors import Exists, NotFound
from webdav.answers import Answer, Receive, empty, error_page
from webdav.fast.dispatch import Fast, has_body
from webdav.request import DavRequest

MKCOL_ON_MAPPED = "MKCOL can only be executed on an unmapped URL."


async def mkcol(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """MKCOL of a folder inside the caller's home, or ``None``."""
    if has_body(request) or request.headers.get("depth", "0") != "0":
        return None
    # rclone asks before every upload: an existing name is answered with one lookup
    # (as wsgidav does, before it looks at locks), a read.
    found = await fast.read(_mkcol_found, request, fast)
    if found is not False:
        return found
    return await fast.run(_mkcol, request, fast)


def _mkcol_found(request: DavRequest, fast: Fast) -> Answer | None | Literal[False]:
    """The answer to a MKCOL of a name in use, ``None`` to leave it to wsgidav, or
    ``False`` for a name not in use (the folder is made next, in a worker thread)."""
    inner = fast.enter(request, plain=False)
    if not inner:
        return None
    if fast.lookup(request, inner) is not None:
        return error_page(405, MKCOL_ON_MAPPED)
    return False


def _mkcol(request: DavRequest, fast: Fast) -> Answer | None:
    inner = fast.enter(request, plain=True)
    if not inner:
        return None
    try:
        fast.core.storage.mkdir(request.caller.account_id, inner)
    except (NotFound, Exists):
        # The parent is missing or a file; or a MKCOL of the same name came first.
        if fast.lookup(request, inner) is not None:
            return error_page(405, MKCOL_ON_MAPPED)
        return error_page(409, "Parent must be an existing collection.")
    return empty(201)


async def delete(fast: Fast, request: DavRequest, receive: Receive) -> Answer | None:
    """DELETE of a file or folder tree inside the caller's home, or ``None``."""
    if has_body(request) or request.headers.get("depth", "infinity").lower() != "infinity":
        return None
    return await fast.run(_delete, request, fast)


def _delete(request: DavRequest, fast: Fast) -> Answer | None:
    inner = fast.enter(request, plain=True)
    if not inner:
        return None
    try:
        fast.core.storage.delete(request.caller.account_id, inner)
    except NotFound:
        return error_page(404, request.normal_path)
    return empty(204)
