"""Blob stores: where a region keeps the bytes of files.

A blob is written once under a key chosen by the engine and never changed. The
engine writes it as a *pending* object (``open_writer``), which is invisible to
readers until :meth:`BlobWriter.commit` makes it durable and visible in one step.
A crash before commit leaves at most a pending object, which :meth:`BlobStore.discard`
removes; the engine records the key before writing so it can always do that.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from gateway.errors import NotFound
from gateway.objectstore_local import read_blocks
from gateway.private import fsync_folder, open_private, private_folder


class BlobWriter(Protocol):
    """A pending blob being written."""

    def write(self, data: bytes) -> None:
        """Append ``data``. MUST NOT make anything visible."""

    def sync(self) -> None:
        """Make what was written so far durable, still pending (a resumable upload's
        checkpoint). After a crash, :meth:`BlobStore.open_writer` with ``resume_at``
        continues from any synced offset."""

    def close(self) -> None:
        """Stop writing for now, keeping the pending bytes (to resume later)."""

    def commit(self) -> None:
        """Make the blob durable (fsync) and visible under its key, atomically."""

    def abort(self) -> None:
        """Drop what was written. MUST be safe to call after a failed write or twice."""


class BlobStore(Protocol):
    """The contract every region backend meets (one test suite runs against each)."""

    def open_writer(self, key: str, *, resume_at: int | None = None) -> BlobWriter:
        """Start a pending blob for ``key`` (the key MUST NOT already exist), or with
        ``resume_at``, reopen the pending blob and continue writing at that offset,
        dropping anything after it."""

    def read_pending(self, key: str, length: int) -> Iterator[bytes]:
        """The first ``length`` bytes of a pending blob (to rebuild hashes on resume)."""

    def open_reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Yield the blob's bytes from ``offset`` (``length`` of them, or to the end) in
        blocks of at most 1 MiB. Raises :class:`NotFound` for a missing key."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove a committed blob; a missing key is not an error."""

    def discard(self, key: str) -> None:
        """Remove whatever a writer left for ``key``, pending or committed."""

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for zero-copy serving, or ``None`` if the backend has none."""


def new_key() -> str:
    """A fresh random blob key (hex, 32 characters)."""
    return uuid.uuid4().hex


class LocalBlobStore:
    """Blobs as files under ``root/ab/cd/<key>``; pending ones under ``root/tmp/``,
    all owner-only (:mod:`gateway.private`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        private_folder(root, tighten=True)
        private_folder(self.tmp, tighten=True)

    def _path(self, key: str) -> Path:
        if len(key) < 8 or not key.isalnum():
            raise NotFound("no such blob")
        return self.root / key[:2] / key[2:4] / key

    def open_writer(self, key: str, *, resume_at: int | None = None) -> LocalBlobWriter:
        final = self._path(key)
        if final.exists():
            raise FileExistsError(key)
        return LocalBlobWriter(self.tmp / key, final, resume_at=resume_at)

    def read_pending(self, key: str, length: int) -> Iterator[bytes]:
        self._path(key)  # validates the key
        try:
            handle = (self.tmp / key).open("rb")
        except FileNotFoundError:
            raise NotFound("no such pending blob") from None
        return read_blocks(handle, 0, length)

    def open_reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFound("no such blob") from None
        return read_blocks(handle, offset, length)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def discard(self, key: str) -> None:
        (self.tmp / key).unlink(missing_ok=True)
        self.delete(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def pending_keys(self) -> list[str]:
        """Keys of pending objects (for start-up checks and tests)."""
        return sorted(p.name for p in self.tmp.iterdir())


class LocalBlobWriter:
    def __init__(self, pending: Path, final: Path, *, resume_at: int | None = None) -> None:
        self._pending = pending
        self._final = final
        if resume_at is None:
            fd = open_private(pending, os.O_WRONLY | os.O_EXCL)
            self._handle: BinaryIO | None = os.fdopen(fd, "wb")
        else:
            try:
                handle = pending.open("r+b")
            except FileNotFoundError:
                raise NotFound("the pending upload's bytes are gone") from None
            if handle.seek(0, os.SEEK_END) < resume_at:
                handle.close()
                raise NotFound("the pending upload has fewer bytes than were recorded")
            handle.truncate(resume_at)
            handle.seek(resume_at)
            self._handle = handle

    def write(self, data: bytes) -> None:
        assert self._handle is not None, "writer is closed"
        self._handle.write(data)

    def sync(self) -> None:
        assert self._handle is not None, "writer is closed"
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def commit(self) -> None:
        assert self._handle is not None, "writer is closed"
        handle, self._handle = self._handle, None
        try:
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()
        private_folder(self._final.parent)
        try:
            os.replace(self._pending, self._final)
        except FileNotFoundError:
            raise NotFound(
                "the pending upload was reclaimed (its server was presumed dead)"
            ) from None
        fsync_folder(self._final.parent)

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._pending.unlink(missing_ok=True)
