"""Deleting entries (:mod:`gateway.deletes`) on real databases: quota and blobs given
back, a large tree deleted in batches, a bare folder deleted only while it holds
no file, even with files racing into it, and a top-level folder (an S3 bucket) with
the multipart uploads under it."""

from __future__ import annotations

import pytest

from gateway.blobkeys import object_key
from gateway.core import Core
from gateway.errors import Changed, Conflict, Forbidden, NotFound
from gateway.models import DetachedTree, Node
from tests.conftest import in_parallel
from tests.gateway.multipart_helpers import put_part
from tests.gateway.storage_helpers import (
    account,
    blob_count,
    entry_count,
    make_tree,
    node_rows,
    put,
    read,
)


def test_delete_frees_quota_and_collects_blobs(pg_core: Core) -> None:
    alice = account(pg_core)
    pg_core.storage.mkdir(alice, "d/e", parents=True)
    first = put(pg_core, alice, "d/e/f", b"f" * 1000)
    pg_core.storage.copy(alice, "d/e/f", "g")
    pg_core.storage.delete(alice, "d")
    assert pg_core.storage.usage(alice)[0] == 1000
    store = pg_core.stores["local"]
    assert store.exists(object_key(first.blob_key or ""))  # still referenced by the copy
    pg_core.storage.delete(alice, "g")
    assert pg_core.storage.usage(alice)[0] == 0
    assert not store.exists(object_key(first.blob_key or ""))
    assert blob_count(pg_core) == 0
    with pg_core.db.read() as session:
        assert session.query(Node).count() == 1  # the root
    with pytest.raises(Forbidden):
        pg_core.storage.delete(alice, "")


def test_a_large_delete_gives_everything_back(pg_core: Core) -> None:
    core = pg_core
    core.storage.subtrees.batch = 5
    alice = account(core)
    make_tree(core, alice, "t", folders=4, files=6)  # 29 entries, 24 blobs
    core.storage.copy(alice, "t", "keep")
    kept = core.storage.stat(alice, "keep/d1/f1")
    core.storage.delete(alice, "t")
    assert entry_count(core, alice) == node_rows(core, alice) == 29
    assert core.storage.usage(alice)[0] == 24
    core.storage.delete(alice, "keep")  # the last references: the blobs go too
    assert entry_count(core, alice) == node_rows(core, alice) == 0
    assert core.storage.usage(alice)[0] == 0
    assert blob_count(core) == 0
    with pytest.raises(NotFound):
        core.storage.get(kept.uid)
    with core.db.read() as session:
        assert session.query(DetachedTree).count() == 0


def test_a_bare_folder_is_deleted_only_while_it_holds_no_file(pg_core: Core) -> None:
    core = pg_core
    alice = account(core)
    core.storage.mkdir(alice, "bucket/a/b", parents=True)
    core.storage.mkdir(alice, "bucket/c", parents=True)
    put(core, alice, "bucket/a/b/f.txt", b"f")
    with pytest.raises(Conflict):
        core.storage.delete_bare_folder(alice, "bucket")
    assert read(core, alice, "bucket/a/b/f.txt") == b"f"
    with pytest.raises(Conflict):
        core.storage.delete_bare_folder(alice, "bucket/a/b/f.txt")  # a file
    core.storage.delete(alice, "bucket/a/b/f.txt")
    core.storage.delete_bare_folder(alice, "bucket")
    with pytest.raises(NotFound):
        core.storage.stat(alice, "bucket/c")


def _delete_racing_files(core: Core, alice: int, folder: str) -> list[object]:
    """Delete ``folder`` while three files are committed into ``folder/deep``: what
    the delete and each commit returned or raised."""
    core.storage.mkdir(alice, f"{folder}/deep", parents=True)
    uploads = [core.storage.upload(alice, f"{folder}/deep/{n}", max_size=10) for n in range(3)]

    def race(argument: int) -> object:
        if argument < 0:
            core.storage.delete_bare_folder(alice, folder)
            return "deleted"
        with uploads[argument] as upload:
            upload.write(b"x")
            return upload.commit()

    return in_parallel(race, [-1, 0, 1, 2])


def test_a_file_racing_a_bare_folder_delete_is_kept_or_refused(pg_core: Core) -> None:
    """A file committed while the folder is deleted is seen by the delete (which
    refuses) or finds the folder gone (NotFound); it is never deleted with it."""
    core = pg_core
    alice = account(core)
    for attempt in range(8):
        results = _delete_racing_files(core, alice, f"b{attempt}")
        files = results[1:]
        if results[0] == "deleted":
            assert all(isinstance(result, NotFound) for result in files), results
        else:
            assert isinstance(results[0], Conflict), results
            for number, result in enumerate(files):
                if not isinstance(result, NotFound):
                    assert read(core, alice, f"b{attempt}/deep/{number}") == b"x"


def test_a_top_level_folder_goes_with_its_multipart_uploads(pg_core: Core) -> None:
    """However a top-level folder (a bucket) is deleted, the uploads under it are
    aborted, their parts and quota freed; a deeper folder's stay (completing one
    makes its folders again), as do those of another bucket."""
    core = pg_core
    alice = account(core)
    for folder in ("b", "b/deep", "bb", "c", "d"):
        core.storage.mkdir(alice, folder)
    paths = ("b/x", "b/deep/y", "bb/z", "c/w", "d/v")
    for path in paths:
        put_part(core, core.multipart.create(alice, path, content_type=""), 1, b"p" * 1000)

    def listed() -> list[str]:
        return [info.path for info in core.multipart.list_uploads(alice, "").uploads]

    assert core.storage.usage(alice)[0] == 5000
    core.storage.delete(alice, "b/deep")
    assert listed() == sorted(paths)
    core.storage.delete(alice, "b")
    assert listed() == ["bb/z", "c/w", "d/v"]
    core.storage.delete_uid(alice, core.storage.stat(alice, "c").uid)
    assert listed() == ["bb/z", "d/v"]
    core.storage.delete_bare_folder(alice, "bb")
    assert listed() == ["d/v"]
    assert core.storage.usage(alice)[0] == 1000
    assert len(core.stores["local"].list_multipart()) == 1  # the store's uploads too


def test_a_conditional_delete_takes_only_the_file_it_names(core: Core) -> None:
    """``if_blob``: the file goes only while its bytes are that blob."""
    alice = account(core)
    first = put(core, alice, "f", b"first")
    second = put(core, alice, "f", b"second")
    with pytest.raises(Changed):
        core.storage.delete(alice, "f", if_blob=first.blob_key)
    assert read(core, alice, "f") == b"second"
    core.storage.delete(alice, "f", if_blob=second.blob_key)
    with pytest.raises(NotFound):
        core.storage.stat(alice, "f")
