"""Limits every listener enforces before a request reaches a front, and how its
answers are written.

A request's head (request line and headers) is read into memory before any front
sees it, so its size is capped where it is read: past :data:`MAX_HEAD_BYTES` the
client gets ``431 Request Header Fields Too Large`` and the connection closes. Every
listener is uvicorn's, with :class:`BoundedHttpToolsProtocol`.

A request body's bytes reach the app as the parser hands them over: uvicorn would
copy each piece into a buffer of its own and out again when the app receives it; a
piece that finds nothing waiting is kept as it is (two copies fewer of every byte of
a large upload, on the event loop's thread).

uvicorn writes an answer's head and its body to the socket separately; a small answer
(most of WebDAV's and S3's) is written in one system call instead: a head is held
until the body's first write in the same turn of the event loop, and written on its
own at the end of that turn if none came (:class:`CoalescingTransport`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
TOO_LARGE_MESSAGE = f"request headers are larger than {MAX_HEAD_BYTES // 1024} KiB"


def _head_too_large() -> bytes:
    body = (TOO_LARGE_MESSAGE + "\n").encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n" + body
    )


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, which accepts a request head of any size, with the
    head capped at :data:`MAX_HEAD_BYTES`: a complete head is measured before the app
    sees it, and bytes that arrive while a head is still incomplete are counted, so
    memory stays bounded however the head is split. A refused connection is closed
    and nothing more on it reaches the app."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = False
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refused:
            return
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD_BYTES:
            self._refuse()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        cycle = self.cycle
        if cycle.body or cycle.response_complete or self.parser.should_upgrade():
            super().on_body(body)
            return
        # Nothing is waiting for the app: the parser's bytes are kept as they are,
        # where uvicorn would copy them into its buffer and out again when the app
        # receives them (two copies of every byte of a large upload).
        cycle.body = body  # type: ignore[assignment]
        if len(body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._refused or not self._in_head:
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse()

    def _refuse(self) -> None:
        self._refused = True
        self.transport.write(_head_too_large())
        self.transport.close()


class CoalescingTransport:
    """A transport whose writes of an answer's head (data ending in a blank line) wait
    for the next write, or for the end of the event loop's turn, so that a head and a
    small body leave in one system call. Everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            data = self._held + data
            self._held = None
        elif data[-4:] == b"\r\n\r\n" and data[:5] == b"HTTP/":
            self._held = bytes(data)
            asyncio.get_running_loop().call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Write a held head now."""
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
