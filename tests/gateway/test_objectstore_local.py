"""What the local object store keeps on disk, beyond the contract
(``test_objectstore.py``): private modes, crashes and conflicts (its layout:
``test_objectstore_local_layout.py``)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.blobkeys import new_key
from gateway.errors import Conflict, NotFound
from gateway.objectstore import BLOCK
from gateway.objectstore_local import LocalObjectStore


def test_files_and_folders_are_private(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        store = LocalObjectStore(tmp_path / "store")
        store.put("ab/cd/object", [b"x"])
        upload_id = store.create_multipart("ab/cd/other")
        store.put_part("ab/cd/other", upload_id, 1, [b"y"])
    finally:
        os.umask(previous)
    for path in (tmp_path / "store").rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_a_key_cannot_be_an_object_and_a_folder(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("a", [b"file"])
    with pytest.raises(Conflict):
        store.put("a/b", [b"below a file"])
    store.put("c/d", [b"file"])
    with pytest.raises(Conflict):
        store.put("c", [b"over a folder"])
    assert not store.exists("c")
    with pytest.raises(NotFound):
        store.open_reader("c")
    store.delete("c")
    assert store.exists("c/d")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_put_in_progress_is_listed_and_can_be_aborted(tmp_path: Path) -> None:
    """Recovery finds a put by its key and may abort it; the put then fails cleanly."""
    store = LocalObjectStore(tmp_path)

    def blocks() -> Iterator[bytes]:
        yield b"first"
        [(key, upload_id)] = store.list_multipart("dir/")
        assert key == "dir/object"
        store.abort_multipart(key, upload_id)
        yield b"second"

    with pytest.raises(NotFound, match="aborted"):
        store.put("dir/object", blocks())
    assert not store.exists("dir/object")
    assert list((tmp_path / "tmp").iterdir()) == []


CRASHING_PUT = """
import os, sys
from pathlib import Path
from gateway.objectstore import BLOCK
from gateway.objectstore_local import LocalObjectStore

def blocks():
    yield b"x" * 100_000
    os._exit(3)

LocalObjectStore(Path(sys.argv[1])).put("crashed/object", blocks())
"""


def test_a_crashed_put_is_found_and_freed(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_PUT, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=60,
    )
    assert done.returncode == 3
    store = LocalObjectStore(tmp_path)
    [(key, upload_id)] = store.list_multipart()
    assert key == "crashed/object" and not store.exists(key)
    store.abort_multipart(key, upload_id)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_put_killed_before_its_key_is_found_and_freed(tmp_path: Path) -> None:
    """A put's folder is made, then its key written: a process killed between the two
    leaves a folder without a key, listed with the key "" so that a sweep frees it."""
    store = LocalObjectStore(tmp_path)
    (store.tmp / ("mpu-" + "0" * 32)).mkdir()
    assert store.list_multipart() == [("", "0" * 32)]
    store.abort_multipart("", "0" * 32)
    assert list(store.tmp.iterdir()) == []


def test_pending_blobs_of_earlier_versions_are_removed(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    upload_id = store.create_multipart("ab/cd/kept")
    legacy = tmp_path / "tmp" / new_key()
    legacy.write_bytes(b"pending bytes of an earlier version")
    LocalObjectStore(tmp_path)
    assert not legacy.exists()
    assert store.list_multipart() == [("ab/cd/kept", upload_id)]


def test_an_assembly_reads_every_part_through_one_buffer(tmp_path: Path) -> None:
    """The blocks an assembly hands over, part after part, are views of one buffer,
    read into again for each block (no block allocated per read), and they are the
    parts' bytes in order, as is the completed object."""
    store = LocalObjectStore(tmp_path)
    data = [os.urandom(2 * BLOCK + 7), os.urandom(BLOCK), os.urandom(5)]
    upload_id = store.create_multipart("asm/object")
    parts = [
        store.put_part("asm/object", upload_id, number, [chunk])
        for number, chunk in enumerate(data, 1)
    ]
    assembly = store.assembly("asm/object", upload_id)
    buffers: set[int] = set()
    seen: list[bytes] = []

    def each(block: memoryview) -> None:
        buffers.add(id(block.obj))
        seen.append(bytes(block))

    for part in parts:
        assembly.append(part, each)
    assert len(seen) == 5 and len(buffers) == 1
    assert seen == [data[0][:BLOCK], data[0][BLOCK : 2 * BLOCK], data[0][2 * BLOCK :], *data[1:]]
    assert assembly.complete(parts) == sum(map(len, data))
    assert store.path("asm/object").read_bytes() == b"".join(data)
    assembly.discard()
