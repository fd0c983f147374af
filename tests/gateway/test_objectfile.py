"""ObjectFile: a seekable file over an object, opened lazily at the first read."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.objectfile import ObjectFile
from gateway.objectstore import BLOCK
from gateway.objectstore_local import LocalObjectStore


def _read(file: ObjectFile, size: int) -> bytes:
    data = b""
    while len(data) < size and (block := file.read(size - len(data))):
        data += block
    return data


def test_reads_seeks_and_ranges(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    data = os.urandom(2 * BLOCK + 123)
    store.put("ab/cd/object", [data])
    with ObjectFile(store, "ab/cd/object", len(data)) as file:
        assert file.read(10) == data[:10]
        assert file.tell() == 10
        assert _read(file, BLOCK) == data[10 : 10 + BLOCK]  # reads may be short
        file.seek(BLOCK + 5)
        assert file.read(7) == data[BLOCK + 5 : BLOCK + 12]
        file.seek(-3, os.SEEK_END)
        assert file.read() == data[-3:]
        assert file.read(5) == b""
        file.seek(0)
        assert file.read() == data


def test_nothing_is_opened_before_the_first_read(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    file = ObjectFile(store, "ab/cd/missing", 10)
    file.seek(4)
    file.close()  # a missing object costs nothing until read
