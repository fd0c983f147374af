"""Multipart uploads assembled while their parts arrive (a local region): a completion
takes over what was assembled and hashed ahead, with the same digests and ETag as the
full path, and falls back to that path whenever what was assembled does not match (a
part stored again too far back, a list without the parts taken, another process)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from gateway.assembly import Assemblies
from gateway.blobkeys import object_key
from gateway.core import Core
from gateway.multipart_terms import MIN_PART_SIZE, MultipartInfo, PartInfo, multipart_etag
from gateway.objectstore_local import LocalObjectStore
from gateway.storage import Entry
from gateway.strays import sweep_uploads
from tests.conftest import PASSWORD, CoreFactory, unfinished
from tests.gateway.multipart_helpers import complete, put_part

MiB = 1024 * 1024


def store_of(core: Core) -> LocalObjectStore:
    store = core.stores["local"]
    assert isinstance(store, LocalObjectStore)
    return store


def folder(core: Core, info: MultipartInfo) -> Path:
    return store_of(core).tmp / f"mpu-{info.multipart_id}"


def assembled(core: Core, info: MultipartInfo, size: int) -> int:
    """Wait until the upload's assembly holds ``size`` bytes; the inode of its file."""
    deadline = time.monotonic() + 120
    while True:
        for path in folder(core, info).glob(".assembly-*"):
            try:
                found = path.stat()
            except FileNotFoundError:
                continue
            if found.st_size == size:
                return found.st_ino
        assert time.monotonic() < deadline, f"nothing assembled {size} bytes"
        time.sleep(0.01)


def inode(core: Core, entry: Entry) -> int:
    return store_of(core).path(object_key(entry.blob_key or "")).stat().st_ino


def part_inode(core: Core, info: MultipartInfo, number: int) -> int:
    (path,) = folder(core, info).glob(f"{number:05d}.*")
    return path.stat().st_ino


def check(entry: Entry, data: list[bytes], parts: list[PartInfo]) -> None:
    """The file holds ``data`` with the hashes and ETag it should have."""
    whole = b"".join(data)
    assert entry.size == len(whole)
    assert entry.md5 == hashlib.md5(whole).hexdigest()
    assert entry.sha1 == hashlib.sha1(whole).hexdigest()
    assert entry.multipart_etag == multipart_etag([part.md5 for part in parts])


def alice(core: Core) -> int:
    return core.accounts.create("alice", "a@example.com", PASSWORD).id


@pytest.fixture
def roomy(make_core: CoreFactory) -> tuple[Core, int]:
    """A core with room for a few uploads of several parts, and alice's account."""
    core = make_core(default_quota="100MiB")
    return core, alice(core)


def three_parts() -> list[bytes]:
    return [os.urandom(MIN_PART_SIZE), os.urandom(MIN_PART_SIZE), os.urandom(1000)]


def uploaded(
    core: Core, account: int, data: list[bytes], name: str = "f.bin"
) -> tuple[MultipartInfo, list[PartInfo], int]:
    """An upload of ``data`` as parts 1, 2, ..., once assembled ahead; the inode of the
    assembly's file."""
    info = core.multipart.create(account, name, content_type="")
    parts = [put_part(core, info, number, chunk) for number, chunk in enumerate(data, 1)]
    return info, parts, assembled(core, info, sum(map(len, data)))


def test_a_completion_takes_over_what_was_assembled_ahead(
    make_core: CoreFactory, roomy: tuple[Core, int]
) -> None:
    core, account = roomy
    data = [os.urandom(MIN_PART_SIZE), os.urandom(MIN_PART_SIZE + 3), os.urandom(1000)]
    info, parts, ahead = uploaded(core, account, data, "fast.bin")
    entry = complete(core, info, parts)
    check(entry, data, parts)
    assert inode(core, entry) == ahead  # the assembly, renamed into place
    assert b"".join(core.storage.open(entry)) == b"".join(data)

    # The same parts completed by another process, which saw none of them: the full
    # path, the same digests and ETag.
    again, same, _ = uploaded(core, account, data, "full.bin")
    other = make_core(default_quota="100MiB")
    first = part_inode(core, again, 1)
    full = complete(other, other.multipart.get(account, again.id), same)
    check(full, data, same)
    assert inode(core, full) == first  # the full path: part 1, the others appended
    assert (full.md5, full.sha1, full.multipart_etag) == (
        entry.md5,
        entry.sha1,
        entry.multipart_etag,
    )
    assert unfinished(store_of(core)) == []  # this process's assembly went with the upload


