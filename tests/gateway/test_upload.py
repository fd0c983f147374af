"""Direct uploads (one part) on both kinds of region: held small bodies, fed large
ones, limits mid-stream, and nothing left behind by an abort or a failed commit."""

from __future__ import annotations

import hashlib
import os

import pytest

from gateway.blobkeys import object_key
from gateway.core import Core
from gateway.errors import Exists, NotFound, QuotaExceeded, TooLarge
from gateway.models import Reservation
from gateway.upload import SMALL, Upload
from tests.conftest import PASSWORD, unfinished
from tests.gateway.storage_helpers import account, crc_meta, put

MiB = 1024 * 1024


def _region(core: Core) -> str:
    return core.config.default_region


@pytest.mark.parametrize("size", [0, 1000, SMALL, SMALL + 1, 20 * MiB + 7])
def test_stored_whole_and_read_back(region_core: Core, size: int) -> None:
    core = region_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    data = os.urandom(size)
    with core.storage.upload(alice, "f.bin", max_size=1 << 40) as upload:
        for start in range(0, size, 300_000):
            upload.write(data[start : start + 300_000])
        entry = upload.commit(checksums={"md5": hashlib.md5(data).hexdigest()})
    assert entry.region == _region(core)
    assert entry.md5 == hashlib.md5(data).hexdigest()
    assert entry.sha1 == hashlib.sha1(data).hexdigest()
    assert b"".join(core.storage.open(entry)) == data
    assert b"".join(core.storage.open(entry, size // 3, 1000)) == data[size // 3 : size // 3 + 1000]
    store = core.stores[_region(core)]
    assert store.exists(object_key(entry.blob_key or ""))
    assert unfinished(store) == []
    assert core.storage.usage(alice)[0] == size


@pytest.mark.parametrize("size", [1000, 3 * MiB])
def test_an_abort_leaves_nothing(region_core: Core, size: int) -> None:
    core = region_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    upload = core.storage.upload(alice, "f.bin", max_size=1 << 40)
    upload.write(b"a" * size)
    upload.abort()
    store = core.stores[_region(core)]
    assert not store.exists(object_key(upload.key))
    assert unfinished(store) == []
    assert core.storage.usage(alice) == (0, 100 * MiB)


def test_too_large_mid_stream_leaves_nothing(region_core: Core) -> None:
    core = region_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    upload = core.storage.upload(alice, "f.bin", max_size=2 * MiB)
    upload.write(b"a" * MiB)
    upload.write(b"a" * MiB)
    with pytest.raises(TooLarge):
        upload.write(b"a")
    assert unfinished(core.stores[_region(core)]) == []
    assert core.storage.usage(alice)[0] == 0


def test_a_refused_commit_deletes_the_stored_object(region_core: Core) -> None:
    core = region_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    with core.storage.upload(alice, "f.bin", max_size=1 << 40) as upload:
        upload.write(b"first")
        upload.commit()
    upload = core.storage.upload(alice, "f.bin", max_size=1 << 40, on_conflict="fail")
    upload.write(b"x" * (SMALL + 5))
    with pytest.raises(Exists):
        upload.commit()
    assert not core.stores[_region(core)].exists(object_key(upload.key))
    assert core.storage.usage(alice)[0] == 5


def test_a_small_declared_upload_reserves_nothing_and_leaves_no_record(region_core: Core) -> None:
    """A small body of a declared size is one write transaction: no reservation while
    it is written, and the store's record of the write is gone once committed."""
    core = region_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    with core.storage.upload(alice, "f.bin", max_size=1 << 40, expected_size=5) as upload:
        upload.write(b"small")
        with core.db.read() as session:
            assert session.query(Reservation).count() == 0
        entry = upload.commit()
    assert b"".join(core.storage.open(entry)) == b"small"
    assert unfinished(core.stores[_region(core)]) == []
    assert core.storage.usage(alice)[0] == 5


def test_a_small_upload_over_the_quota_is_refused_at_commit(region_core: Core) -> None:
    core = region_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    core.accounts.set_quota("alice", 1000)
    upload = core.storage.upload(alice, "f.bin", max_size=1 << 40, expected_size=1001)
    upload.write(b"x" * 1001)
    with pytest.raises(QuotaExceeded):
        upload.commit()
    store = core.stores[_region(core)]
    assert not store.exists(object_key(upload.key))
    assert unfinished(store) == []
    assert core.storage.usage(alice) == (0, 1000)


@pytest.mark.parametrize("size", [1000, SMALL + 1])
def test_a_file_whose_folder_moved_while_it_streamed_is_refused(pg_core: Core, size: int) -> None:
    # The path is what the commit writes to: the folder found when the upload began
    # is only a shortcut, taken while it is still there.
    core = pg_core
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    core.storage.mkdir(alice, "a")
    core.storage.mkdir(alice, "a/b")
    upload = core.storage.upload(alice, "a/b/f.bin", max_size=1 << 40, expected_size=size)
    upload.write(b"x" * size)
    core.storage.move(alice, "a", "c")
    with pytest.raises(NotFound):
        upload.commit()
    assert core.storage.children(alice, "c/b") == []
    assert unfinished(core.stores[_region(core)]) == []
    core.storage.mkdir(alice, "d")
    upload = core.storage.upload(alice, "d/f.bin", max_size=1 << 40, expected_size=size)
    upload.write(b"y" * size)
    core.storage.move(alice, "d", "e")
    core.storage.move(alice, "c", "d")  # another folder at the path
    assert upload.commit().key == "d/f.bin"
    assert [child.name for child in core.storage.children(alice, "d")] == ["b", "f.bin"]
    assert core.storage.children(alice, "e") == []


def _streaming_into_a(core: Core, size: int) -> tuple[int, Upload]:
    """Alice, and her upload of ``a/f.bin`` with its bytes sent, not yet committed."""
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    core.storage.mkdir(alice, "a")
    upload = core.storage.upload(alice, "a/f.bin", max_size=1 << 40, expected_size=size)
    upload.write(b"x" * size)
    return alice, upload


@pytest.mark.parametrize("size", [1000, SMALL + 1])
def test_a_file_goes_to_the_folder_made_again_while_it_streamed(pg_core: Core, size: int) -> None:
    core = pg_core
    alice, upload = _streaming_into_a(core, size)
    core.storage.delete(alice, "a")
    core.storage.mkdir(alice, "a")
    entry = upload.commit()
    assert core.storage.stat(alice, "a/f.bin").id == entry.id
    assert core.storage.stat(alice, "a").id == entry.parent_id


@pytest.mark.parametrize("size", [1000, SMALL + 1])
def test_a_file_whose_folder_went_while_it_streamed_is_refused(pg_core: Core, size: int) -> None:
    core = pg_core
    alice, upload = _streaming_into_a(core, size)
    core.storage.delete(alice, "a")
    with pytest.raises(NotFound):
        upload.commit()
    store = core.stores[_region(core)]
    assert not store.exists(object_key(upload.key))
    assert unfinished(store) == []
    assert core.storage.usage(alice)[0] == 0


@pytest.mark.parametrize("size", [0, 1000, SMALL + 1, 3 * MiB + 5])
def test_every_upload_keeps_its_crc64nvme(region_core: Core, size: int) -> None:
    """Held or fed to the store, a file's bytes are checksummed as they pass; the
    file keeps the CRC64NVME as the S3 front keeps a checksum."""
    core = region_core
    alice = account(core)
    data = os.urandom(size)
    entry = put(core, alice, "f.bin", data, meta={"x-amz-meta-a": "1"})
    assert entry.meta == {"x-amz-meta-a": "1"} | crc_meta(data)  # type: ignore[attr-defined]
    assert core.storage.stat(alice, "f.bin").meta == {"x-amz-meta-a": "1"} | crc_meta(data)


def test_a_checksum_given_with_the_metadata_is_the_one_kept(core: Core) -> None:
    """A writer that checked a checksum of its own (an S3 PutObject sent with one)
    gives it with the metadata: the file keeps that one alone, as S3 keeps one."""
    alice = account(core)
    given = {"x-amz-checksum-sha256": "x" * 44, "x-amz-checksum-type": "FULL_OBJECT"}
    assert put(core, alice, "f.bin", b"data", meta=given).meta == given  # type: ignore[attr-defined]


def test_a_writer_bringing_its_own_checksum_gets_none_computed(core: Core) -> None:
    """With ``own_checksum`` the writer sets the file's checksum in the metadata
    before the commit (the S3 front, once it has checked the one sent): the upload
    computes no CRC64NVME and keeps the metadata as set."""
    alice = account(core)
    given = {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-type": "FULL_OBJECT"}
    with core.storage.upload(alice, "f.bin", max_size=MiB, own_checksum=True) as upload:
        upload.write(b"data")
        upload.meta = given
        entry = upload.commit()
    assert entry.meta == given and core.storage.stat(alice, "f.bin").meta == given
    with core.storage.upload(alice, "g.bin", max_size=MiB, own_checksum=True) as upload:
        upload.write(b"data")
        assert not upload.commit().meta  # nothing added behind the writer's back
