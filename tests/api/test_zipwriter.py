"""The streamed zip on its own: zip64 for a file past 4 GiB and for more than 65,535
entries (the archives read back with zipfile), memory that does not grow with the
archive, and an error that leaves no central directory behind."""

from __future__ import annotations

import bisect
import io
import tracemalloc
import zipfile
from collections.abc import Iterator

import pytest

from api.zipwriter import zip_stream
from gateway.selection import Member
from gateway.tree import Entry

BLOCK = 1024 * 1024
ZEROS = bytes(BLOCK)


def entry(name: str, size: int, *, is_dir: bool = False) -> Entry:
    return Entry(1, name, 1, 0, name, is_dir, size, "", 1_700_000_000.0, 1_700_000_000.0)


def zeros(size: int) -> Iterator[bytes]:
    """``size`` zero bytes in blocks, every whole block the same object."""
    whole, rest = divmod(size, BLOCK)
    for _ in range(whole):
        yield ZEROS
    if rest:
        yield bytes(rest)


class SparseArchive(io.RawIOBase):
    """A seekable view of a streamed archive that keeps every chunk but the shared
    zero blocks, which it remembers as holes: a 4 GiB archive in a few KiB."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.starts: list[int] = []
        self.chunks: list[bytes | int] = []
        self.size = 0
        for chunk in chunks:
            self.starts.append(self.size)
            self.chunks.append(len(chunk) if chunk is ZEROS else chunk)
            self.size += len(chunk)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        filled = 0
        while filled < len(buffer) and self.position < self.size:
            index = bisect.bisect_right(self.starts, self.position) - 1
            chunk = self.chunks[index]
            inside = self.position - self.starts[index]
            length = chunk if isinstance(chunk, int) else len(chunk)
            count = min(len(buffer) - filled, length - inside)
            part = bytes(count) if isinstance(chunk, int) else chunk[inside : inside + count]
            buffer[filled : filled + count] = part
            filled += count
            self.position += count
        return filled


def test_a_file_past_4_gib_and_one_after_it_read_back() -> None:
    big = 4 * 1024**3 + 3
    members = [Member("big.bin", entry("big.bin", big)), Member("after.txt", entry("a", 5))]

    def read(item: Entry) -> Iterator[bytes]:
        return zeros(item.size) if item.size == big else iter([b"after"])

    archive = zipfile.ZipFile(SparseArchive(zip_stream(members, read)))
    assert archive.getinfo("big.bin").file_size == big
    # The file after it starts past 4 GiB: only zip64 can say where, and its bytes
    # (CRC checked by zipfile) come back whole.
    assert archive.getinfo("after.txt").header_offset > 2**32
    assert archive.read("after.txt") == b"after"


def test_more_than_65535_entries_read_back() -> None:
    count = 65_536 + 10
    members = (Member(f"f{n}", entry(f"f{n}", 1)) for n in range(count))
    data = b"".join(zip_stream(members, lambda item: iter([b"x"])))
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert len(names) == count and names[-1] == f"f{count - 1}"
    assert archive.read(names[-1]) == b"x"


def test_memory_stays_flat_whatever_the_size() -> None:
    size = 256 * BLOCK
    members = [Member(f"f{n}", entry(f"f{n}", size)) for n in range(2)]

    def fresh_blocks(item: Entry) -> Iterator[bytes]:
        for _ in range(item.size // BLOCK):
            yield bytes(BLOCK)  # a new block each time, as a store's reads are

    tracemalloc.start()
    try:
        sent = sum(len(chunk) for chunk in zip_stream(members, fresh_blocks))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent > 2 * size
    assert peak < 4 * BLOCK  # a block or two in flight, not the 512 MiB archive


def test_an_error_ends_the_stream_without_a_central_directory() -> None:
    members = [Member("ok.txt", entry("ok", 2)), Member("gone.txt", entry("gone", 4))]

    def read(item: Entry) -> Iterator[bytes]:
        if item.name == "gone":
            raise FileNotFoundError("the blob is gone")
        return iter([b"ok"])

    sent: list[bytes] = []
    with pytest.raises(FileNotFoundError):
        for chunk in zip_stream(members, read):
            sent.append(chunk)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(b"".join(sent)))
