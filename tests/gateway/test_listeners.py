"""Every listener caps a request's head: past 64 KiB of request line and headers the
client gets 431, whichever server reads it, and the server holds no more of it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.listeners import MAX_HEAD_BYTES
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
