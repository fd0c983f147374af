"""Completing a multipart upload (:meth:`gateway.multipart.MultipartUploads.complete`
claims it and makes a :class:`Completion`): the object assembled in the store, hashed
and committed as a file, and the completion recorded for one sent again.

Where the store can read parts back, most of the assembling and hashing was done
while the parts arrived (:mod:`gateway.assembly`), and completing takes the rest;
otherwise the store completes its upload and the object is read back once for its
MD5 and SHA-1 (memory stays flat whatever its size). The file is committed as every
write is (:func:`gateway.commit.commit_blob`: S3's rule, an existing file is
replaced), and in the same transaction the parts' sizes are kept with the blob and
the completion is recorded (:class:`gateway.models.CompletedUpload`, kept for
:data:`~gateway.multipart_terms.COMPLETED_KEPT_SECONDS`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from gateway.assembly import Prefix
from gateway.blobkeys import object_key
from gateway.commit import commit_blob
from gateway.errors import BadRequest, NotFound
from gateway.feed import Hashes, digests
from gateway.models import Blob, CompletedUpload, MultipartUpload
from gateway.multipart_terms import (
    BUSY_SECONDS,
    COMPLETED_KEPT_SECONDS,
    RENEW_SECONDS,
    InvalidPart,
    MultipartInfo,
    NoSuchUpload,
    encode_sizes,
)
from gateway.objectstore import ObjectStore, Part
from gateway.tree import Entry, OnConflict, split_path

if TYPE_CHECKING:
    from gateway.multipart import MultipartUploads

log = logging.getLogger("lockr")


@dataclass
class Completion:
    """A claimed completion, made by
    :meth:`gateway.multipart.MultipartUploads.complete`: :meth:`run`
    assembles the object, hashes it and commits the file. Should it fail, the upload
    stays as it was (assembled, if it got that far) and may be completed again."""

    uploads: MultipartUploads
    info: MultipartInfo
    parts: list[Part]
    etag: str
    size: int
    meta: dict[str, str]
    """What the file's metadata gets beyond the upload's (the object's checksum)."""
    digest: str = ""
    """The :func:`~gateway.multipart_terms.part_list_digest` of the list it completes with."""
    part_checksums: str | None = None
    """The listed parts' checksums, as :func:`gateway.partchecksums.encode_checksums`
    keeps them with the object."""
    _leftovers: list[Callable[[], object]] = field(default_factory=list, init=False, repr=False)

    def run(
        self,
        *,
        clean: bool = True,
        make_folders: Callable[[str], object] | None = None,
        on_conflict: OnConflict = "replace",
        if_blob: str | None = None,
    ) -> Entry:
        """Blocking, and long for a large object: run it in a worker thread. With
        ``clean`` false, what is left to remove once the file is committed (the parts
        of an upload assembled ahead, the object of a file it replaced) waits for
        :meth:`clean`, so that the caller may answer first. ``make_folders`` makes the
        folder the file goes in (by default it is made with its parents, as
        ``mkdir -p``); it MAY raise to refuse, and the upload stays as it was, as it
        does when the commit's conditions (``on_conflict``, ``if_blob``:
        :func:`gateway.commit.commit_blob`) refuse."""
        uploads, info = self.uploads, self.info
        storage = uploads.storage
        store = storage.store_for(info.region)
        key = object_key(info.blob_key)
        try:
            if info.assembled is not None:
                digests = self._read_back(store, key)
            else:
                prefix = uploads.assemblies.take(info.id, self.parts)
                if prefix is None:
                    self._assembled(
                        lambda: store.complete_multipart(key, info.multipart_id, self.parts)
                    )
                    digests = self._read_back(store, key)
                else:
                    digests = self._finish(prefix)
            parts = split_path(info.path)
            if len(parts) > 1:
                folder = "/".join(parts[:-1])
                if make_folders is None:
                    storage.mkdir(info.account_id, folder, parents=True, exist_ok=True)
                else:
                    make_folders(folder)
            entry, freed = commit_blob(
                storage,
                reservation_id=info.reservation_id,
                account_id=info.account_id,
                parts=parts,
                region=info.region,
                blob_key=info.blob_key,
                size=self.size,
                digests=digests,
                # The file's attributes, as the upload was opened with them.
                content_type=info.content_type,
                mtime=info.mtime,
                meta=(info.meta or {}) | self.meta,
                on_conflict=on_conflict,
                if_blob=if_blob,
                multipart_etag=self.etag,
                also=self._record,
            )
        except BaseException:
            self._set(busy_until=0.0)
            self.clean()
            raise
        self._leftovers.append(lambda: storage.drop_blobs(freed))
        if clean:
            self.clean()
        return entry

    def _record(self, session: Session, node_id: int) -> None:
        """In the commit's transaction: the parts' sizes, for GetObject of a part, and
        the completion, for one sent again (dropping those past their time)."""
        info = self.info
        session.execute(
            update(Blob)
            .where(Blob.key == info.blob_key)
            .values(
                part_sizes=encode_sizes([part.size for part in self.parts]),
                part_checksums=self.part_checksums,
            )
        )
        now = self.uploads.clock()
        session.execute(
            delete(CompletedUpload).where(
                CompletedUpload.completed_at < now - COMPLETED_KEPT_SECONDS
            )
        )
        session.execute(
            insert(CompletedUpload).values(
                id=info.id,
                account_id=info.account_id,
                path=info.path,
                parts_digest=self.digest,
                etag=self.etag,
                checksum=json.dumps(self.meta, sort_keys=True) if self.meta else None,
                node_id=node_id,
                blob_key=info.blob_key,
                completed_at=now,
            )
        )

    def clean(self) -> None:
        """Remove what :meth:`run` left to remove. Idempotent."""
        while self._leftovers:
            self._leftovers.pop(0)()

    def _finish(self, prefix: Prefix) -> dict[str, str]:
        """Complete from what was assembled while the parts arrived: take the listed
        parts after it, hashing them on, and have the store rename it into place."""
        log.debug(
            "upload %s: %d of %d parts assembled ahead", self.info.id, prefix.count, len(self.parts)
        )
        hashes, renew = Hashes(prefix.md5, prefix.sha1), self._renewal()
        found: dict[str, str] = {}

        def each(block: memoryview) -> None:
            hashes.update(block)
            renew()

        def complete() -> int:
            for part in self.parts[prefix.count :]:
                prefix.assembly.append(part, each)
            found.update(hashes.finish())
            return prefix.assembly.complete(self.parts)

        try:
            self._assembled(complete)
        except BaseException:
            prefix.assembly.discard()
            raise
        finally:
            hashes.abort()
        self._leftovers.append(prefix.assembly.discard)
        return found

    def _assembled(self, complete: Callable[[], int]) -> None:
        """Run ``complete`` (it completes the store's upload and returns the object's
        size) and record that the upload is assembled."""
        try:
            size = complete()
        except NotFound:
            raise NoSuchUpload("no such upload (it was aborted meanwhile)") from None
        except BadRequest as error:
            raise InvalidPart(f"the parts are not as uploaded: {error.message}") from None
        if size != self.size:
            raise InvalidPart(f"the parts hold {size} bytes, not the {self.size} recorded")
        self._set(assembled=self.etag)

    def _renewal(self) -> Callable[[], None]:
        """A function to call often while hashing: it renews the claim on the upload
        every :data:`RENEW_SECONDS`."""
        renewed = time.monotonic()

        def renew() -> None:
            nonlocal renewed
            if time.monotonic() - renewed >= RENEW_SECONDS:
                self._set(busy_until=self.uploads.clock() + BUSY_SECONDS)
                renewed = time.monotonic()

        return renew

    def _read_back(self, store: ObjectStore, key: str) -> dict[str, str]:
        """The assembled object's hashes, read back."""
        return digests(store.open_reader(key), each=self._renewal())

    def _set(self, **values: object) -> None:
        """Change the upload's row: its claim (``busy_until``), ``assembled``."""
        with self.uploads.db.write() as session:
            session.execute(
                update(MultipartUpload).where(MultipartUpload.id == self.info.id).values(**values)
            )
