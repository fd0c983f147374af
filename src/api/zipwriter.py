"""A zip archive written as it is read: the standard library's :mod:`zipfile` writing
to a sink that cannot seek, drained after every block, so an archive of any size
passes through in blocks of the files' own reads (1 MiB) and no temporary file.

On a sink that cannot seek, :mod:`zipfile` writes each file's CRC and sizes in a
data descriptor after its bytes; the sizes are known before (each entry's ``size``),
so a file that needs zip64 (4 GiB or more) gets it in its headers, and an archive of
more than 65,535 entries or past 4 GiB ends with zip64's end records. Entries are
*stored*, not deflated: see ``docs/api.md`` (the archive) for the measurement.

Times: the DOS time of each entry is its modification time in UTC (zip has no time
zone), and an extended-timestamp field (``UT``, 0x5455) carries the exact UTC
second, which Info-ZIP, 7-Zip and libarchive read."""

from __future__ import annotations

import struct
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator

from gateway.selection import Member
from gateway.tree import Entry

_DOS_EPOCH = 315532800.0  # 1980-01-01T00:00:00Z, the first time zip can say
_DOS_END = 4354819199.0  # 2107-12-31T23:59:59Z, the last
_FILE_MODE = 0o644 << 16
_FOLDER_MODE = (0o40755 << 16) | 0x10


class _Sink:
    """What :mod:`zipfile` writes to: no ``tell`` or ``seek``, so it streams."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._chunks.append(data if isinstance(data, bytes) else bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> list[bytes]:
        chunks, self._chunks = self._chunks, []
        return chunks


def zip_stream(
    members: Iterable[Member], read: Callable[[Entry], Iterator[bytes]]
) -> Iterator[bytes]:
    """The bytes of a zip of ``members``, each file's read with ``read`` when its turn
    comes (never before, so one reader is open at a time). An error from ``read`` or
    from the iteration of ``members`` ends the stream where it is, without the
    central directory: a client sees a broken download, never an archive that
    looks whole and is not."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)
    try:
        for member in members:
            info = _info(member)
            if member.entry.is_dir:
                archive.mkdir(info)
            else:
                with archive.open(info, "w") as out:
                    yield from sink.drain()
                    for block in read(member.entry):
                        out.write(block)
                        yield from sink.drain()
            yield from sink.drain()
        archive.close()
    except BaseException:
        archive.fp = None  # abandoned: no central directory, even when collected
        raise
    yield from sink.drain()


def _info(member: Member) -> zipfile.ZipInfo:
    mtime = min(max(member.entry.mtime, _DOS_EPOCH), _DOS_END)
    info = zipfile.ZipInfo(member.path, time.gmtime(mtime)[:6])
    info.extra = struct.pack("<HHBl", 0x5455, 5, 1, int(min(mtime, 2**31 - 1)))
    if member.entry.is_dir:
        info.external_attr = _FOLDER_MODE
        info.CRC = info.compress_size = 0
    else:
        info.external_attr = _FILE_MODE
        info.file_size = member.entry.size
    return info
