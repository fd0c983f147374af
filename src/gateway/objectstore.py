"""Object stores: the contract every region backend meets.

An object is a whole blob of bytes under a key. It is written once, from a stream
(:meth:`ObjectStore.put`) or from parts (the multipart calls), and becomes visible only
when complete and durable; it is read by ranges and deleted. Two backends implement it,
:class:`gateway.objectstore_local.LocalObjectStore` (a directory) and
:class:`gateway.objectstore_s3.S3ObjectStore` (any S3-compatible store), and one contract
test suite runs against both (``tests/gateway/test_objectstore.py``).

Every method raises only domain errors (:mod:`gateway.errors`): a missing object or
upload is :class:`NotFound`, a refused key, part number or part list :class:`BadRequest`,
a store that is unreachable or overloaded :class:`Busy`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.errors import BadRequest

BLOCK = 1024 * 1024
"""The largest block a reader yields."""

MAX_PART_NUMBER = 10_000
MAX_KEY_LENGTH = 1024
RESERVED_ROOT = "tmp"
"""No key may start with this segment: a local store keeps its scratch files there."""

_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,255}")


@dataclass(frozen=True)
class Part:
    """One uploaded part of a multipart upload, as :meth:`ObjectStore.put_part` reports it.

    ``etag`` is the backend's own token for this part's bytes (not necessarily their
    MD5: a caller that needs a part's MD5 computes it from the bytes it sends); pass
    the ``Part`` back unchanged to :meth:`ObjectStore.complete_multipart`."""

    number: int
    size: int
    etag: str


class Assembly(Protocol):
    """An upload's object being put together from its stored parts before the upload
    is completed (see :meth:`ObjectStore.assembly`), so that completing it has little
    left to do. It belongs to the writer that made it (one thread at a time); several
    MAY exist for one upload, each ignoring the others. It is scratch: a crash leaves
    bytes that completing or aborting the upload removes, never a visible object.
    """

    @property
    def parts(self) -> Sequence[Part]:
        """The parts taken so far, in order."""

    @property
    def size(self) -> int:
        """Their bytes, together."""

    def append(self, part: Part, each: Callable[[memoryview], object]) -> None:
        """Take the stored ``part`` (as :meth:`ObjectStore.put_part` returned it) after
        the parts taken, handing its bytes, in order, to ``each`` in blocks of at most
        :data:`BLOCK`; they are exactly the part's, so a hash ``each`` keeps is the hash
        of what :meth:`complete` makes, and memory does not grow with the part's size.
        A block is a view of a buffer the assembly MAY reuse for the next one: ``each``
        MUST copy what it keeps beyond its call.
        A part that is no longer as
        uploaded (replaced since, or never stored) is :class:`BadRequest`, an upload
        that is gone :class:`NotFound`. Should ``each`` raise, or anything fail, the
        assembly MUST be as it was before the call, and the exception propagates."""

    def rewind(self, count: int) -> None:
        """Keep only the first ``count`` parts taken."""

    def complete(self, parts: Sequence[Part]) -> int:
        """Complete the upload with the assembled object, as
        :meth:`ObjectStore.complete_multipart` would with ``parts``, and return its
        size. ``parts`` MUST be exactly the parts taken, and a valid part list
        (:func:`check_parts`); otherwise :class:`BadRequest` and nothing changes. An
        upload that is gone is :class:`NotFound`. The assembly is used up once this
        is called (unless it refused the list). The upload is gone when this returns,
        but the bytes of its parts MAY remain until :meth:`discard`, which the caller
        SHOULD call once it has acted on the completion (what a crash leaves in
        between, :meth:`ObjectStore.list_multipart` lists for a sweep to abort)."""

    def discard(self) -> None:
        """Drop the assembly's bytes (not the upload), or, after :meth:`complete`,
        what the completed upload left. Idempotent."""


class ObjectStore(Protocol):
    """Where a region keeps its objects.

    Keys are checked by :func:`check_key` (``/``-separated segments of letters, digits,
    ``.``, ``_``, ``-``). A key MUST NOT be both an object and the folder-like prefix of
    another object (``a`` and ``a/b``): a local store cannot hold both and answers
    :class:`Conflict`; lockr's own keys never do this.
    """

    min_part_size: int
    """Every part of a multipart upload but the last MUST be at least this large."""

    part_size: int
    """Where a writer streaming an upload's parts should start the next part: near
    :attr:`min_part_size` for a store that buffers a part before sending it, very large
    for one whose parts are files that completing has to copy."""

    def put(self, key: str, blocks: Iterable[bytes]) -> int:
        """Store the object ``key`` from ``blocks`` and return its size, replacing any
        object of that key. The object MUST become visible only once complete and durable,
        in one step. If ``blocks`` raises, the exception MUST propagate and nothing MAY be
        left behind (no object, no temporary file, no multipart upload). Memory use MUST
        NOT grow with the object's size."""

    def put_pending(self, key: str, blocks: Iterable[bytes]) -> tuple[int, str]:
        """Store the object ``key`` as :meth:`put` does, and leave a durable record of
        the write (an unfinished upload of ``key``, listed by :meth:`list_multipart`)
        that exists before any byte is visible; returns the size and the record's id,
        which :meth:`abort_multipart` drops (leaving the object). A writer that
        commits the object elsewhere (a database row) drops the record after; a crash
        in between leaves it listed, so a sweep finds the object and frees it if
        nothing refers to it. If ``blocks`` raises, nothing is left behind."""

    def open_reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The object's bytes from ``offset`` (``length`` of them, or to the end) in blocks
        of at most :data:`BLOCK`; a range past the end yields what there is (maybe nothing),
        a negative one is :class:`BadRequest`. A missing key MUST raise :class:`NotFound`
        from this call, not from iterating."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The object's size in bytes; :class:`NotFound` if it is missing."""

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    def create_multipart(self, key: str) -> str:
        """Start a multipart upload of ``key``; returns its upload id."""

    def put_part(self, key: str, upload_id: str, number: int, blocks: Iterable[bytes]) -> Part:
        """Store part ``number`` (1 to :data:`MAX_PART_NUMBER`) of an upload from
        ``blocks``. Parts MAY come in any order; a part number stored again replaces the
        earlier part (an S3-compatible store MAY refuse to replace a part it has already
        begun assembling; AWS S3, MinIO and Ceph never do). An unknown upload is
        :class:`NotFound`. If ``blocks`` raises, the exception propagates and the part is
        not stored (an earlier part of that number MAY remain)."""

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[Part]) -> int:
        """Assemble ``parts`` (ascending part numbers, each as :meth:`put_part` returned
        it; parts not listed are dropped) into the object ``key``, durably and visible in
        one step, and return its size. Every part but the last MUST be at least
        :attr:`min_part_size` bytes: otherwise :class:`BadRequest`, and the upload stays
        open (to be completed differently or aborted). A part that is not as uploaded
        (replaced since, or never stored) is also :class:`BadRequest`, after which an
        S3-compatible store MAY have dropped the upload (``rclone serve s3`` does). An
        unknown upload is :class:`NotFound`."""

    def assembly(self, key: str, upload_id: str) -> Assembly | None:
        """A new, empty :class:`Assembly` of the upload's object, or ``None`` where the
        store cannot read the parts of an unfinished upload (an S3-compatible store).
        An unknown upload is :class:`NotFound`."""

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and every part of it (never a completed object of ``key``);
        an unknown upload is not an error."""

    def list_multipart(self, prefix: str = "") -> list[tuple[str, str]]:
        """``(key, upload_id)`` of every unfinished upload whose key starts with
        ``prefix``, sorted, so that recovery can abort the ones nothing records. A
        :meth:`put` still running, or cut short by a crash, MAY be listed too, and so
        MAY what a completed :class:`Assembly` left and did not discard yet (with the
        key ``""``, for the empty prefix)."""

    def presigned_url(self, key: str, *, expires: int, filename: str | None = None) -> str | None:
        """A URL that lets anyone holding it GET the object for ``expires`` seconds,
        saved as ``filename`` when one is given; ``None`` where the backend has no such
        URLs (a local store)."""

    def check(self) -> None:
        """Raise a domain error, whose message says why, if the store cannot be used:
        a missing folder or bucket (:class:`NotFound`), refused credentials
        (:class:`Forbidden`), an endpoint that does not answer (:class:`Busy`)."""

    def close(self) -> None:
        """Release connections and other resources; the store is not used afterwards."""


def check_key(key: str) -> str:
    """``key`` if it is a valid object key, else :class:`BadRequest`."""
    check_segments(key, what="object key")
    if key.split("/", 1)[0] == RESERVED_ROOT:
        raise BadRequest(f"object keys may not start with {RESERVED_ROOT!r}")
    return key


def check_segments(text: str, *, what: str) -> str:
    """``text`` if it is ``/``-separated names of ``A-Z a-z 0-9 . _ -`` (none of them
    ``.`` or ``..``), at most :data:`MAX_KEY_LENGTH` characters; else :class:`BadRequest`
    naming ``what`` it is."""
    if not text or len(text) > MAX_KEY_LENGTH:
        raise BadRequest(f"{what} must have 1 to {MAX_KEY_LENGTH} characters")
    for segment in text.split("/"):
        if not _SEGMENT.fullmatch(segment) or segment in {".", ".."}:
            raise BadRequest(f"{what} {text!r} is not '/'-separated names of A-Z a-z 0-9 . _ -")
    return text


def check_range(offset: int, length: int | None) -> None:
    if offset < 0 or (length is not None and length < 0):
        raise BadRequest("a range starts at 0 or later and is not negative")


def check_part_number(number: int) -> int:
    if not 1 <= number <= MAX_PART_NUMBER:
        raise BadRequest(f"part numbers go from 1 to {MAX_PART_NUMBER}, not {number}")
    return number


def check_parts(parts: Sequence[Part], min_part_size: int) -> None:
    """Refuse a part list no store would assemble: empty, not ascending, or with a part
    other than the last smaller than ``min_part_size``."""
    if not parts:
        raise BadRequest("a multipart upload is completed with at least one part")
    for previous, part in zip(parts, parts[1:], strict=False):
        if part.number <= previous.number:
            raise BadRequest("parts must be listed in ascending order of their numbers")
    for part in parts[:-1]:
        if part.size < min_part_size:
            raise BadRequest(
                f"part {part.number} has {part.size} bytes; every part but the last "
                f"must have at least {min_part_size}"
            )
