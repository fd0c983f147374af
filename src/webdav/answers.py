"""What the ASGI side of the WebDAV front answers, and how it is sent.

An :class:`Answer` is made in a worker thread (where the engine is called) and sent
from the event loop. Error pages are those wsgidav's side sends (:mod:`webdav.errors`):
the status and lockr's message as plain text, nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from wsgidav.dav_error import (
    HTTP_INTERNAL_ERROR,
    HTTP_NO_CONTENT,
    HTTP_NOT_MODIFIED,
    DAVError,
    get_http_status_string,
)

Headers = list[tuple[bytes, bytes]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

TEXT = (b"content-type", b"text/plain; charset=utf-8")
NO_BODY = (b"content-length", b"0")
MTIME_ACCEPTED = (b"x-oc-mtime", b"accepted")
"""What a PUT, COPY or MOVE that applied ``X-OC-Mtime`` answers (rclone checks it)."""


@dataclass(slots=True)
class Answer:
    """A response: its status, headers (lowercase bytes names), the body's first bytes,
    and ``rest``, the blocks after them, read in worker threads as they are sent."""

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    rest: Iterator[bytes] | None = None


def status_line(status: int) -> str:
    """``404 Not Found``: the status as error pages show it (wsgidav's phrases)."""
    return str(get_http_status_string(status))


def text(status: int, message: str, headers: Headers | None = None) -> Answer:
    """A plain-text answer: ``message`` and a newline."""
    body = message.encode() + b"\n"
    return Answer(status, [TEXT, (b"content-length", b"%d" % len(body)), *(headers or [])], body)


def error_page(status: int, message: str = "") -> Answer:
    """An error as wsgidav's side shows it: ``404 Not Found: /alice/x``."""
    return text(status, status_line(status) + (f": {message}" if message else ""))


def empty(status: int, headers: Headers | None = None) -> Answer:
    return Answer(status, [NO_BODY, *(headers or [])])


def dav_error_answer(error: DAVError) -> Answer:
    """A DAVError raised by one of wsgidav's helpers, answered as wsgidav's side
    answers it (:func:`webdav.errors.ErrorPages`)."""
    added = [(name.lower().encode(), value.encode()) for name, value in error.add_headers or []]
    if error.value in (HTTP_NOT_MODIFIED, HTTP_NO_CONTENT) or not error.add_body:
        return empty(error.value, added)
    message = "" if error.value == HTTP_INTERNAL_ERROR else str(error.context_info or "")
    answer = error_page(error.value, message)
    answer.headers.extend(added)
    return answer


async def send_answer(send: Send, answer: Answer, receive: Receive | None = None) -> None:
    """Send ``answer``; its ``rest`` is read block by block in worker threads, and
    reading stops if the client goes away (``receive`` tells)."""
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    rest = answer.rest
    if rest is None:
        await send({"type": "http.response.body", "body": answer.body})
        return
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_watch(receive, gone)) if receive is not None else None
    try:
        if answer.body:
            await send({"type": "http.response.body", "body": answer.body, "more_body": True})
        while not gone.is_set():
            block = await run_in_threadpool(next, rest, b"")
            if not block:
                break
            await send({"type": "http.response.body", "body": block, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()
        if watcher is not None:
            watcher.cancel()


async def _watch(receive: Receive | None, gone: asyncio.Event) -> None:
    assert receive is not None
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
