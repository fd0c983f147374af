"""A request body pumped into a writer (:func:`api.transfer.pump`): every byte in
order, in the pieces it arrived in (none copied; runs of small ones joined), about
1 MiB handed to a worker thread at a time, and a limit that stops it."""

from __future__ import annotations

import asyncio
import os
import threading

from starlette.requests import Request
from starlette.types import Message

from api.transfer import BLOCK, pump
from gateway.feed import SMALL


def request_of(chunks: list[bytes]) -> Request:
    """A request whose body arrives as ``chunks``, one ASGI message each."""
    messages = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks] + [
        {"type": "http.request", "body": b"", "more_body": False}
    ]

    async def receive() -> Message:
        return messages.pop(0)

    return Request({"type": "http", "method": "PUT", "headers": []}, receive)


def test_pieces_reach_the_writer_as_they_came() -> None:
    big = [os.urandom(SMALL + number) for number in range(40)]  # about 2.5 MiB
    small = [os.urandom(100) for _ in range(30)]
    chunks = [*big[:20], *small, *big[20:], small[0]]
    written: list[bytes] = []
    threads: set[int] = set()

    def write(piece: bytes) -> None:
        threads.add(threading.get_ident())
        written.append(piece)

    size, complete = asyncio.run(pump(request_of(chunks), write))
    assert complete and size == sum(map(len, chunks))
    assert b"".join(written) == b"".join(chunks)
    assert written == [*big[:20], b"".join(small), *big[20:], small[0]]
    assert all(got is sent for got, sent in zip(written[:20], big[:20], strict=True))
    assert threading.get_ident() not in threads  # written in worker threads


def test_a_limit_stops_the_body() -> None:
    chunks = [os.urandom(SMALL) for _ in range(2 * BLOCK // SMALL)]
    written: list[bytes] = []
    size, complete = asyncio.run(pump(request_of(chunks), written.append, limit=BLOCK + 10))
    assert not complete and size == BLOCK + 10
    assert b"".join(written) == b"".join(chunks)[: BLOCK + 10]
