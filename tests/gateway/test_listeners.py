"""Every listener caps a request's head: past 64 KiB of request line and headers the
client gets 431, whichever server reads it, and the server holds no more of it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.listeners import MAX_HEAD_BYTES, CoalescingTransport
from tests.conftest import LockrProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    process = LockrProcess(Path(tmp_path_factory.mktemp("listeners")) / "data").start()
    yield process
    process.stop()


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
