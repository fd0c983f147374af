"""Multipart uploads a client drives, one file each (S3's CreateMultipartUpload,
UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts
and ListMultipartUploads): :class:`MultipartUploads`, built once per process.

A client opens an upload for a path, sends numbered parts (1 to
:data:`MAX_PART_NUMBER`) in any order and as often as it likes (a part sent again
replaces the earlier one), then completes the upload with the list of the parts that
make the file, or aborts it. Everything is in the database and the region's store, so
an upload survives restarts and any node may continue it:

- the upload's *reservation* names its blob and the store's multipart upload, holds
  the bytes of its stored parts, and expires when the upload's lifetime ends; recovery
  then releases it like any expired reservation (:meth:`gateway.recovery.Recovery.reclaim`
  aborts the store's upload and gives the quota back) and the upload's row and parts
  go with it (their foreign keys cascade);
- a part streams into the store's upload (:meth:`ObjectStore.put_part`) through a
  :class:`~gateway.multipart_part.PartWriter`, its MD5 computed as it passes, with
  quota reserved while it streams in a reservation of its own, tied to this process
  as a direct upload's is (a process that dies mid-part holds nothing for long); once
  stored, its bytes move to the upload's reservation and it is recorded (size, MD5,
  the store's token) in one transaction, and a part it replaces gives its bytes back
  (a part's reads are prepared statements, and its two writes, opening its
  reservation and recording it, are jobs that concurrent parts' share a commit with:
  :meth:`gateway.db.Database.write_job`);
- completing checks the client's list against the recorded parts, then a
  :class:`~gateway.multipart_completion.Completion` assembles the object in the
  store, reads it back once for its MD5 and SHA-1 (memory stays flat whatever its
  size) and commits the file as every write does; where the store can read parts
  back, most of that was done while the parts arrived (:mod:`gateway.assembly`), and
  completing takes the rest (:func:`gateway.commit.commit_blob`: S3's rule, an
  existing file is replaced). The file keeps the upload's S3 ETag,
  :func:`~gateway.multipart_terms.multipart_etag` of its parts;
- a completed upload is gone (its row and parts go with its reservation), but what
  it was completed with and made is kept for
  :data:`~gateway.multipart_terms.COMPLETED_KEPT_SECONDS`
  (:class:`gateway.models.CompletedUpload`, written in the commit's transaction), so
  that the same completion sent again finds what the first made
  (:meth:`MultipartUploads.completed`), as S3 answers a retried completion.

The limits, errors and records of uploads and parts are :mod:`gateway.multipart_terms`.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from gateway.assembly import Assemblies
from gateway.blobkeys import new_key, object_key
from gateway.clock import Clock
from gateway.db import Database
from gateway.errors import BadRequest, NotFound, TooLarge
from gateway.lookup import lock_folder
from gateway.models import (
    Account,
    Blob,
    CompletedUpload,
    MultipartUpload,
    Node,
    Reservation,
    UploadPart,
)
from gateway.multipart_completion import Completion
from gateway.multipart_part import PartWriter
from gateway.multipart_terms import (
    BUSY_SECONDS,
    COMPLETED_KEPT_SECONDS,
    GONE,
    MAX_LISTED,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    Completed,
    InvalidPart,
    InvalidPartOrder,
    MultipartInfo,
    NoSuchUpload,
    PartInfo,
    PartTooSmall,
    UploadBusy,
    UploadPage,
    decode_sizes,
    multipart_etag,
    part_list_digest,
    part_window,
)
from gateway.objectstore import MAX_PART_NUMBER, Part
from gateway.partchecksums import encode_checksums
from gateway.storage import Entry, Storage, check_new_name, split_path, too_large_message
from gateway.strays import discard_write
from gateway.tree import successor


class Digest(Protocol):
    """A running checksum (hashlib's interface)."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


def _info(upload: MultipartUpload, reservation: Reservation) -> MultipartInfo:
    return _info_of(
        (
            upload.id,
            upload.account_id,
            upload.path,
            upload.content_type,
            upload.mtime,
            upload.meta,
            reservation.region,
            reservation.blob_key,
            reservation.multipart_id,
            reservation.id,
            upload.created_at,
            reservation.expires_at,
            upload.assembled,
            upload.checksum_algorithm,
            upload.checksum_type,
        )
    )


_WITH_RESERVATION = select(MultipartUpload, Reservation).join(
    Reservation, Reservation.id == MultipartUpload.reservation_id
)
# The reads every part makes, prepared once per process (:meth:`Database.prepare`).
_UPLOAD_BY_ID = (
    select(
        MultipartUpload.id,
        MultipartUpload.account_id,
        MultipartUpload.path,
        MultipartUpload.content_type,
        MultipartUpload.mtime,
        MultipartUpload.meta,
        Reservation.region,
        Reservation.blob_key,
        Reservation.multipart_id,
        Reservation.id,
        MultipartUpload.created_at,
        Reservation.expires_at,
        MultipartUpload.assembled,
        MultipartUpload.checksum_algorithm,
        MultipartUpload.checksum_type,
    )
    .join(Reservation, Reservation.id == MultipartUpload.reservation_id)
    .where(MultipartUpload.id == bindparam("upload_id"))
)
_OTHER_PARTS_SIZE = select(func.coalesce(func.sum(UploadPart.size), 0)).where(
    UploadPart.reservation_id == bindparam("reservation_id"),
    UploadPart.number != bindparam("number"),
)


class MultipartUploads:
    """The multipart uploads of every account; see the module's docstring."""

    def __init__(
        self,
        db: Database,
        storage: Storage,
        clock: Clock,
        *,
        lifetime_seconds: float,
        max_object_size: int,
    ) -> None:
        self.db = db
        self.storage = storage
        self.clock = clock
        self.lifetime = lifetime_seconds
        self.max_object_size = max_object_size
        self.assemblies = Assemblies()
        self._upload_by_id = db.prepare(_UPLOAD_BY_ID)
        self._part_sizes = db.prepare(
            select(Blob.part_sizes).where(Blob.key == bindparam("blob_key"))
        )
        self._other_parts_size = db.prepare(_OTHER_PARTS_SIZE)

    def close(self) -> None:
        """Stop assembling uploads in this process (:mod:`gateway.assembly`)."""
        self.assemblies.close()

    # -- opening and finding -------------------------------------------------------------

    def create(
        self,
        account_id: int,
        path: str,
        *,
        content_type: str,
        mtime: float | None = None,
        meta: dict[str, str] | None = None,
        checksum: tuple[str, str] | None = None,
        in_bucket: bool = False,
    ) -> MultipartInfo:
        """Open an upload of the file ``path`` in the account's default region. Its
        folders need not exist yet (completing makes them). A full account (entries)
        is refused now. ``checksum`` is the algorithm and type of the checksum its
        parts and object have (the caller checks they go together). With
        ``in_bucket``, the path's top-level folder (an S3 bucket) must be there when
        the upload is recorded, checked in that transaction (else :class:`NotFound`):
        a bucket deleted meanwhile either finds the upload recorded, and aborts it,
        or is found gone (:attr:`gateway.subtrees.Subtrees.after_bucket`)."""
        parts = split_path(path)
        if not parts:
            raise BadRequest("a file needs a name")
        check_new_name(parts[-1])
        if len(content_type) > 255:
            raise BadRequest("a content type is at most 255 characters")
        now = self.clock()
        reservations = self.storage.reservations
        blob_key = new_key()
        with self.db.write() as session:
            region = session.scalar(select(Account.default_region).where(Account.id == account_id))
            if region is None:
                raise NotFound("no such account")
            store = self.storage.store_for(region)
            self.storage.entries.require_room(session, account_id)
            # Recorded before the store hears of it, so that no sweep takes the
            # store's upload for a stray.
            reservation_id = reservations.open(
                account_id, region, blob_key, 0, expires_at=now + self.lifetime, session=session
            )
        upload = MultipartUpload(
            # Ids sort as the uploads were opened (S3 lists one key's uploads so).
            id=f"{int(now * 1_000_000):015x}{secrets.token_hex(12)}",
            account_id=account_id,
            path="/".join(parts),
            content_type=content_type,
            mtime=mtime,
            meta=None if meta is None else json.dumps(meta, sort_keys=True),
            reservation_id=reservation_id,
            created_at=now,
            busy_until=0.0,
            checksum_algorithm=None if checksum is None else checksum[0],
            checksum_type=None if checksum is None else checksum[1],
        )
        multipart_id = None
        try:
            multipart_id = store.create_multipart(object_key(blob_key))
            with self.db.write() as session:
                if in_bucket:
                    self._require_bucket(session, account_id, parts[0])
                reservation = session.get(Reservation, reservation_id)
                if reservation is None:
                    raise NotFound("the upload's reservation is gone")
                reservation.multipart_id = multipart_id
                session.add(upload)
                session.flush()
                return _info(upload, reservation)
        except BaseException:
            discard_write(store, blob_key, multipart_id, committed=False)
            reservations.release(reservation_id)
            raise

    def _require_bucket(self, session: Session, account_id: int, name: str) -> None:
        """In a write: the account's top-level folder ``name`` is there (locked until
        the transaction ends, on PostgreSQL), or :class:`NotFound`."""
        key = f"{name}/"
        found = session.scalar(
            select(Node.id).where(Node.account_id == account_id, Node.key == key)
        )
        if found is None:
            raise NotFound("no such bucket")
        lock_folder(session, found, key, sqlite=self.db.is_sqlite)

    def get(self, account_id: int, upload_id: str, path: str | None = None) -> MultipartInfo:
        """The account's unfinished upload ``upload_id`` (of ``path``, when given), or
        :class:`NoSuchUpload`."""
        row = self._upload_by_id.first({"upload_id": upload_id})
        if row is None:
            raise NoSuchUpload("no such upload")
        info = _info_of(row)
        if (
            info.account_id != account_id
            or (path is not None and info.path != "/".join(split_path(path)))
            or info.expires_at < self.clock()
        ):
            raise NoSuchUpload("no such upload")
        return info

    def part_of(self, entry: Entry, number: int) -> tuple[int, int, int] | None:
        """The offset, size and count of the file's part ``number`` (see
        :func:`part_window`)."""
        return part_window(entry, self._recorded_sizes(entry), number)

    def part_sizes(self, entry: Entry) -> list[int] | None:
        """The sizes of the parts of the multipart object ``entry`` in part order, as
        recorded at its completion; ``None`` for any other file (or a multipart
        object whose sizes were not recorded)."""
        recorded = self._recorded_sizes(entry)
        if recorded is None:
            return None
        return [size for size, count in decode_sizes(recorded) for _ in range(count)]

    def _recorded_sizes(self, entry: Entry) -> str | None:
        if entry.multipart_etag is None or entry.blob_key is None:
            return None
        row = self._part_sizes.first({"blob_key": entry.blob_key})
        return None if row is None else row[0]

    # -- parts ---------------------------------------------------------------------------

    def part(self, info: MultipartInfo, number: int, *, size: int | None = None) -> PartWriter:
        """Start part ``number`` (of ``size`` bytes, when known: they are reserved at
        once, so a full account is refused before any byte)."""
        if not 1 <= number <= MAX_PART_NUMBER:
            raise BadRequest(f"part numbers go from 1 to {MAX_PART_NUMBER}")
        if size is not None and size > MAX_PART_SIZE:
            raise TooLarge(f"a part is at most {MAX_PART_SIZE} bytes")
        found = self._other_parts_size.first(
            {"reservation_id": info.reservation_id, "number": number}
        )
        others = int(found[0]) if found is not None else 0
        if size is not None and others + size > self.max_object_size:
            raise TooLarge(too_large_message(self.max_object_size))
        store = self.storage.store_for(info.region)
        return PartWriter(self, info, number, store, others=others, size=size)

    def copy_part(
        self,
        info: MultipartInfo,
        number: int,
        source: Entry,
        offset: int,
        length: int,
        *,
        checksum: Digest | None = None,
    ) -> PartInfo:
        """Make part ``number`` of ``length`` bytes of the file ``source`` from
        ``offset`` (read and stored again: a part is bytes of its own upload), with
        its ``checksum`` computed as the bytes pass (base64, when given)."""
        with self.part(info, number, size=length) as writer:
            for block in self.storage.open(source, offset, length):
                if checksum is not None:
                    checksum.update(block)
                writer.write(block)
            value = None if checksum is None else base64.b64encode(checksum.digest()).decode()
            return writer.finish(checksum=value)

    def parts(
        self, info: MultipartInfo, *, after: int = 0, limit: int = MAX_LISTED
    ) -> list[PartInfo]:
        """The upload's parts numbered above ``after``, in order, at most ``limit``."""
        with self.db.read() as session:
            rows = session.scalars(
                select(UploadPart)
                .where(UploadPart.reservation_id == info.reservation_id, UploadPart.number > after)
                .order_by(UploadPart.number)
                .limit(max(0, limit))
            ).all()
        return [_part_info(row) for row in rows]

    # -- listing uploads -----------------------------------------------------------------

    def list_uploads(
        self,
        account_id: int,
        prefix: str,
        *,
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        limit: int = MAX_LISTED,
    ) -> UploadPage:
        """The account's unfinished uploads whose paths start with ``prefix``, in
        (path, id) order: after ``key_marker`` (and, with ``upload_id_marker``, after
        that upload of ``key_marker`` itself), at most ``limit`` uploads and common
        prefixes together. With a ``delimiter``, paths holding it after the prefix
        roll up into one common prefix each (up to and including it), and a common
        prefix not above ``key_marker`` is left out with all it holds (S3's rule: a
        marker that is a common prefix, or a path inside one, resumes after it)."""
        uploads: list[MultipartInfo] = []
        prefixes: list[str] = []
        last: tuple[str, str | None] | None = None
        cursor = _after(key_marker, upload_id_marker)
        if delimiter and key_marker and key_marker.endswith(delimiter) and not upload_id_marker:
            # After a common prefix (a page may end on one): past everything under it.
            cursor = MultipartUpload.path >= successor(key_marker)
        now = self.clock()
        if limit <= 0:
            return UploadPage([], [], False, None)
        while True:
            room = limit - len(uploads) - len(prefixes)
            query = (
                _WITH_RESERVATION.where(
                    MultipartUpload.account_id == account_id,
                    Reservation.expires_at >= now,
                    *_under(prefix),
                    *([] if cursor is None else [cursor]),
                )
                .order_by(MultipartUpload.path, MultipartUpload.id)
                .limit(room + 1)
            )
            with self.db.read() as session:
                rows = session.execute(query).all()
            jumped = False
            for upload, reservation in rows:
                if len(uploads) + len(prefixes) == limit:
                    return UploadPage(uploads, prefixes, True, last)
                rest = upload.path[len(prefix) :]
                found = rest.find(delimiter) if delimiter else -1
                if delimiter and found >= 0:
                    common = prefix + rest[: found + len(delimiter)]
                    if key_marker is None or common > key_marker:
                        prefixes.append(common)
                        last = (common, None)
                    cursor = MultipartUpload.path >= successor(common)
                    jumped = True
                    break
                uploads.append(_info(upload, reservation))
                last = (upload.path, upload.id)
                cursor = _after(upload.path, upload.id)
            if not jumped and len(rows) <= room:
                return UploadPage(uploads, prefixes, False, None)

    # -- completing and aborting ---------------------------------------------------------

    def complete(
        self,
        info: MultipartInfo,
        listed: Sequence[tuple[int, str]],
        *,
        check: Callable[[list[tuple[str | None, int]]], dict[str, str]] | None = None,
        checksums: Sequence[Mapping[str, str]] = (),
    ) -> Completion:
        """Check the client's part list (``(number, ETag)`` pairs, ascending; each
        part stored with that ETag, its MD5, quoted or not; every part but the last
        at least :data:`MIN_PART_SIZE`; the whole within the object limit) and claim
        the upload for the completion. ``check``, given the listed parts' recorded
        checksums and sizes, MAY raise to refuse the list, and returns metadata for
        the file (the object's checksum). ``checksums`` are the ones the list gives
        with each part (in its order), remembered with the list for a retry
        (:meth:`completed`). The slow part, :meth:`Completion.run`, assembles,
        hashes and commits."""
        if not listed:
            raise InvalidPart("a multipart upload is completed with at least one part")
        numbers = [number for number, _ in listed]
        if any(later <= earlier for earlier, later in zip(numbers, numbers[1:], strict=False)):
            raise InvalidPartOrder("the parts must be listed in ascending order of number")
        with self.db.read() as session:
            recorded = {
                row.number: row
                for row in session.scalars(
                    select(UploadPart).where(UploadPart.reservation_id == info.reservation_id)
                )
            }
        chosen: list[UploadPart] = []
        for number, etag in listed:
            row = recorded.get(number)
            if row is None or row.md5 != etag.strip().strip('"').lower():
                raise InvalidPart(
                    f"part {number} was not uploaded, or not with the ETag {etag.strip()[:80]}"
                )
            chosen.append(row)
        for row in chosen[:-1]:
            if row.size < MIN_PART_SIZE:
                raise PartTooSmall(
                    f"part {row.number} has {row.size} bytes; every part but the last "
                    f"must have at least {MIN_PART_SIZE}"
                )
        size = sum(row.size for row in chosen)
        if size > self.max_object_size:
            raise TooLarge(too_large_message(self.max_object_size))
        etag = multipart_etag([row.md5 for row in chosen if row.md5 is not None])
        if info.assembled is not None and info.assembled != etag:
            raise InvalidPart(
                "this upload was assembled from another part list, whose parts are gone: "
                "complete it with that list, or abort it"
            )
        meta = {} if check is None else check([(row.checksum, row.size) for row in chosen])
        self._claim(info)
        parts = [Part(row.number, row.size, row.etag) for row in chosen]
        digest = part_list_digest(listed, checksums)
        sums = encode_checksums([row.checksum for row in chosen])
        return Completion(self, info, parts, etag, size, meta, digest, sums)

    def completed(
        self,
        account_id: int,
        upload_id: str,
        path: str,
        listed: Sequence[tuple[int, str]],
        *,
        checksums: Sequence[Mapping[str, str]] = (),
    ) -> Completed | None:
        """What the account's upload ``upload_id`` of ``path`` made, if it was
        completed within :data:`COMPLETED_KEPT_SECONDS` with this same part list
        (and ``checksums``, as :meth:`complete` takes them) and the file at ``path``
        is still the one it made; else ``None`` (another list, or a file deleted or
        replaced since: the upload is simply gone)."""
        with self.db.read() as session:
            row = session.get(CompletedUpload, upload_id)
        if (
            row is None
            or row.account_id != account_id
            or row.path != "/".join(split_path(path))
            or row.completed_at < self.clock() - COMPLETED_KEPT_SECONDS
            or row.parts_digest != part_list_digest(listed, checksums)
        ):
            return None
        try:
            entry = self.storage.stat(account_id, row.path)
        except NotFound:
            return None
        if entry.id != row.node_id or entry.blob_key != row.blob_key or entry.is_dir:
            return None
        return Completed(entry, {} if row.checksum is None else json.loads(row.checksum))

    def abort(self, info: MultipartInfo) -> None:
        """Drop the upload at once: the store's upload and parts (or the object a
        failed completion assembled), then its reservation, row and parts."""
        self._claim(info)
        self.assemblies.forget(info.id)
        store = self.storage.store_for(info.region)
        # Bytes first, rows after: should this stop in between, the upload's lifetime
        # ends and recovery finishes it.
        discard_write(store, info.blob_key, info.multipart_id, committed=False)
        self.storage.reservations.release(info.reservation_id)

    def abort_under(self, account_id: int, prefix: str) -> None:
        """Abort the account's unfinished uploads whose paths start with ``prefix``
        (:meth:`abort`), as S3 deletes a bucket with its uploads: called once the
        folder at ``prefix`` is gone (:attr:`gateway.subtrees.Subtrees.after_bucket`),
        so a folder of the same name made later holds none of them. One that another
        request is completing or aborting now is left to it."""
        marker: tuple[str, str | None] | None = None
        while True:
            page = self.list_uploads(
                account_id,
                prefix,
                key_marker=None if marker is None else marker[0],
                upload_id_marker=None if marker is None else marker[1],
            )
            for info in page.uploads:
                try:
                    self.abort(info)
                except (NoSuchUpload, UploadBusy):
                    pass
            if not page.truncated:
                return
            marker = page.next_marker

    def _claim(self, info: MultipartInfo) -> None:
        now = self.clock()
        with self.db.write() as session:
            claimed = session.execute(
                update(MultipartUpload)
                .where(MultipartUpload.id == info.id, MultipartUpload.busy_until < now)
                .values(busy_until=now + BUSY_SECONDS)
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                exists = session.scalar(
                    select(MultipartUpload.id).where(MultipartUpload.id == info.id)
                )
                if exists is None:
                    raise NoSuchUpload(GONE)
                raise UploadBusy("another request is completing or aborting this upload")


def _info_of(row: tuple[Any, ...]) -> MultipartInfo:
    """A :class:`MultipartInfo` of a row of ``_UPLOAD_BY_ID`` (its columns in the order
    of the fields)."""
    values = list(row)
    if values[5] is not None:
        values[5] = json.loads(values[5])
    info = MultipartInfo(*values)
    assert info.multipart_id is not None and info.expires_at is not None
    return info


def _part_info(row: UploadPart) -> PartInfo:
    return PartInfo(row.number, row.size, row.md5 or "", row.stored_at or 0.0, row.checksum)


def _under(prefix: str) -> list[ColumnElement[bool]]:
    if not prefix:
        return []
    return [MultipartUpload.path >= prefix, MultipartUpload.path < successor(prefix)]


def _after(path: str | None, upload_id: str | None) -> ColumnElement[bool] | None:
    """Uploads after ``path`` (after its upload ``upload_id`` when given, else after
    all of its uploads)."""
    if path is None:
        return None
    if not upload_id:
        return MultipartUpload.path > path
    return or_(
        MultipartUpload.path > path,
        and_(MultipartUpload.path == path, MultipartUpload.id > upload_id),
    )
