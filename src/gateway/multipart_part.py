"""One part of a multipart upload on its way in
(:meth:`gateway.multipart.MultipartUploads.part`): streamed into the store's upload
under a reservation of its own, then recorded.

The part's MD5 is computed as its bytes pass, and its quota reserved while it
streams, in a reservation tied to this process as a direct upload's is (a process
that dies mid-part holds nothing for long). Once the store has it, one write job
moves its bytes to the upload's reservation and records it (size, MD5, the store's
token), giving back those of a part of its number it replaces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, insert, select, update

from gateway.blobkeys import new_key, object_key
from gateway.errors import BadRequest, Conflict, NotFound, TooLarge
from gateway.feed import Feed
from gateway.groupcommit import Writing
from gateway.models import MultipartUpload, UploadPart
from gateway.multipart_terms import GONE, MAX_PART_SIZE, MultipartInfo, NoSuchUpload, PartInfo
from gateway.objectstore import ObjectStore, Part
from gateway.tree import too_large_message

if TYPE_CHECKING:
    from gateway.multipart import MultipartUploads

# The statements recording a part, on the connection of a shared write transaction.
_LOCK_UPLOAD = (
    select(MultipartUpload.id).where(MultipartUpload.id == bindparam("upload_id")).with_for_update()
)
_PART_SIZE = select(UploadPart.size).where(
    UploadPart.reservation_id == bindparam("reservation_id"),
    UploadPart.number == bindparam("number"),
)
_INSERT_PART = insert(UploadPart).values(offset=0)
_UPDATE_PART = (
    update(UploadPart)
    .where(
        UploadPart.reservation_id == bindparam("b_reservation_id"),
        UploadPart.number == bindparam("b_number"),
    )
    .values(
        size=bindparam("size"),
        md5=bindparam("md5"),
        etag=bindparam("etag"),
        stored_at=bindparam("stored_at"),
        checksum=bindparam("checksum"),
    )
)


class PartWriter:
    """One part's bytes on their way into the store. Use as a context manager (or
    call :meth:`abort`); :meth:`finish` stores and records the part.

    ``write`` raises :class:`TooLarge` the moment the part or the object would pass its
    limit and :class:`QuotaExceeded` the moment the account would; either way the part
    is given up: nothing is stored (an earlier part of its number stays) or held."""

    def __init__(
        self,
        uploads: MultipartUploads,
        info: MultipartInfo,
        number: int,
        store: ObjectStore,
        *,
        others: int,
        size: int | None,
    ) -> None:
        self._uploads = uploads
        self.info = info
        self.number = number
        self.size = 0
        self._expected = size
        self._ceiling = min(MAX_PART_SIZE, uploads.max_object_size - others)
        self._md5 = hashlib.md5()
        reservations = uploads.storage.reservations
        self._reserved = size or 0
        # The part's own reservation, of a blob key nothing else names: should this
        # process die, recovery releases it and finds nothing of that key to free.
        self._reservation = uploads.db.write_job(
            lambda writing: reservations.open(
                info.account_id, info.region, new_key(), size or 0, session=writing
            )
        )
        self._store = store
        key, multipart_id = object_key(info.blob_key), info.multipart_id
        try:
            self._feed: Feed[Part] = Feed(
                lambda blocks: store.put_part(key, multipart_id, number, blocks),
                name="lockr-part",
            )
        except BaseException:
            reservations.release(self._reservation)
            raise
        self._done = False

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    @property
    def md5(self) -> str:
        """The hex MD5 of the bytes written so far."""
        return self._md5.hexdigest()

    def write(self, data: bytes) -> None:
        if self._done:
            raise Conflict("the part is already finished")
        if not data:
            return
        size = self.size + len(data)
        with self._or_give_up():
            if size > self._ceiling:
                if size > MAX_PART_SIZE:
                    raise TooLarge(f"a part is at most {MAX_PART_SIZE} bytes")
                raise TooLarge(too_large_message(self._uploads.max_object_size))
            if self._expected is not None and size > self._expected:
                raise BadRequest(
                    f"the body is longer than the declared size of {self._expected} bytes"
                )
            if size > self._reserved:
                self._reserved = self._uploads.storage.reservations.grow_stepwise(
                    self._reservation,
                    self.info.account_id,
                    held=self._reserved,
                    need=size - self._reserved,
                    ceiling=self._ceiling,
                )
            self._md5.update(data)
            self._feed.write(data)
        self.size = size

    def finish(self, *, checksum: str | None = None) -> PartInfo:
        """Store the part and record it (replacing an earlier one of its number),
        with its ``checksum`` of the upload's algorithm, if it has one."""
        if self._done:
            raise Conflict("the part is already finished")
        with self._or_give_up():
            if self._expected is not None and self.size != self._expected:
                raise BadRequest(
                    f"the body has {self.size} bytes but {self._expected} were declared"
                )
            part = self._feed.finish()
            stored = self._record(part, checksum)
        self._done = True
        info = self.info
        self._uploads.assemblies.stored(
            info.id, self._store, object_key(info.blob_key), info.multipart_id, part
        )
        return stored

    def _record(self, part: Part, checksum: str | None) -> PartInfo:
        """Record the stored part, moving its bytes from its own reservation to the
        upload's, and giving back those of a part it replaces."""
        info, number, md5, held = self.info, self.number, self.md5, self._reservation
        reservations = self._uploads.storage.reservations
        now = self._uploads.clock()
        values = {
            "reservation_id": info.reservation_id,
            "number": number,
            "size": part.size,
            "md5": md5,
            "etag": part.etag,
            "stored_at": now,
            "checksum": checksum,
        }

        def job(writing: Writing) -> None:
            connection = writing.connection()
            if connection.execute(_LOCK_UPLOAD, {"upload_id": info.id}).first() is None:
                raise NoSuchUpload(GONE)
            old = connection.execute(_PART_SIZE, values).first()
            replaced = 0 if old is None else old[0]
            reservations.transfer(writing, held, info.reservation_id, part.size - replaced)
            if old is None:
                connection.execute(_INSERT_PART, values)
            else:
                where = {"b_reservation_id": info.reservation_id, "b_number": number}
                connection.execute(_UPDATE_PART, values | where)

        self._uploads.db.write_job(job)
        return PartInfo(number, part.size, md5, now, checksum)

    @contextmanager
    def _or_give_up(self) -> Iterator[None]:
        """Give the part up (:meth:`abort`) if the block fails; a store or a
        reservation that no longer knows the upload means it is gone."""
        try:
            yield
        except NotFound:
            self.abort()
            raise NoSuchUpload(GONE) from None
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Give the part up: its bytes are not stored and its quota is given back.
        Idempotent; nothing happens after :meth:`finish`."""
        if self._done:
            return
        self._done = True
        try:
            self._feed.abort()
        finally:
            self._uploads.storage.reservations.release(self._reservation)
