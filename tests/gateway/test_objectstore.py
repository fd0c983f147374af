"""The object store contract, one suite run against every backend: ``local`` on a
temporary folder (a new store, flat, and one laid out as earlier versions did, nested),
``s3`` on a real S3 server (``rclone serve s3``) under a fresh prefix."""

from __future__ import annotations

import hashlib
import os
import re
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.blobkeys import new_key, object_key, tail_key
from gateway.errors import BadRequest, NotFound
from gateway.objectstore import BLOCK, MAX_PART_NUMBER, Assembly, ObjectStore, Part
from gateway.objectstore_local import LocalObjectStore
from gateway.objectstore_local_layout import MARKER, Layout
from gateway.objectstore_s3 import S3ObjectStore
from tests.conftest import S3Server

MiB = 1024 * 1024
BUCKET = "lockr-test"


@dataclass
class Backend:
    name: str
    store: ObjectStore
    leftovers: Callable[[], list[str]]
    """Everything the store holds: objects, temporary files, unfinished uploads."""


@pytest.fixture(scope="module")
def s3_client(s3_server: S3Server) -> Iterator[Any]:
    """A plain boto3 client to look inside the bucket."""
    client = s3_server.client()
    yield client
    client.close()


FLAT_BLOB = re.compile(r"([0-9a-f]{2})/(\1[0-9a-f]{30}(?:\.tail)?)")
"""A blob's file in a flat local store, ``ab/abcd…``: the object ``ab/cd/abcd…``."""


@pytest.fixture(params=["local", "local-nested", pytest.param("s3", marks=pytest.mark.slow)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param.startswith("local"):
        root = tmp_path / "store"
        if request.param == "local-nested":
            (root / "00" / "00").mkdir(parents=True)  # where earlier versions kept blobs
        local = LocalObjectStore(root)
        assert local.layout == (Layout.NESTED if request.param == "local-nested" else Layout.FLAT)

        def key_of(path: Path) -> str:
            name = str(path.relative_to(root))
            flat = FLAT_BLOB.fullmatch(name)
            return name if flat is None else f"{flat[1]}/{flat[2][2:4]}/{flat[2]}"

        def files() -> list[str]:
            found = (p for p in root.rglob("*") if p.is_file() and p != root / MARKER)
            return sorted(map(key_of, found))

        yield Backend("local", local, files)
        local.close()
        return
    server: S3Server = request.getfixturevalue("s3_server")
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    s3 = S3ObjectStore(
        endpoint=server.endpoint,
        bucket=BUCKET,
        prefix=prefix,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        region_name=server.region_name,
        part_size=S3ObjectStore.min_part_size,
    )
    client = request.getfixturevalue("s3_client")

    def objects() -> list[str]:
        listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
        keys = [item["Key"].removeprefix(prefix + "/") for item in listed.get("Contents", [])]
        return sorted(keys + [f"upload of {key}" for key, _ in s3.list_multipart()])

    yield Backend("s3", s3, objects)
    s3.close()


def blocks_of(data: bytes, size: int = 300_000) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def read(store: ObjectStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    blocks = list(store.open_reader(key, offset, length))
    assert all(0 < len(block) <= BLOCK for block in blocks)
    return b"".join(blocks)


class Boom(Exception):
    pass


def failing(data: bytes) -> Iterator[bytes]:
    yield from blocks_of(data, MiB)
    raise Boom


# -- whole objects ---------------------------------------------------------------------


def test_round_trip_and_replace(backend: Backend) -> None:
    store = backend.store
    data = os.urandom(3 * MiB + 5)
    assert store.put("ab/cd/object", blocks_of(data)) == len(data)
    assert store.exists("ab/cd/object")
    assert store.size("ab/cd/object") == len(data)
    assert read(store, "ab/cd/object") == data
    assert store.put("ab/cd/object", [b"new ", b"bytes"]) == 9
    assert read(store, "ab/cd/object") == b"new bytes"
    assert backend.leftovers() == ["ab/cd/object"]


def test_empty_object(backend: Backend) -> None:
    assert backend.store.put("empty", []) == 0
    assert backend.store.put("empty-too", [b"", b""]) == 0
    assert backend.store.exists("empty")
    assert backend.store.size("empty") == 0
    assert read(backend.store, "empty") == b""
    assert read(backend.store, "empty", 3) == b""


RANGE_DATA = bytes(range(256)) * (9 * 1024)  # 2.25 MiB: crosses block boundaries


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, 10),  # the start
        (1_000_000, 1_500_000),  # the middle, over a block boundary
        (2_000_000, None),  # to the end
        (len(RANGE_DATA) - 5, 100),  # over the end
        (len(RANGE_DATA), None),  # at the end
        (len(RANGE_DATA) + 10, 5),  # past the end
        (7, 0),  # nothing
    ],
)
def test_ranges(backend: Backend, offset: int, length: int | None) -> None:
    backend.store.put("ranged", [RANGE_DATA])
    end = None if length is None else offset + length
    assert read(backend.store, "ranged", offset, length) == RANGE_DATA[offset:end]


