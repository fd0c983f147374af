"""Where a local object store keeps its objects: a new store flat (``ab/abcd…``, its
folders made with it), one of earlier versions nested (``ab/cd/abcd…``) as it was."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.blobkeys import new_key, object_key, tail_key
from gateway.errors import BadRequest, Conflict
from gateway.objectstore import check_key
from gateway.objectstore_local import LocalObjectStore
from gateway.objectstore_local_layout import MARKER, Layout

HEX_PAIRS = sorted(f"{number:02x}" for number in range(256))


def write_put(store: LocalObjectStore, key: str, data: bytes) -> None:
    store.put(key, [data])


def write_pending(store: LocalObjectStore, key: str, data: bytes) -> None:
    _, record = store.put_pending(key, [data])
    store.abort_multipart(key, record)


def write_over_pending(store: LocalObjectStore, key: str, data: bytes) -> None:
    """A pending put that replaces an object (its record is an upload folder)."""
    store.put(key, [b"replaced"])
    write_pending(store, key, data)


def write_multipart(store: LocalObjectStore, key: str, data: bytes) -> None:
    upload_id = store.create_multipart(key)
    part = store.put_part(key, upload_id, 1, [data])
    store.complete_multipart(key, upload_id, [part])


def write_assembled(store: LocalObjectStore, key: str, data: bytes) -> None:
    upload_id = store.create_multipart(key)
    part = store.put_part(key, upload_id, 1, [data])
    assembly = store.assembly(key, upload_id)
    assembly.append(part, lambda block: None)
    assembly.complete([part])
    assembly.discard()


WAYS = [write_put, write_pending, write_over_pending, write_multipart, write_assembled]
Write = Callable[[LocalObjectStore, str, bytes], None]


def folders(root: Path) -> list[str]:
    """Every folder of the store but its scratch folder and what is in it."""
    found = (path.relative_to(root) for path in root.rglob("*") if path.is_dir())
    return sorted(str(path) for path in found if path.parts[0] != "tmp")


def earlier_store(root: Path) -> str:
    """A store as earlier versions left it: a blob in ``ab/cd/abcd…``; returns its key."""
    key = new_key()
    (root / key[:2] / key[2:4]).mkdir(parents=True)
    (root / key[:2] / key[2:4] / key).write_bytes(b"written before")
    return key


@pytest.mark.parametrize("write", WAYS)
def test_a_new_store_keeps_blobs_one_level_deep(tmp_path: Path, write: Write) -> None:
    store = LocalObjectStore(tmp_path)
    assert store.layout == Layout.FLAT
    assert (tmp_path / MARKER).read_text() == "flat\n"
    assert folders(tmp_path) == HEX_PAIRS
    key = new_key()
    write(store, object_key(key), b"blob")
    write(store, tail_key(key), b"tail")
    assert (tmp_path / key[:2] / key).read_bytes() == b"blob"
    assert (tmp_path / key[:2] / f"{key}.tail").read_bytes() == b"tail"
    assert store.path(object_key(key)) == tmp_path / key[:2] / key
    assert folders(tmp_path) == HEX_PAIRS
    assert list(store.tmp.iterdir()) == []
    assert b"".join(store.open_reader(object_key(key))) == b"blob"
    store.delete(object_key(key))
    assert not (tmp_path / key[:2] / key).exists() and store.exists(tail_key(key))


def test_other_keys_are_their_own_files(tmp_path: Path) -> None:
    """Only lockr's blob shape maps: anything else (the contract tests' keys, or a key
    that looks almost like a blob's) is the file its key names, in both layouts."""
    store = LocalObjectStore(tmp_path)
    key = new_key()
    others = [
        "ab/cd/object",
        f"{key[:2]}/{key[2:4]}/{key}.tmp",
        f"{key[:2]}/ff/{key}" if key[2:4] != "ff" else f"{key[:2]}/00/{key}",
        f"{key[:2]}/{key[2:4]}/{key[:31]}",
        f"{key[:2]}/{key[2:4]}/{key.upper()}",
        f"x/{key[:2]}/{key[2:4]}/{key}",
    ]
    for other in others:
        store.put(other, [b"x"])
        assert (tmp_path / other).read_bytes() == b"x", other


def test_the_marker_is_no_key() -> None:
    with pytest.raises(BadRequest):
        check_key(MARKER)


