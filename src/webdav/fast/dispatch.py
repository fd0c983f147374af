"""Which requests the fast path answers, and what every fast answer shares.

A handler looks at the request head (and a small body it may read) in the event
loop, then does all the blocking work of the request in one worker-thread job that
authenticates the caller, resolves the path once, and calls the engine. It returns an
:class:`~webdav.answers.Answer`, or ``None`` to leave the request to wsgidav (then
the caller, if already known, and any body read travel with the request)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from gateway.core import Core
from gateway.errors import LockrError, NotFound
from gateway.logsafe import loggable
from gateway.storage import Entry, split_path
from webdav.answers import Answer, Receive, error_page
from webdav.auth import authenticate, known_caller, refusal
from webdav.errors import dav_status
from webdav.request import DavRequest

log = logging.getLogger("lockr.webdav")
P = ParamSpec("P")
T = TypeVar("T")

CONDITIONAL = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
"""HTTP conditions; a request with an ``If`` header (locks) never takes the fast path."""


class BodyEnded(Exception):
    """The client went away before its body was read whole."""


class Answered(Exception):
    """Raised inside a job to answer at once (an auth refusal, a path over its limits)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class Fast:
    """What fast handlers share: the core, the mount, and the steps every job begins
    with."""

    def __init__(self, core: Core, mount: str) -> None:
        self.core = core
        self.mount = mount
        self.inline_reads = core.db.is_sqlite

    def enter(self, request: DavRequest, *, plain: bool) -> str | None:
        """In a job: authenticate, and return the path inside the caller's home, checked
        against the path limits; ``None`` (leave it to wsgidav) outside the home, for a
        path with dot segments (wsgidav resolves them), and with ``plain`` when the
        home holds a lock or a dead property (one indexed query), which a write, or a
        listing of lockdiscovery or of dead properties, must honour."""
        try:
            authenticate(self.core, request)
        except LockrError as error:
            raise Answered(refusal(error)) from None
        inner = request.home_path()
        if inner is None or "/." in request.path and dotted(inner):
            return None
        if inner:
            split_path(inner)  # a 400 naming the limit, before any lookup
        if plain and not self.plain(request):
            return None
        return inner

    def plain(self, request: DavRequest) -> bool:
        """In a job: whether the caller's home holds no lock and no dead property."""
        return self.core.dav_locks.home_is_plain(request.caller.username)

    def lookup(self, request: DavRequest, inner: str) -> Entry | None:
        """In a job: the entry at ``inner`` in the caller's home, or ``None``."""
        try:
            return self.core.storage.stat(request.caller.account_id, inner)
        except NotFound:
            return None

    async def read(
        self,
        job: Callable[Concatenate[DavRequest, P], T],
        request: DavRequest,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | Answer:
        """Run ``job``, which only reads, as :meth:`run` does: on the event loop itself
        over SQLite when the caller is known without blocking (a read there is a few
        microseconds of a local file, which never waits for a writer in WAL mode, and
        a worker thread would cost more than the read: the hand-off, the GIL passed
        back and forth); in a worker thread otherwise (a password to check, a database
        across the network)."""
        if self.inline_reads and known_caller(self.core, request) is not None:
            return _guarded(job, request, *args, **kwargs)
        return await self.run(job, request, *args, **kwargs)

    async def run(
        self,
        job: Callable[Concatenate[DavRequest, P], T],
        request: DavRequest,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | Answer:
        """Run ``job(request, ...)`` in one of the process's worker threads
        (:mod:`gateway.threads`, shared with the S3 front). A domain error it raises
        is answered as wsgidav's side answers it (:mod:`webdav.errors`); any other
        exception is logged and answered with a bare 500."""
        call = functools.partial(_guarded, job, request, *args, **kwargs)
        return await self.core.threads.run(call)


def _guarded(
    job: Callable[Concatenate[DavRequest, P], T],
    request: DavRequest,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | Answer:
    """``job(request, ...)``, its domain errors answered as wsgidav's side answers them
    (:mod:`webdav.errors`), any other exception logged and answered with a bare 500."""
    try:
        return job(request, *args, **kwargs)
    except Answered as answered:
        return answered.answer
    except LockrError as error:
        return error_page(dav_status(error), error.message)
    except Exception:
        log.exception("WebDAV %s %s failed", request.method, loggable(request.path))
        return error_page(500)


def dotted(path: str) -> bool:
    """Whether ``path`` has a ``.`` or ``..`` segment (which wsgidav answers)."""
    return any(part in (".", "..") for part in path.split("/"))


Handler = Callable[[Fast, DavRequest, Receive], Awaitable[Answer | None]]


class FastPath:
    """The fast path: a handler per method it may take. ``__call__`` answers, or
    returns ``None`` to leave the request to wsgidav."""

    def __init__(self, core: Core, mount: str, handlers: dict[str, Handler]) -> None:
        self.fast = Fast(core, mount)
        self.handlers = handlers

    async def __call__(self, request: DavRequest, receive: Receive) -> Answer | None:
        handler = self.handlers.get(request.method)
        if handler is None or "if" in request.headers:
            return None
        try:
            return await handler(self.fast, request, receive)
        except BodyEnded:
            return error_page(400, "the request body ended early")


def has_body(request: DavRequest) -> bool:
    """Whether the request says it carries a body (which the methods that take none
    refuse: wsgidav answers those)."""
    headers = request.headers
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


async def read_body(request: DavRequest, receive: Receive, limit: int) -> bytes | None:
    """The whole body of a request that declares a Content-Length of at most ``limit``
    (kept on the request, for wsgidav if it answers after all); ``None``, reading
    nothing, for a longer or chunked body. Raises :class:`BodyEnded` when the client
    goes away before the end."""
    headers = request.headers
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return None
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        return None
    if length > limit:
        return None
    chunks = []
    more = length > 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise BodyEnded
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    request.body = b"".join(chunks)
    return request.body
