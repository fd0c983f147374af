"""The vocabulary of multipart uploads (:mod:`gateway.multipart`): their limits and
errors, what an upload and its parts are, and what S3 computes over parts (the
object's ETag, a part list's digest, the part sizes a multipart object keeps)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.errors import BadRequest, Conflict, NotFound
from gateway.tree import Entry

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
"""Every part of a completed upload but the last is at least this large (S3's rule)."""
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_LISTED = 1000
"""The most parts or uploads one listing page holds."""
BUSY_SECONDS = 120.0
"""How long a completion or abort holds its upload before another request may try."""
RENEW_SECONDS = 30.0
COMPLETED_KEPT_SECONDS = 24 * 3600.0
"""How long a completed upload is remembered for a retried completion: S3 sets no
figure, clients retry within minutes (the SDKs' backoff) or after a restart, and a
record is a small row, deleted as newer completions are recorded."""
GONE = "no such upload (it was completed or aborted meanwhile)"
"""What a request is told about an upload that went while it ran."""


class NoSuchUpload(NotFound):
    """No such upload: never opened, completed, aborted or past its lifetime."""


class InvalidPart(BadRequest):
    """A listed part was not uploaded, or not with the ETag the list gives."""


class InvalidPartOrder(BadRequest):
    """A part list not in ascending order of part numbers."""


class PartTooSmall(BadRequest):
    """A listed part other than the last is smaller than :data:`MIN_PART_SIZE`."""


class UploadBusy(Conflict):
    """Another request is completing or aborting the upload."""


@dataclass(frozen=True)
class MultipartInfo:
    """One unfinished upload. ``path`` is in the account's tree; ``meta`` is what the
    client asked to store with the file, passed through as given."""

    id: str
    account_id: int
    path: str
    content_type: str
    mtime: float | None
    meta: dict[str, str] | None
    region: str
    blob_key: str
    multipart_id: str
    reservation_id: str
    created_at: float
    expires_at: float
    assembled: str | None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class PartInfo:
    """A stored part: its number, size, MD5 (hex; a part's S3 ETag), when it was
    stored, and its checksum of the upload's algorithm (if it has one)."""

    number: int
    size: int
    md5: str
    stored_at: float
    checksum: str | None = None


@dataclass(frozen=True)
class Completed:
    """A completion sent again: the file the first one made, as it is now, and the
    metadata that completion gave it beyond the upload's (the object's checksum)."""

    entry: Entry
    meta: dict[str, str]


@dataclass(frozen=True)
class UploadPage:
    """One page of an account's unfinished uploads in (path, id) order, with the
    common prefixes a delimiter rolled up; ``next_marker`` is the path and upload id
    (``None`` after a common prefix) to continue after, when ``truncated``."""

    uploads: list[MultipartInfo]
    prefixes: list[str]
    truncated: bool
    next_marker: tuple[str, str | None] | None


def multipart_etag(md5s: Sequence[str]) -> str:
    """S3's ETag of an object made of parts with these (hex) MD5s: the MD5 of their
    binary MD5s, ``-`` and how many there are."""
    digest = hashlib.md5(b"".join(bytes.fromhex(md5) for md5 in md5s)).hexdigest()
    return f"{digest}-{len(md5s)}"


def part_list_digest(
    listed: Sequence[tuple[int, str]], checksums: Sequence[Mapping[str, str]] = ()
) -> str:
    """The SHA-256 (hex) of a completion's part list: its numbers, ETags (unquoted,
    lowercase, as they are compared) and the checksums given with each part
    (algorithm names to values; ``checksums`` runs along ``listed``, or is empty)."""
    given = list(checksums) or [{}] * len(listed)
    canonical = [
        [number, etag.strip().strip('"').lower(), sorted((k, v.strip()) for k, v in sums.items())]
        for (number, etag), sums in zip(listed, given, strict=True)
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def encode_sizes(sizes: Sequence[int]) -> str:
    """Part sizes as runs of equal sizes: ``8388608*12,1234*1``."""
    runs: list[list[int]] = []
    for size in sizes:
        if runs and runs[-1][0] == size:
            runs[-1][1] += 1
        else:
            runs.append([size, 1])
    return ",".join(f"{size}*{count}" for size, count in runs)


def decode_sizes(text: str) -> list[tuple[int, int]]:
    """The runs ``(size, count)`` :func:`encode_sizes` wrote."""
    runs = []
    for run in text.split(","):
        size, _, count = run.partition("*")
        runs.append((int(size), int(count)))
    return runs


def part_window(entry: Entry, part_sizes: str | None, number: int) -> tuple[int, int, int] | None:
    """The offset and size of part ``number`` of the file ``entry``, and how many
    parts it has: a multipart object's as recorded (``part_sizes``), any other the
    single part 1. ``None`` past the last part (or for a multipart object whose
    part sizes were not recorded)."""
    if entry.multipart_etag is None:
        return (0, entry.size, 1) if number == 1 else None
    if part_sizes is None:
        return None
    runs = decode_sizes(part_sizes)
    count = sum(run_count for _, run_count in runs)
    offset, first = 0, 1
    for size, run_count in runs:
        if number < first + run_count:
            return offset + (number - first) * size, size, count
        offset += size * run_count
        first += run_count
    return None
