"""A read-only, seekable file over an object in a store, for fronts that want a file
(wsgidav serves GET, with ranges, from ``get_content()``'s file)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

from gateway.objectstore import ObjectStore


class ObjectFile(io.RawIOBase):
    """The object ``key`` of ``store``, ``size`` bytes long. Nothing is opened until the
    first read, which streams from the position then (so ``seek`` then ``read`` costs one
    ranged read of the store, not a read from the start); a seek elsewhere reopens."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._size = size
        self._position = 0
        self._blocks: Iterator[bytes] | None = None
        self._block = b""
        self._used = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        position = max(0, base + offset)
        if position != self._position:
            self._drop()
            self._position = position
        return position

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if size == 0 or self._position >= self._size:
            return b""
        if self._used == len(self._block):
            if self._blocks is None:
                self._blocks = iter(self._store.open_reader(self._key, self._position))
            self._block, self._used = next(self._blocks, b""), 0
            if not self._block:
                return b""
        if self._used == 0 and size >= len(self._block):
            taken = self._block  # the common case: whole blocks, no copy
        else:
            taken = self._block[self._used : self._used + size]
        self._used += len(taken)
        self._position += len(taken)
        return taken

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        blocks, self._blocks = self._blocks, None
        self._block, self._used = b"", 0
        close = getattr(blocks, "close", None)
        if close is not None:
            close()