def test_missing_keys(backend: Backend) -> None:
    store = backend.store
    with pytest.raises(NotFound):
        store.open_reader("missing")  # at the call, before any block
    with pytest.raises(NotFound):
        store.open_reader("missing", 0, 0)
    with pytest.raises(NotFound):
        store.size("missing")
    store.put("there", [b"x"])
    for offset, length in [(-1, None), (0, -1)]:
        with pytest.raises(BadRequest):
            store.open_reader("there", offset, length)
    assert not store.exists("missing")
    store.delete("missing")
    store.put("there", [b"x"])
    store.delete("there")
    store.delete("there")
    assert not store.exists("there")
    assert backend.leftovers() == []


@pytest.mark.parametrize(
    "key", ["", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", "tmp/x", "a b", "é", "x" * 1025]
)
def test_bad_keys_refused(backend: Backend, key: str) -> None:
    with pytest.raises(BadRequest):
        backend.store.put(key, [b"x"])
    with pytest.raises(BadRequest):
        backend.store.exists(key)
    with pytest.raises(BadRequest):
        backend.store.create_multipart(key)


def test_a_pending_put_is_recorded_until_its_record_is_dropped(backend: Backend) -> None:
    """put_pending stores the object as put does and leaves an unfinished upload of its
    key, listed until dropped; dropping it leaves the object."""
    store = backend.store
    size, record = store.put_pending("ab/cd/new", blocks_of(b"pending bytes", 4))
    assert size == 13 and read(store, "ab/cd/new") == b"pending bytes"
    assert store.list_multipart() == [("ab/cd/new", record)]
    assert store.list_multipart("ab/cd/n") == [("ab/cd/new", record)]
    assert store.list_multipart("zz") == []
    store.abort_multipart("ab/cd/new", record)
    assert store.list_multipart() == []
    assert read(store, "ab/cd/new") == b"pending bytes"
    store.put("old", [b"old"])
    _, replacing = store.put_pending("old", [b"new"])
    assert read(store, "old") == b"new"
    store.abort_multipart("old", replacing)
    long = "ab/" + "x" * 240  # too long a name for the local store's scratch file
    _, record = store.put_pending(long, [b"long"])
    assert store.list_multipart() == [(long, record)]
    store.abort_multipart(long, record)
    assert store.list_multipart() == []
    assert backend.leftovers() == ["ab/cd/new", long, "old"]


def test_a_failed_pending_put_leaves_nothing(backend: Backend) -> None:
    with pytest.raises(Boom):
        backend.store.put_pending("ab/new", failing(os.urandom(1000)))
    assert backend.leftovers() == []


@pytest.mark.parametrize("written", [1000, 7 * MiB])
def test_failed_put_leaves_nothing(backend: Backend, written: int) -> None:
    """A stream that fails (after less than a part, or after a whole part: an S3
    multipart upload) leaves no trace, and the object it would replace unchanged."""
    store = backend.store
    with pytest.raises(Boom):
        store.put("new", failing(os.urandom(written)))
    assert backend.leftovers() == []
    store.put("old", [b"kept"])
    with pytest.raises(Boom):
        store.put("old", failing(os.urandom(written)))
    assert read(store, "old") == b"kept"
    assert backend.leftovers() == ["old"]
    assert store.list_multipart() == []


def test_large_object_streams_in_flat_memory(backend: Backend) -> None:
    """64 MiB in and out while the test process's Python allocations stay small."""
    size = 64 * MiB
    expected = hashlib.md5()

    def generated() -> Iterator[bytes]:
        for index in range(size // MiB):
            block = index.to_bytes(4, "big") * (MiB // 4)
            expected.update(block)
            yield block

    tracemalloc.start()
    try:
        assert backend.store.put("large", generated()) == size
        actual = hashlib.md5()
        for block in backend.store.open_reader("large"):
            actual.update(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert actual.hexdigest() == expected.hexdigest()
    assert peak < 40 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert backend.leftovers() == ["large"]


# -- multipart uploads -----------------------------------------------------------------


def parts_of(store: ObjectStore, key: str, upload_id: str, data: dict[int, bytes]) -> list[Part]:
    return [store.put_part(key, upload_id, n, blocks_of(data[n], MiB)) for n in sorted(data)]


def test_multipart_any_order_with_a_retried_part(backend: Backend) -> None:
    store = backend.store
    least = store.min_part_size
    one, two, three = b"a" * least, b"b" * least, b"c" * 10
    upload_id = store.create_multipart("mp/object")
    last = store.put_part("mp/object", upload_id, 3, [three])
    store.put_part("mp/object", upload_id, 2, blocks_of(b"x" * least, MiB))
    second = store.put_part("mp/object", upload_id, 2, blocks_of(two, MiB))  # the retry wins
    first = store.put_part("mp/object", upload_id, 1, blocks_of(one, MiB))
    assert (second.number, second.size) == (2, least)
    assert (first.number, first.size, last.size) == (1, least, 10)
    assert not store.exists("mp/object")
    assert store.complete_multipart("mp/object", upload_id, [first, second, last]) == 2 * least + 10
    assert read(store, "mp/object") == one + two + three
    assert store.list_multipart() == []
    assert backend.leftovers() == ["mp/object"]


def test_a_replaced_part_cannot_be_completed(backend: Backend) -> None:
    store = backend.store
    upload_id = store.create_multipart("stale")
    replaced = store.put_part("stale", upload_id, 2, [b"old"])
    store.put_part("stale", upload_id, 2, [b"new"])
    first = store.put_part("stale", upload_id, 1, [b"1" * store.min_part_size])
    with pytest.raises(BadRequest):
        store.complete_multipart("stale", upload_id, [first, replaced])
    assert not store.exists("stale")
    store.abort_multipart("stale", upload_id)  # the store may have dropped it already
    assert backend.leftovers() == []


def test_parts_below_the_minimum_are_refused(backend: Backend) -> None:
    store = backend.store
    small = store.min_part_size - 1
    upload_id = store.create_multipart("small")
    parts = parts_of(store, "small", upload_id, {1: b"s" * small, 2: b"end"})
    with pytest.raises(BadRequest, match="at least"):
        store.complete_multipart("small", upload_id, parts)
    with pytest.raises(BadRequest, match="ascending"):
        store.complete_multipart("small", upload_id, parts[::-1])
    with pytest.raises(BadRequest):
        store.complete_multipart("small", upload_id, [])
    assert not store.exists("small")
    assert store.list_multipart() == [("small", upload_id)]  # still open: abort it
    store.abort_multipart("small", upload_id)
    assert backend.leftovers() == []


@pytest.mark.parametrize("number", [0, MAX_PART_NUMBER + 1])
def test_part_numbers_out_of_range(backend: Backend, number: int) -> None:
    upload_id = backend.store.create_multipart("numbers")
    with pytest.raises(BadRequest):
        backend.store.put_part("numbers", upload_id, number, [b"x"])
    backend.store.abort_multipart("numbers", upload_id)


def test_abort_frees_everything(backend: Backend) -> None:
    store = backend.store
    upload_id = store.create_multipart("aborted")
    parts = parts_of(store, "aborted", upload_id, {1: b"p" * store.min_part_size, 2: b"q"})
    store.abort_multipart("aborted", upload_id)
    store.abort_multipart("aborted", upload_id)  # idempotent
    assert backend.leftovers() == []
    with pytest.raises(NotFound):
        store.put_part("aborted", upload_id, 3, [b"late"])
    with pytest.raises(NotFound):
        store.complete_multipart("aborted", upload_id, parts)
    assert not store.exists("aborted")


def test_unknown_uploads(backend: Backend) -> None:
    store = backend.store
    store.abort_multipart("never", "0" * 32)
    with pytest.raises(NotFound):
        store.put_part("never", "0" * 32, 1, [b"x"])
    upload_id = store.create_multipart("one-key")
    with pytest.raises(NotFound):  # an upload belongs to its key
        store.put_part("another-key", upload_id, 1, [b"x"])
    store.abort_multipart("one-key", upload_id)


def test_failed_part_propagates(backend: Backend) -> None:
    store = backend.store
    upload_id = store.create_multipart("failing")
    with pytest.raises(Boom):
        store.put_part("failing", upload_id, 1, failing(b"f" * 1000))
    store.abort_multipart("failing", upload_id)
    assert backend.leftovers() == []


def test_list_multipart_finds_unfinished_uploads(backend: Backend) -> None:
    store = backend.store
    first = store.create_multipart("a/one")
    store.put_part("a/one", first, 1, [b"bytes"])
    second = store.create_multipart("b/two")
    assert store.list_multipart() == sorted([("a/one", first), ("b/two", second)])
    assert store.list_multipart("a/") == [("a/one", first)]
    assert store.list_multipart("c") == []
    for key, upload_id in store.list_multipart():
        store.abort_multipart(key, upload_id)
    assert store.list_multipart() == []
    assert backend.leftovers() == []


# -- assemblies ------------------------------------------------------------------------


def test_a_store_assembles_only_what_it_can_read(backend: Backend) -> None:
    """The local store gives an empty assembly of an unfinished upload; an S3 store,
    whose unfinished parts cannot be read, gives none."""
    store = backend.store
    upload_id = store.create_multipart("asm/which")
    assembly = store.assembly("asm/which", upload_id)
    if backend.name == "s3":
        assert assembly is None
    else:
        assert assembly is not None and (list(assembly.parts), assembly.size) == ([], 0)
        assembly.discard()
    store.abort_multipart("asm/which", upload_id)
    assert backend.leftovers() == []


def assembling(backend: Backend) -> ObjectStore:
    """The store, for a test of what assemblies do; skips the test on a backend that
    has none."""
    if backend.name == "s3":
        pytest.skip(
            "an S3 store has no assemblies: the parts of an unfinished upload cannot be read"
        )
    return backend.store


def assembly_of(store: ObjectStore, key: str, upload_id: str) -> Assembly:
    """The upload's new, empty assembly."""
    assembly = store.assembly(key, upload_id)
    assert assembly is not None and (list(assembly.parts), assembly.size) == ([], 0)
    return assembly


def take(assembly: Assembly, part: Part) -> bytes:
    """Append ``part`` and return the bytes handed over while it was appended."""
    seen: list[bytes] = []
    assembly.append(part, lambda block: seen.append(bytes(block)))
    assert all(0 < len(block) <= BLOCK for block in seen)
    return b"".join(seen)


def test_an_assembly_takes_parts_before_the_upload_completes(backend: Backend) -> None:
    store = assembling(backend)
    least = store.min_part_size
    data = {1: os.urandom(least + 2 * MiB), 2: os.urandom(least), 3: b"end"}
    upload_id = store.create_multipart("asm/object")
    parts = parts_of(store, "asm/object", upload_id, data)
    assembly = assembly_of(store, "asm/object", upload_id)
    assert [take(assembly, part) for part in parts[:2]] == [data[1], data[2]]
    assert (list(assembly.parts), assembly.size) == (parts[:2], len(data[1]) + len(data[2]))
    assert not store.exists("asm/object")
    with pytest.raises(BadRequest):
        assembly.complete(parts)  # not the parts taken: nothing changes
    assert take(assembly, parts[2]) == data[3]
    other = store.assembly("asm/object", upload_id)  # another writer's, ignored
    assert other is not None
    take(other, parts[0])
    assert assembly.complete(parts) == sum(map(len, data.values()))
    assert read(store, "asm/object") == data[1] + data[2] + data[3]
    with pytest.raises(NotFound):
        store.put_part("asm/object", upload_id, 4, [b"late"])  # the upload is gone
    with pytest.raises(NotFound):
        store.assembly("asm/object", upload_id)
    assert store.list_multipart("asm") == []
    # Until discarded, what the upload left MAY remain, listed for a sweep (key "").
    assert [key for key, _ in store.list_multipart()] in ([], [""])
    assembly.discard()
    assembly.discard()  # idempotent
    other.discard()
    assert store.list_multipart() == []
    assert backend.leftovers() == ["asm/object"]


def test_an_assembly_rewinds_and_refuses_parts_not_as_uploaded(backend: Backend) -> None:
    store = assembling(backend)
    least = store.min_part_size
    upload_id = store.create_multipart("asm/rewound")
    first, second = parts_of(store, "asm/rewound", upload_id, {1: b"1" * least, 2: b"2" * least})
    assembly = assembly_of(store, "asm/rewound", upload_id)
    take(assembly, first)
    take(assembly, second)
    again = store.put_part("asm/rewound", upload_id, 2, [b"two, again"])
    assembly.rewind(1)
    assert (list(assembly.parts), assembly.size) == ([first], least)
    with pytest.raises(BadRequest):
        take(assembly, second)  # replaced since it was stored

    def fail(block: memoryview) -> None:
        raise Boom

    with pytest.raises(Boom):
        assembly.append(again, fail)
    assert (list(assembly.parts), assembly.size) == ([first], least)  # as it was
    assert take(assembly, again) == b"two, again"
    assert assembly.complete([first, again]) == least + 10
    assert read(store, "asm/rewound") == b"1" * least + b"two, again"
    # Not discarded (a crash, say): a sweep aborting what is listed frees it all.
    for key, listed in store.list_multipart():
        store.abort_multipart(key, listed)
    assert store.list_multipart() == []
    assert backend.leftovers() == ["asm/rewound"]


def test_aborting_an_upload_drops_its_assemblies(backend: Backend) -> None:
    store = assembling(backend)
    upload_id = store.create_multipart("asm/aborted")
    (part,) = parts_of(store, "asm/aborted", upload_id, {1: b"p" * 1000})
    assembly = assembly_of(store, "asm/aborted", upload_id)
    take(assembly, part)
    discarded = store.assembly("asm/aborted", upload_id)
    assert discarded is not None
    discarded.discard()
    discarded.discard()  # idempotent
    store.abort_multipart("asm/aborted", upload_id)
    assert backend.leftovers() == []
    with pytest.raises(NotFound):
        take(assembly, part)
    with pytest.raises(NotFound):
        assembly.complete([part])
    assembly.discard()
    assert not store.exists("asm/aborted") and backend.leftovers() == []
    with pytest.raises(NotFound):
        store.assembly("asm/aborted", upload_id)


# -- lockr's blob keys -----------------------------------------------------------------


def test_blob_keys_through_every_way_of_writing(backend: Backend) -> None:
    """The keys lockr names blobs and tails with (:mod:`gateway.blobkeys`), which a
    flat local store keeps in files of their own shape, are written each way, read,
    sized, listed by the leftovers and deleted as any other key."""
    store = backend.store
    put, replaced, pending, parted, assembled = (new_key() for _ in range(5))
    store.put(object_key(put), [b"put"])
    store.put(tail_key(put), [b"its tail"])
    store.put(object_key(replaced), [b"old"])
    for key, data in [(object_key(replaced), b"replaced"), (object_key(pending), b"pending")]:
        _, record = store.put_pending(key, [data])
        store.abort_multipart(key, record)
    upload_id = store.create_multipart(object_key(parted))
    part = store.put_part(object_key(parted), upload_id, 1, [b"parted"])
    store.complete_multipart(object_key(parted), upload_id, [part])
    upload_id = store.create_multipart(object_key(assembled))
    part = store.put_part(object_key(assembled), upload_id, 1, [b"assembled"])
    assembly = store.assembly(object_key(assembled), upload_id)
    if assembly is None:
        store.complete_multipart(object_key(assembled), upload_id, [part])
    else:
        take(assembly, part)
        assembly.complete([part])
        assembly.discard()
    written = {
        object_key(put): b"put",
        tail_key(put): b"its tail",
        object_key(replaced): b"replaced",
        object_key(pending): b"pending",
        object_key(parted): b"parted",
        object_key(assembled): b"assembled",
    }
    for key, data in written.items():
        assert store.exists(key) and store.size(key) == len(data), key
        assert read(store, key) == data and read(store, key, 1, 3) == data[1:4]
    assert store.list_multipart() == []
    assert backend.leftovers() == sorted(written)
    for key in written:
        store.delete(key)
        assert not store.exists(key)
    assert backend.leftovers() == []


# -- presigned URLs --------------------------------------------------------------------


def test_presigned_url(backend: Backend) -> None:
    data = os.urandom(100_000)
    backend.store.put("shared/file", [data])
    url = backend.store.presigned_url("shared/file", expires=60, filename="résumé 1.pdf")
    if backend.name == "local":
        assert url is None
        return
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf" in response.headers["content-disposition"]
    plain = backend.store.presigned_url("shared/file", expires=60)
    assert plain is not None and httpx.get(plain).content == data
    with pytest.raises(BadRequest):
        backend.store.presigned_url("shared/file", expires=0)
