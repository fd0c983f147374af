"""Bytes pushed by one thread, pulled by a consumer on another.

An object store takes a stream to pull from (:meth:`ObjectStore.put`,
:meth:`ObjectStore.put_part`), while the fronts push what arrives (a WSGI body is read,
an upload is written to). A :class:`Feed` joins the two: ``write`` queues the bytes in
blocks of about :data:`BLOCK` (what is written smaller is joined, a larger write is a
block as it is), a thread of its own runs the consumer over them, and at most
:data:`DEPTH` blocks wait in between, so memory is bounded and the receiving (and
hashing) of the next block overlaps the storing of the previous one.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Generic, TypeVar

from gateway.objectstore import BLOCK

if TYPE_CHECKING:
    from hashlib import _Hash

T = TypeVar("T")

DEPTH = 4
"""Blocks that may wait for the consumer; a writer that finds them all waiting waits."""

_END = object()
_POLL = 0.5


class Aborted(Exception):
    """Raised inside the consumer's stream when the writer gives up."""


class Feed(Generic[T]):
    """Runs ``consume(blocks)`` on its own thread over what is written.

    ``prefix`` is yielded to the consumer before anything written; ``tap`` sees each
    written block on the consumer's thread before the consumer does (a second hash
    computed there runs beside the writer's). Call :meth:`finish`
    for the consumer's result, or :meth:`abort` (the consumer's stream then raises
    :class:`Aborted`, so the store drops what it had)."""

    def __init__(
        self,
        consume: Callable[[Iterator[bytes]], T],
        *,
        prefix: Iterable[bytes] = (),
        tap: Callable[[bytes], object] | None = None,
        name: str = "lockr-feed",
    ) -> None:
        self._consume = consume
        self._prefix = prefix
        self._tap = tap
        self._queue: queue.Queue[object] = queue.Queue(DEPTH)
        # What is written short of a block, joined once a block's worth is in.
        self._pending: list[bytes] = []
        self._held = 0
        self._result: T | None = None
        self._error: BaseException | None = None
        self._aborted = False
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def write(self, data: bytes | memoryview) -> None:
        """Queue ``data`` (``bytes`` as it is, a view copied); raises at once if the
        consumer has failed."""
        if self._done:
            raise RuntimeError("the feed is finished")
        if self._error is not None:
            raise self._error
        if not self._pending and len(data) >= BLOCK:
            self._send(bytes(data))
            return
        self._pending.append(bytes(data))
        self._held += len(data)
        if self._held >= BLOCK:
            self._send_pending()

    def _send_pending(self) -> None:
        pieces, self._pending, self._held = self._pending, [], 0
        self._send(pieces[0] if len(pieces) == 1 else b"".join(pieces))

    def finish(self) -> T:
        """End the stream and return what the consumer returned (or raise what it raised)."""
        if self._done:
            raise RuntimeError("the feed is finished")
        self._done = True
        if self._pending:
            self._send_pending()
        self._send(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    def abort(self) -> None:
        """Stop the consumer, which sees :class:`Aborted` from its stream, and wait for
        it to clean up. Idempotent; safe after :meth:`finish`."""
        if self._done and not self._thread.is_alive():
            return
        self._done = True
        self._aborted = True
        self._pending, self._held = [], 0
        try:
            self._send(_END)
        except BaseException:  # noqa: S110 - the consumer failed first: nothing to stop
            pass
        self._thread.join()

    def _send(self, item: object) -> None:
        while True:
            if not self._thread.is_alive():
                if self._error is not None:
                    raise self._error
                return
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _blocks(self) -> Iterator[bytes]:
        yield from self._prefix
        while True:
            item = self._queue.get()
            if self._aborted:
                raise Aborted("the write was given up")
            if item is _END:
                return
            assert isinstance(item, bytes)
            if self._tap is not None:
                self._tap(item)
            yield item

    def _run(self) -> None:
        try:
            self._result = self._consume(self._blocks())
        except BaseException as exc:
            self._error = exc
        finally:
            # Unblock a writer waiting for room: nothing reads the queue any more.
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break


class Hashes:
    """An MD5 and a SHA-1 of the same bytes, each block's MD5 on the caller's thread
    while its SHA-1 is computed on a thread of its own (hashlib lets go of the GIL, so
    the two run side by side), from fresh states or from the states given (to hash
    on). :meth:`update` returns once both have the block, so nothing is copied or
    queued, and a block may be a view of a buffer reused at once; MD5 is the slower
    of the two, so the caller hardly waits. Call :meth:`finish` once every block is
    in (the states are then complete), or :meth:`abort`."""

    def __init__(self, md5: _Hash | None = None, sha1: _Hash | None = None) -> None:
        self.md5 = hashlib.md5() if md5 is None else md5
        self.sha1 = hashlib.sha1() if sha1 is None else sha1
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lockr-hash")

    def update(self, block: bytes | memoryview) -> None:
        """Hash ``block``; it is not needed once this returns."""
        sha1 = self._thread.submit(self.sha1.update, block)
        try:
            self.md5.update(block)
        finally:
            sha1.result()

    def finish(self) -> dict[str, str]:
        """The hex digests, as ``md5`` and ``sha1``; the SHA-1's thread ends."""
        self._thread.shutdown()
        return {"md5": self.md5.hexdigest(), "sha1": self.sha1.hexdigest()}

    def abort(self) -> None:
        """End the SHA-1's thread. Idempotent; safe after :meth:`finish`."""
        self._thread.shutdown()


def digests(blocks: Iterable[bytes], *, each: Callable[[], object] | None = None) -> dict[str, str]:
    """The MD5 and SHA-1 of ``blocks`` (an object read back), side by side
    (:class:`Hashes`); ``each`` is called after every block (to renew a claim while a
    large object is read)."""
    hashes = Hashes()
    try:
        for block in blocks:
            hashes.update(block)
            if each is not None:
                each()
        return hashes.finish()
    finally:
        hashes.abort()