def test_parts_out_of_order_are_taken_once_they_follow_one_another(
    roomy: tuple[Core, int],
) -> None:
    core, account = roomy
    data = three_parts()
    info = core.multipart.create(account, "f.bin", content_type="")
    late = {number: put_part(core, info, number, data[number - 1]) for number in (3, 2)}
    parts = [put_part(core, info, 1, data[0]), late[2], late[3]]
    ahead = assembled(core, info, sum(map(len, data)))
    entry = complete(core, info, parts)
    check(entry, data, parts)
    assert inode(core, entry) == ahead


def test_a_part_stored_again_after_it_was_taken(roomy: tuple[Core, int]) -> None:
    core, account = roomy
    data = three_parts()
    info, parts, ahead = uploaded(core, account, data)
    data[1] = os.urandom(MIN_PART_SIZE + 7)  # part 2 again, other bytes
    parts[1] = put_part(core, info, 2, data[1])
    assert assembled(core, info, sum(map(len, data))) == ahead  # rewound, taken again
    entry = complete(core, info, parts)
    check(entry, data, parts)
    assert inode(core, entry) == ahead


def test_a_subset_of_the_parts_taken_is_completed(roomy: tuple[Core, int]) -> None:
    core, account = roomy
    data = three_parts() + [os.urandom(1000)]
    info, parts, ahead = uploaded(core, account, data)
    chosen = [parts[0], parts[2]]  # rewound to part 1; part 3 taken by the completion
    entry = complete(core, info, chosen)
    check(entry, [data[0], data[2]], chosen)
    assert inode(core, entry) == ahead
    assert core.storage.usage(account)[0] == MIN_PART_SIZE + 1000
    assert unfinished(store_of(core)) == []


def test_a_list_without_the_parts_taken_completes_the_full_way(roomy: tuple[Core, int]) -> None:
    core, account = roomy
    data = three_parts()
    info, parts, _ = uploaded(core, account, data)
    second = part_inode(core, info, 2)
    entry = complete(core, info, parts[1:])
    check(entry, data[1:], parts[1:])
    assert inode(core, entry) == second
    assert unfinished(store_of(core)) == []


def test_a_part_stored_again_too_far_back_completes_the_full_way(
    roomy: tuple[Core, int],
) -> None:
    core, account = roomy
    core.multipart.assemblies = Assemblies(window=1)  # the hashes after one part only
    data = three_parts()
    info, parts, _ = uploaded(core, account, data)
    data[0] = os.urandom(MIN_PART_SIZE)
    parts[0] = put_part(core, info, 1, data[0])  # before the kept hashes: given up
    deadline = time.monotonic() + 120
    while list(folder(core, info).glob(".assembly-*")):
        assert time.monotonic() < deadline, "the assembly was not given up"
        time.sleep(0.01)
    first = part_inode(core, info, 1)
    entry = complete(core, info, parts)
    check(entry, data, parts)
    assert inode(core, entry) == first


def test_an_abort_drops_what_was_assembled(roomy: tuple[Core, int]) -> None:
    core, account = roomy
    info, _, _ = uploaded(core, account, [os.urandom(MIN_PART_SIZE)])
    core.multipart.abort(info)
    assert unfinished(store_of(core)) == []
    assert core.storage.usage(account)[0] == 0


def test_what_a_completion_leaves_is_removed_after_it_or_by_a_sweep(
    roomy: tuple[Core, int],
) -> None:
    core, account = roomy
    data = [os.urandom(MIN_PART_SIZE), os.urandom(1000)]
    for name in ("cleaned.bin", "crashed.bin"):
        info, parts, _ = uploaded(core, account, data, name)
        listed = [(part.number, part.md5) for part in parts]
        completion = core.multipart.complete(info, listed)
        entry = completion.run(clean=False)  # committed: the caller may answer now
        check(entry, data, parts)
        assert unfinished(store_of(core)) == [
            f"upload  {info.multipart_id}",
            f"scratch done-{info.multipart_id}",
        ]
        if name == "cleaned.bin":
            completion.clean()
            assert unfinished(store_of(core)) == []
    # The other, never cleaned (as after a crash), is freed by a sweep of unrecorded
    # uploads; the file stays as committed.
    assert sweep_uploads(core.db, core.stores) == 1
    assert unfinished(store_of(core)) == []
    crashed = core.storage.stat(account, "crashed.bin")
    assert b"".join(core.storage.open(crashed)) == b"".join(data)
