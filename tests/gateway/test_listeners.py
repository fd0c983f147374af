"""Every listener caps a request's head: past 64 KiB of request line and headers the
client gets 431, whichever server reads it, and the server holds no more of it; bodies
reach the app whole, however they are split, without copies on the way."""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.listeners import MAX_HEAD_BYTES, CoalescingTransport
from tests.conftest import LockrProcess, running_lockr, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    with running_lockr(tmp_path_factory, "listeners") as process:
        yield process


def status_of(port: int, head: bytes) -> int:
    """Send ``head`` (sending may stop early when the server closes) and return the
    status code of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            for start in range(0, len(head), 65536):
                sock.sendall(head[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        while b"\r\n" not in answer:
            try:
                block = sock.recv(4096)
            except ConnectionResetError:
                break
            if not block:
                break
            answer += block
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer.split(b" ", 2)[1])


def head(extra: bytes) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + b"\r\n"


@pytest.mark.parametrize("listener", ["http", "dav"])
def test_heads_over_64_kib_are_431(server: LockrProcess, listener: str) -> None:
    port = server.http_port if listener == "http" else server.dav_port
    within = head(b"X-Pad: " + b"a" * (MAX_HEAD_BYTES - 1024) + b"\r\n")
    assert status_of(port, within) != 431
    one_header = head(b"X-Pad: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n")
    assert status_of(port, one_header) == 431
    many_headers = head(b"".join(b"X-Pad-%d: %s\r\n" % (n, b"b" * 60) for n in range(2000)))
    assert status_of(port, many_headers) == 431
    huge = head(b"X-Pad: " + b"c" * (32 * 1024 * 1024) + b"\r\n")
    assert status_of(port, huge) == 431
    # The server is still there and answers normal requests.
    assert status_of(server.http_port, head(b"")) == 200


class Recording(asyncio.Transport):
    """The socket's side of a transport: what was written, one item per system call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True


def test_a_head_and_its_body_leave_in_one_write() -> None:
    async def answer() -> list[bytes]:
        socket_side = Recording()
        transport = CoalescingTransport(socket_side)
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        transport.write(b"body")
        transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # no body: written at the turn's end
        assert len(socket_side.writes) == 1
        await asyncio.sleep(0)
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.close()  # a head held when the connection closes is written first
        assert socket_side.closed
        return socket_side.writes

    assert asyncio.run(answer()) == [
        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
    ]


def test_answers_arrive_whole_on_a_kept_alive_connection(server: LockrProcess) -> None:
    """Heads held for their bodies: several answers (one without a body) on one
    connection, each whole and in order."""
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=30) as sock:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sock.sendall(request + b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + request)
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 3 or not answer.endswith(b'"ok"}'):
            block = sock.recv(65536)
            if not block:
                break
            answer += block
    assert answer.count(b"HTTP/1.1 200 OK") == 3, answer
    assert answer.count(b'{"status":"ok"}') == 2, answer


async def _body_digest(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app answering the size and SHA-256 of the body it received, slow to start
    receiving (the first pieces pile up meanwhile)."""
    await asyncio.sleep(0.05)
    digest, size = hashlib.sha256(), 0
    while True:
        message = await receive()
        body = message.get("body", b"")
        assert isinstance(body, bytes)
        digest.update(body)
        size += len(body)
        if not message.get("more_body"):
            break
    answer = f"{size} {digest.hexdigest()}".encode()
    length = str(len(answer)).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
    )
    await send({"type": "http.response.body", "body": answer})


def _read_answer(sock: socket.socket, pending: bytearray) -> bytes:
    while b"\r\n\r\n" not in pending:
        pending += sock.recv(65536)
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += sock.recv(65536)
    pending[:] = rest[length:]
    return rest[:length]


def test_bodies_arrive_whole_however_split_and_each_to_its_request() -> None:
    # Small pieces that arrive one by one before the app receives, then pieces of up
    # to 300 KiB, and a next request in the same write as the end of a body.
    chance = random.Random(12)
    bodies = [chance.randbytes(3 * 1024 * 1024 + 17), b"second" * 300, chance.randbytes(70_000)]
    wire = b"".join(
        b"PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for body in bodies
    )
    with serving(_body_digest) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            position = 0
            for _ in range(10):
                sock.sendall(wire[position : position + 100])
                position += 100
                time.sleep(0.002)
            while position < len(wire):
                size = chance.choice([1, 4096, 65_537, 300_000])
                sock.sendall(wire[position : position + size])
                position += size
            pending = bytearray()
            answers = [_read_answer(sock, pending) for _ in bodies]
    assert answers == [
        f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode() for body in bodies
    ]
