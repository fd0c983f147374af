"""Streaming one file into the engine: :class:`Upload`, made by
:meth:`gateway.storage.Storage.upload`.

A direct upload (a REST upload, a WebDAV PUT) is an upload of one part: its bytes
stream into one object of the region's store (:meth:`ObjectStore.put`), hashed as they
pass, with quota reserved while they stream. Small bodies (up to :data:`SMALL`) are
held and stored in one call when the upload commits; larger ones are fed to the store
on a thread of their own (:class:`gateway.feed.Feed`) while the next bytes arrive.
The reservation names the blob, so a crash at any point is cleaned up by recovery.
Besides MD5 and SHA-1, every upload computes the file's CRC64NVME as the bytes pass
and keeps it with the file (:mod:`gateway.filechecksum`), unless its writer brings
the file's checksum itself (``own_checksum``).

A small body whose size is declared is one write transaction, not two: it reserves
nothing (it is held whole until the commit, which charges it if it fits), and the
record that makes a crash recoverable is the store's own
(:meth:`ObjectStore.put_pending`), dropped once the file is committed; a sweep frees
the object of a record left behind if no file refers to it
(:func:`gateway.strays.sweep_uploads`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from gateway.blobkeys import new_key, object_key
from gateway.commit import commit_blob
from gateway.errors import BadRequest, Busy, Conflict, LockrError, TooLarge
from gateway.feed import Feed
from gateway.filechecksum import extend, with_checksum
from gateway.objectstore import ObjectStore
from gateway.storage import Entry, OnConflict, too_large_message
from gateway.strays import PENDING_GRACE

if TYPE_CHECKING:
    from gateway.storage import Storage

SMALL = 1024 * 1024
"""Bodies up to this size are stored in one call at commit, without a thread."""


class Upload:
    """One file being streamed in. Use as a context manager, or call :meth:`abort`.

    ``write`` raises :class:`TooLarge` the moment the object crosses its limit and
    :class:`QuotaExceeded` the moment the account would; either way the upload is
    aborted and nothing is visible or held. ``folder`` is the id and key of the
    file's folder as :meth:`Storage.upload` found it, which spares the commit the
    path's lookup while the folder stays where it was (:func:`commit_blob`)."""

    def __init__(
        self,
        storage: Storage,
        *,
        account_id: int,
        parts: list[str],
        region: str,
        store: ObjectStore,
        max_size: int,
        expected_size: int | None,
        content_type: str,
        mtime: float | None,
        sha256: bool,
        on_conflict: OnConflict,
        key_hash: str | None = None,
        claim_hash: str | None = None,
        holder: str | None = None,
        meta: Mapping[str, str] | None = None,
        folder: tuple[int, str] | None = None,
        own_checksum: bool = False,
        if_blob: str | None = None,
    ) -> None:
        self._storage = storage
        self._folder = folder
        self._if_blob = if_blob
        self.holder = holder
        self.key_hash = key_hash
        self.claim_hash = claim_hash
        self.account_id = account_id
        self.parts = parts
        self.region = region
        self.max_size = max_size
        self.expected_size = expected_size
        self.content_type = content_type
        self.mtime = mtime
        self.meta = meta
        self.on_conflict = on_conflict
        self.size = 0
        self.key = new_key()
        self._store = store
        self._md5 = hashlib.md5()
        self._sha1 = hashlib.sha1()
        self._sha256 = hashlib.sha256() if sha256 else None
        self._crc: int | None = None if own_checksum else 0
        self._held: list[bytes] = []
        self._feed: Feed[int] | None = None
        self._reserved = expected_size or 0
        self._reservation: str | None = None
        if expected_size is None or expected_size > SMALL or holder is not None:
            self._reservation = storage.reservations.open(
                account_id, region, self.key, self._reserved, holder=holder
            )
        self._intent: str | None = None
        self._done = False

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()

    def write(self, data: bytes) -> None:
        if self._done:
            raise Conflict("the upload is already finished")
        if not data:
            return
        size = self.size + len(data)
        try:
            if size > self.max_size:
                raise TooLarge(too_large_message(self.max_size))
            if self.expected_size is not None and size > self.expected_size:
                raise BadRequest(
                    f"the body is longer than the declared size of {self.expected_size} bytes"
                )
            if size > self._reserved:
                self._reserve(size - self._reserved)
            self._store_bytes(data, size)
        except BaseException:
            self.abort()
            raise
        self.size = size

    def _store_bytes(self, data: bytes, size: int) -> None:
        """Hold ``data`` (a small body so far) or feed it to the store. MD5, the CRC
        (and SHA-256) are computed here; SHA-1 here for held bytes and on the feed's
        thread for fed ones, so the two hashes of a large upload run side by side."""
        self._md5.update(data)
        if self._crc is not None:
            self._crc = extend(self._crc, data)
        if self._sha256 is not None:
            self._sha256.update(data)
        if self._feed is None:
            if size <= SMALL:
                self._held.append(bytes(data))
                self._sha1.update(data)
                return
            key = object_key(self.key)
            store = self._store
            self._feed = Feed(
                lambda blocks: store.put(key, blocks),
                prefix=self._held,
                tap=self._sha1.update,
                name="lockr-upload",
            )
            self._held = []
        self._feed.write(data)

    def _reserve(self, need: int) -> None:
        assert self._reservation is not None  # a write without one never grows
        self._reserved = self._storage.reservations.grow_stepwise(
            self._reservation,
            self.account_id,
            held=self._reserved,
            need=need,
            ceiling=self.max_size,
            holder=self.holder,
        )

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def sha1(self) -> str:
        return self._sha1.hexdigest()

    def _sha256_digest(self) -> dict[str, str]:
        return {} if self._sha256 is None else {"sha256": self._sha256.hexdigest()}

    @staticmethod
    def _verify(expected: dict[str, str], digests: dict[str, str]) -> None:
        for algorithm, actual in digests.items():
            if algorithm in expected and actual != expected[algorithm]:
                raise BadRequest(f"{algorithm.upper()} checksum mismatch: the body is {actual}")

    def commit(self, *, checksums: dict[str, str] | None = None) -> Entry:
        """Finish: check the declared size and any expected ``checksums``
        (``{"md5": hex, "sha1": hex, "sha256": hex}``), make the blob durable, and
        commit the file. Returns the stored entry."""
        if self._done:
            raise Conflict("the upload is already finished")
        stored = False
        try:
            if self.expected_size is not None and self.size != self.expected_size:
                raise BadRequest(
                    f"the body has {self.size} bytes but {self.expected_size} were declared"
                )
            expected = {name: value.lower() for name, value in (checksums or {}).items()}
            if "sha256" in expected and self._sha256 is None:
                raise BadRequest("sha256 was not computed for this upload")
            # MD5 and SHA-256 are known now: a mismatch stores nothing. SHA-1 of a fed
            # body is known once the feed has finished.
            if expected:
                self._verify(expected, {"md5": self.md5} | self._sha256_digest())
            started = time.monotonic()
            if self._feed is not None:
                self._feed.finish()
            elif self._reservation is None:
                _, self._intent = self._store.put_pending(object_key(self.key), self._held)
            else:
                self._store.put(object_key(self.key), self._held)
            self._held = []
            stored = True
            digests = {"md5": self.md5, "sha1": self.sha1} | self._sha256_digest()
            if expected:
                self._verify(expected, digests)
            if self._intent is not None and time.monotonic() - started > PENDING_GRACE / 2:
                # A sweep may take the record for a dead write's and free the object.
                raise Busy("storing the file took too long; send it again")
        except BaseException:
            if stored:
                self._discard_stored()
            self.abort()
            raise
        try:
            entry, freed = commit_blob(
                self._storage,
                reservation_id=self._reservation,
                account_id=self.account_id,
                parts=self.parts,
                region=self.region,
                blob_key=self.key,
                size=self.size,
                digests=digests,
                content_type=self.content_type,
                mtime=self.mtime,
                on_conflict=self.on_conflict,
                key_hash=self.key_hash,
                claim_hash=self.claim_hash,
                meta=self.meta if self._crc is None else with_checksum(self.meta, self._crc),
                folder=self._folder,
                if_blob=self._if_blob,
            )
        except BaseException:
            self._done = True
            self._discard_stored()
            if self._reservation is not None:
                self._storage.reservations.release(self._reservation)
            raise
        self._done = True
        self._drop_intent()
        self._storage.drop_blobs(freed)
        return entry

    def _discard_stored(self) -> None:
        """Delete the stored object of a write that will not be committed (then its
        record, so a crash in between leaves the record for a sweep)."""
        self._store.delete(object_key(self.key))
        self._drop_intent()

    def _drop_intent(self) -> None:
        if self._intent is None:
            return
        intent, self._intent = self._intent, None
        try:
            self._store.abort_multipart(object_key(self.key), intent)
        except LockrError:
            pass  # left for the sweep, which finds the file committed

    def abort(self) -> None:
        """Drop the bytes sent so far and give back the reserved quota. Idempotent."""
        if self._done:
            return
        self._done = True
        self._held = []
        try:
            if self._feed is not None:
                self._feed.abort()
        finally:
            if self._reservation is not None:
                self._storage.reservations.release(self._reservation)
