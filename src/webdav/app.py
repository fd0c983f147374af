"""The WebDAV front: an ASGI app, served by uvicorn on its own listener.

Requests pass, in order: the access log (:mod:`api.access_log`), the mount (a path
outside it is 404), the XML body limit, then the fast path (:mod:`webdav.fast`), which
answers the requests clients send all the time, or, for everything else,
authentication (:mod:`webdav.auth`, the same for both) and wsgidav
(:mod:`webdav.reference`). The listener itself caps request heads
(:mod:`gateway.listeners`)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from api.access_log import AccessLog
from gateway.core import Core
from gateway.errors import LockrError
from webdav.answers import Answer, Receive, Send, empty, send_answer, text
from webdav.auth import authenticate, refusal
from webdav.fast import fast_path
from webdav.reference import PRINCIPAL, wsgidav_app
from webdav.request import DavRequest, Scope

MAX_XML_BODY = 1024 * 1024
XML_METHODS = ("PROPFIND", "PROPPATCH", "LOCK")


def xml_body_limit(request: DavRequest) -> Answer | None:
    """413 for a PROPFIND, PROPPATCH or LOCK body over :data:`MAX_XML_BODY`, before
    any of it is read (wsgidav reads such bodies whole to parse them)."""
    if request.method not in XML_METHODS:
        return None
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        return text(400, "bad Content-Length")
    if length > MAX_XML_BODY:
        message = f"a {request.method} body is at most {MAX_XML_BODY} bytes"
        return text(413, message, [(b"connection", b"close")])
    return None


class DavFront:
    """The WebDAV front over ``core``, as one ASGI app."""

    def __init__(self, core: Core, *, fast: bool = True) -> None:
        self.core = core
        self.mount = core.config.dav_mount.rstrip("/")
        self.reference = wsgidav_app(core)
        self.fast = fast_path(core, self.mount) if fast else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        mount = self.mount
        if mount:
            if not (path == mount or path.startswith(mount + "/")):
                await send_answer(send, empty(404))
                return
            scope = {**scope, "root_path": mount}
            path = path[len(mount) :]
        request = DavRequest(scope, path)
        refused = xml_body_limit(request)
        if refused is not None:
            await send_answer(send, refused)
            return
        if self.fast is not None:
            answer = await self.fast(request, receive)
            if answer is not None:
                await send_answer(send, answer, receive)
                return
        if request.principal is None:  # the fast path may have authenticated it
            try:
                await run_in_threadpool(authenticate, self.core, request)
            except LockrError as error:
                await send_answer(send, refusal(error))
                return
        scope[PRINCIPAL] = request.principal
        if request.body is not None:
            receive = _replaying(request.body, receive)
        await self.reference(scope, receive, send)  # type: ignore[arg-type]


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` for a request whose whole ``body`` was read already."""
    replayed = False

    async def again() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def create_dav_app(core: Core, *, fast: bool = True) -> Any:
    """The WebDAV front over ``core`` with its access log. ``fast=False`` sends every
    request to wsgidav (tests compare the two answers)."""
    return AccessLog(DavFront(core, fast=fast))  # type: ignore[arg-type]