@pytest.mark.parametrize("write", WAYS)
def test_a_store_of_earlier_versions_stays_nested(tmp_path: Path, write: Write) -> None:
    old = earlier_store(tmp_path)
    store = LocalObjectStore(tmp_path)
    assert store.layout == Layout.NESTED
    assert not (tmp_path / MARKER).exists()
    assert b"".join(store.open_reader(object_key(old))) == b"written before"
    key = new_key()
    write(store, object_key(key), b"blob")
    write(store, tail_key(key), b"tail")
    assert (tmp_path / key[:2] / key[2:4] / key).read_bytes() == b"blob"
    assert (tmp_path / key[:2] / key[2:4] / f"{key}.tail").read_bytes() == b"tail"
    assert not (tmp_path / key[:2] / key).exists()
    again = LocalObjectStore(tmp_path)
    assert again.layout == Layout.NESTED and not (tmp_path / MARKER).exists()
    assert again.size(object_key(key)) == 4 and again.exists(object_key(old))


def test_a_store_of_earlier_versions_with_every_blob_deleted_stays_nested(
    tmp_path: Path,
) -> None:
    """Earlier versions left a blob's folders when they deleted it: still nested."""
    old = earlier_store(tmp_path)
    (tmp_path / old[:2] / old[2:4] / old).unlink()
    assert LocalObjectStore(tmp_path).layout == Layout.NESTED


def test_an_empty_store_of_earlier_versions_is_made_flat(tmp_path: Path) -> None:
    """A store with no blob folder (nothing but its scratch folder with an unfinished
    upload, and what else a folder may hold) cannot tell: it is made flat, and the
    upload completes into the flat layout."""
    earlier = LocalObjectStore(tmp_path)
    key = object_key(new_key())
    upload_id = earlier.create_multipart(key)
    part = earlier.put_part(key, upload_id, 1, [b"begun before"])
    # What an earlier version left: no marker, no blob folder.
    (tmp_path / MARKER).unlink()
    for name in HEX_PAIRS:
        (tmp_path / name).rmdir()
    (tmp_path / "lost+found").mkdir()
    (tmp_path / "README").write_text("not an object")
    store = LocalObjectStore(tmp_path)
    assert store.layout == Layout.FLAT
    assert folders(tmp_path) == sorted([*HEX_PAIRS, "lost+found"])
    store.complete_multipart(key, upload_id, [part])
    assert store.path(key) == tmp_path / key[:2] / key[6:]
    assert store.path(key).read_bytes() == b"begun before"


def test_a_flat_store_restored_without_its_marker_is_flat(tmp_path: Path) -> None:
    """Its blobs lie right in the folders ``ab/``: that says flat, and the marker is
    written again (a store with only empty folders ``ab/`` is flat too)."""
    store = LocalObjectStore(tmp_path)
    key = new_key()
    store.put(object_key(key), [b"kept"])
    (tmp_path / MARKER).unlink()
    again = LocalObjectStore(tmp_path)
    assert again.layout == Layout.FLAT and (tmp_path / MARKER).read_text() == "flat\n"
    assert b"".join(again.open_reader(object_key(key))) == b"kept"
    again.delete(object_key(key))
    (tmp_path / MARKER).unlink()
    assert LocalObjectStore(tmp_path).layout == Layout.FLAT


def test_a_flat_store_makes_its_missing_folders_again(tmp_path: Path) -> None:
    """A crash after the marker, before the folders were made (or a folder removed):
    the store is still flat, and has them all again once opened."""
    LocalObjectStore(tmp_path)
    for name in HEX_PAIRS:
        (tmp_path / name).rmdir()
    assert folders(tmp_path) == []
    store = LocalObjectStore(tmp_path)
    assert store.layout == Layout.FLAT
    assert folders(tmp_path) == HEX_PAIRS
    (tmp_path / "7f").rmdir()
    assert LocalObjectStore(tmp_path).layout == Layout.FLAT
    assert folders(tmp_path) == HEX_PAIRS


def test_a_layout_this_version_does_not_know_is_refused(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text("spiral\n")
    with pytest.raises(Conflict, match="'spiral'"):
        LocalObjectStore(tmp_path)
    assert folders(tmp_path) == []


@pytest.mark.parametrize(
    ("layout", "writes"), [(Layout.FLAT, 1_000), (Layout.NESTED, 100)], ids=["flat", "nested"]
)
def test_writes_make_no_folder_in_a_flat_store(tmp_path: Path, layout: Layout, writes: int) -> None:
    """1,000 small writes (each way a blob is written, in turn) make no folder in a
    flat store; in a nested one nearly every write makes one."""
    if layout == Layout.NESTED:
        (tmp_path / "00" / "00").mkdir(parents=True)
    store = LocalObjectStore(tmp_path)
    assert store.layout == layout
    before = len(folders(tmp_path))
    for number in range(writes):
        WAYS[number % len(WAYS)](store, object_key(new_key()), b"small")
    blobs = [name for _, _, files in os.walk(tmp_path) for name in files if name != MARKER]
    assert len(blobs) == writes
    made = len(folders(tmp_path)) - before
    if layout == Layout.FLAT:
        assert (before, made) == (256, 0)
    else:
        assert made > 0.9 * writes
