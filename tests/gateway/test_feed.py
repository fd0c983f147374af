"""A Feed joins a writer that pushes bytes to a store that pulls them: results and
failures cross threads, aborting stops the store, and memory stays bounded."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from gateway.feed import DEPTH, SMALL, Aborted, Feed, Hashes, Pieces, digests
from gateway.objectstore import BLOCK


def test_the_consumer_sees_the_prefix_then_every_byte_in_blocks() -> None:
    seen: list[int] = []

    def consume(blocks: Iterator[bytes]) -> bytes:
        data = b""
        for block in blocks:
            seen.append(len(block))
            data += block
        return data

    feed = Feed(consume, prefix=[b"head:"])
    for _ in range(3000):
        feed.write(b"x" * 1000)
    assert feed.finish() == b"head:" + b"x" * 3_000_000
    # Writes short of a block are joined until a block's worth is in.
    assert seen[0] == 5 and all(BLOCK <= size < BLOCK + 1000 for size in seen[1:-1])


def test_bytes_pass_as_they_are_and_views_are_copied() -> None:
    """What is written reaches the consumer as the very objects written (no copy),
    but for a run of small pieces, joined; a view's bytes are copied as it is written,
    as the writer may reuse its buffer at once."""
    received: list[bytes] = []
    big, tail = os.urandom(BLOCK), os.urandom(1000)
    pieces = [os.urandom(SMALL + number) for number in range(20)]  # more than a BLOCK
    feed: Feed[None] = Feed(received.extend)
    feed.write(big)
    for piece in pieces[:3]:
        feed.write(piece)
    feed.write(tail)
    feed.write(tail)
    for piece in pieces[3:]:
        feed.write(piece)
    feed.write(tail)
    feed.finish()
    assert [len(block) for block in received] == [
        len(block) for block in [big, *pieces[:3], tail + tail, *pieces[3:], tail]
    ]
    assert all(got is sent for got, sent in zip(received, [big, *pieces[:3]], strict=False))
    assert all(got is sent for got, sent in zip(received[5:-1], pieces[3:], strict=True))
    assert received[4] == tail + tail and received[-1] is tail
    received.clear()
    buffer = bytearray(b"v" * 10)
    feed = Feed(received.extend)
    feed.write(memoryview(buffer))
    buffer[:] = b"w" * 10
    feed.write(tail)
    feed.finish()
    assert received == [b"v" * 10 + tail]


def test_a_failing_consumer_fails_the_writer() -> None:
    def consume(blocks: Iterator[bytes]) -> int:
        next(blocks)
        raise OSError("disk full")

    feed = Feed(consume)
    with pytest.raises(OSError, match="disk full"):
        for _ in range(100):
            feed.write(b"y" * BLOCK)
    feed.abort()


def test_abort_raises_inside_the_consumer() -> None:
    outcome: list[BaseException] = []

    def consume(blocks: Iterator[bytes]) -> int:
        try:
            return sum(len(block) for block in blocks)
        except BaseException as exc:
            outcome.append(exc)
            raise

    feed = Feed(consume)
    feed.write(b"z" * (2 * BLOCK))
    feed.abort()
    feed.abort()  # idempotent
    assert len(outcome) == 1 and isinstance(outcome[0], Aborted)


def test_a_slow_consumer_holds_the_writer_back() -> None:
    """At most DEPTH blocks wait between the two threads, whatever is written."""
    waiting: list[int] = []
    received = 0
    lock = threading.Lock()
    sent = 0

    def consume(blocks: Iterator[bytes]) -> int:
        nonlocal received
        for block in blocks:
            time.sleep(0.002)
            with lock:
                received += len(block)
                waiting.append(sent - received)
        return received

    feed = Feed(consume)
    for _ in range(40):
        with lock:
            sent += BLOCK
        feed.write(b"w" * BLOCK)
    assert feed.finish() == 40 * BLOCK
    assert max(waiting) <= (DEPTH + 2) * BLOCK


def test_hashes_continue_the_states_they_are_given() -> None:
    head, tail = os.urandom(3 * BLOCK + 5), os.urandom(2 * BLOCK)
    md5, sha1 = hashlib.md5(head), hashlib.sha1(head)
    hashes = Hashes(md5, sha1)
    buffer = bytearray(BLOCK)
    for offset in range(0, len(tail), BLOCK):
        buffer[:] = tail[offset : offset + BLOCK]
        hashes.update(memoryview(buffer))  # a buffer reused once update returns
    assert hashes.finish() == {
        "md5": hashlib.md5(head + tail).hexdigest(),
        "sha1": hashlib.sha1(head + tail).hexdigest(),
    }
    hashes.abort()  # safe after finish
    with pytest.raises(RuntimeError):
        hashes.update(b"late")
    assert digests([head, tail]) == {
        "md5": hashlib.md5(head + tail).hexdigest(),
        "sha1": hashlib.sha1(head + tail).hexdigest(),
    }


def test_pieces_keep_what_they_gather_and_join_runs_of_small_ones() -> None:
    big, small = os.urandom(SMALL), os.urandom(10)
    pieces = Pieces()
    for piece in (small, b"", small, big, big, small):
        pieces.add(piece)
    assert pieces.size == 2 * SMALL + 30
    taken = pieces.take()
    assert taken == [small + small, big, big, small]
    assert taken[1] is big and taken[2] is big and taken[3] is small
    assert (pieces.size, pieces.take()) == (0, [])


def test_hashing_a_view_copies_nothing() -> None:
    """Both hashes have a block when ``update`` returns: a view is hashed where it
    is, not copied for the SHA-1's thread to hash later."""
    block = memoryview(os.urandom(4 * BLOCK))
    hashes = Hashes()
    hashes.update(block[:BLOCK])  # the SHA-1's thread started
    tracemalloc.start()
    try:
        for offset in range(BLOCK, len(block), BLOCK):
            hashes.update(block[offset : offset + BLOCK])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BLOCK // 16
    assert hashes.finish() == {
        "md5": hashlib.md5(block).hexdigest(),
        "sha1": hashlib.sha1(block).hexdigest(),
    }
