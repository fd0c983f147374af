"""Bytes pushed by one thread, pulled by a consumer on another.

An object store takes a stream to pull from (:meth:`ObjectStore.put`,
:meth:`ObjectStore.put_part`), while the fronts push what arrives (a WSGI body is read,
an upload is written to). A :class:`Feed` joins the two: ``write`` gathers the bytes
(:class:`Pieces`: as they are written, never copied, small ones joined) and queues
them about :data:`BLOCK` at a time, a thread of its own runs the consumer over them,
and at most :data:`DEPTH` such hand-overs wait in between, so memory is bounded and
the receiving (and hashing) of the next bytes overlaps the storing of the last.
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
"""Hand-overs (of about :data:`BLOCK` each) that may wait for the consumer; a writer
that finds them all waiting waits."""
SMALL = 64 * 1024
"""Pieces under this size are joined with their neighbours (:class:`Pieces`)."""

_END = object()
_POLL = 0.5


class Aborted(Exception):
    """Raised inside the consumer's stream when the writer gives up."""


class Pieces:
    """Bytes gathered to be handed on together without copying them: a piece of
    :data:`SMALL` bytes or more is kept as it is, a run of smaller ones is joined into
    one (a piece costs every stage it passes a call, a copy of a small one less)."""

    def __init__(self) -> None:
        self.size = 0
        self._pieces: list[bytes] = []
        self._run: list[bytes] = []

    def add(self, piece: bytes) -> None:
        """Gather ``piece`` (it MUST NOT change: ``bytes``)."""
        if not piece:
            return
        if len(piece) >= SMALL:
            self._end_run()
            self._pieces.append(piece)
        else:
            self._run.append(piece)
        self.size += len(piece)

    def take(self) -> list[bytes]:
        """The pieces gathered, in order; none are left."""
        self._end_run()
        pieces, self._pieces, self.size = self._pieces, [], 0
        return pieces

    def _end_run(self) -> None:
        if self._run:
            self._pieces.append(b"".join(self._run))  # a lone piece is not copied
            self._run = []


class Feed(Generic[T]):
    """Runs ``consume(blocks)`` on its own thread over what is written: the blocks
    are the pieces written, as they are (a view is copied, runs of small ones are
    joined: :class:`Pieces`).

    ``prefix`` is yielded to the consumer before anything written; ``tap`` sees each
    block on the consumer's thread before the consumer does (a second hash computed
    there runs beside the writer's). Call :meth:`finish` for the consumer's result,
    or :meth:`abort` (the consumer's stream then raises :class:`Aborted`, so the
    store drops what it had)."""

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
        self._pending = Pieces()
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
        self._pending.add(bytes(data))
        if self._pending.size >= BLOCK:
            self._send(self._pending.take())

    def finish(self) -> T:
        """End the stream and return what the consumer returned (or raise what it raised)."""
        if self._done:
            raise RuntimeError("the feed is finished")
        self._done = True
        if self._pending.size:
            self._send(self._pending.take())
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
        self._pending = Pieces()
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
            assert isinstance(item, list)
            for block in item:
                if self._tap is not None:
                    self._tap(block)
                yield block

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
