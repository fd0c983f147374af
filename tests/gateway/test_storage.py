"""The storage engine on real files and real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import subtrees
from gateway.blobkeys import object_key
from gateway.core import Core
from gateway.errors import (
    BadRequest,
    Changed,
    Conflict,
    Exists,
    FileExists,
    Forbidden,
    NotFound,
    TooLarge,
)
from gateway.models import Account, Blob, DetachedTree, Instance, Node
from tests.conftest import PASSWORD, CoreFactory, in_parallel, unfinished
from tests.gateway.multipart_helpers import put_part
from tests.gateway.storage_helpers import (
    account,
    blob_count,
    crc_meta,
    entry_count,
    make_tree,
    new_node,
    node_rows,
    put,
    read,
)

MiB = 1024 * 1024


def test_streaming_write_hashes_and_reads_back(pg_core: Core) -> None:
    # Past PIPELINE_AFTER, blocks are hashed on a helper thread beside the writes.
    alice = account(pg_core)
    data = os.urandom(9 * MiB + 17)
    entry = put(
        pg_core,
        alice,
        "big.bin",
        data,
        sha256=True,
        mtime=1234567890.5,
        content_type="application/octet-stream",
    )
    assert entry.size == len(data)
    assert entry.md5 == hashlib.md5(data).hexdigest()
    assert entry.sha1 == hashlib.sha1(data).hexdigest()
    assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert entry.mtime == 1234567890.5
    assert entry.uploaded_at is not None and entry.uploaded_at != entry.mtime
    assert read(pg_core, alice, "big.bin") == data
    part = b"".join(pg_core.storage.open(entry, MiB - 3, 10))
    assert part == data[MiB - 3 : MiB + 7]
    assert pg_core.storage.usage(alice)[0] == len(data)


def test_zero_length_file(core: Core) -> None:
    alice = account(core)
    entry = put(core, alice, "empty", b"")
    assert entry.size == 0 and entry.md5 == hashlib.md5(b"").hexdigest()
    assert read(core, alice, "empty") == b""


def test_replace_keeps_id_and_settles_quota(core: Core) -> None:
    alice = account(core)
    first = put(core, alice, "f", b"a" * 1000)
    second = put(core, alice, "f", b"b" * 10)
    assert second.uid == first.uid
    assert read(core, alice, "f") == b"b" * 10
    assert core.storage.usage(alice)[0] == 10
    assert blob_count(core) == 1


def test_rename_and_fail_on_conflict(core: Core) -> None:
    alice = account(core)
    put(core, alice, "report.pdf", b"1")
    renamed = put(core, alice, "report.pdf", b"2", on_conflict="rename")
    assert renamed.name == "report (1).pdf"
    with pytest.raises(Exists):
        put(core, alice, "report.pdf", b"3", on_conflict="fail")
    assert read(core, alice, "report.pdf") == b"1"
    assert core.storage.usage(alice)[0] == 2


def test_declared_size_refused_before_any_byte(core: Core) -> None:
    alice = account(core)
    with pytest.raises(TooLarge):
        core.storage.upload(alice, "x", max_size=100, expected_size=101)
    from gateway.errors import QuotaExceeded

    with pytest.raises(QuotaExceeded):
        core.storage.upload(alice, "x", max_size=1 << 40, expected_size=11 * MiB)
    assert unfinished(core.stores["local"]) == []
    assert core.storage.usage(alice)[0] == 0


def test_size_limit_enforced_mid_stream(core: Core) -> None:
    alice = account(core)
    upload = core.storage.upload(alice, "x", max_size=2 * MiB + 5)
    upload.write(b"a" * MiB)
    upload.write(b"a" * MiB)
    with pytest.raises(TooLarge):
        upload.write(b"a" * MiB)
    with pytest.raises(NotFound):
        core.storage.stat(alice, "x")
    assert core.storage.usage(alice)[0] == 0
    assert unfinished(core.stores["local"]) == []


def test_quota_enforced_mid_stream(pg_core: Core) -> None:
    from gateway.errors import QuotaExceeded

    alice = account(pg_core)
    put(pg_core, alice, "keep", b"k" * (4 * MiB))
    upload = pg_core.storage.upload(alice, "x", max_size=1 << 40)
    written = 0
    with pytest.raises(QuotaExceeded):
        for _ in range(10):
            upload.write(b"a" * MiB)
            written += MiB
    assert written == 6 * MiB  # exactly what was left
    assert pg_core.storage.usage(alice)[0] == 4 * MiB
    with pytest.raises(NotFound):
        pg_core.storage.stat(alice, "x")


def test_declared_size_mismatch_and_checksum(core: Core) -> None:
    alice = account(core)
    upload = core.storage.upload(alice, "x", max_size=1 << 40, expected_size=10)
    upload.write(b"12345")
    with pytest.raises(BadRequest, match="declared"):
        upload.commit()
    upload = core.storage.upload(alice, "x", max_size=1 << 40)
    upload.write(b"hello")
    with pytest.raises(BadRequest, match="MD5 checksum mismatch"):
        upload.commit(checksums={"md5": "0" * 32})
    upload = core.storage.upload(alice, "x", max_size=1 << 40)
    upload.write(b"hello")
    entry = upload.commit(checksums={"sha1": hashlib.sha1(b"hello").hexdigest().upper()})
    assert entry.size == 5
    assert core.storage.usage(alice)[0] == 5


@pytest.mark.parametrize(
    "name", ["a#b", "q?.txt", "100%", " lead and trail ", "ünïcødé ☃", "é" * 127, "x:*\\"]
)
def test_names_are_kept_exactly(core: Core, name: str) -> None:
    alice = account(core)
    put(core, alice, name, b"n")
    assert [e.name for e in core.storage.children(alice, "")] == [name]


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a\x00b", "x" * 256, "é" * 128, "ctl\x01", "del\x7f", "bad\udcff"]
)
def test_bad_names_are_refused(core: Core, name: str) -> None:
    alice = account(core)
    core.storage.mkdir(alice, "dir")
    with pytest.raises(BadRequest):
        core.storage.upload(alice, "dir/" + name if name else "", max_size=10)
    if name:
        with pytest.raises(BadRequest):
            core.storage.mkdir(alice, "dir/" + name)
        with pytest.raises(BadRequest):
            core.storage.mkdir(alice, f"new/{name}/below", parents=True)
    put(core, alice, "dir/ok.txt", b"x")
    for verb in (core.storage.copy, core.storage.move):
        with pytest.raises(BadRequest if name else Forbidden):
            verb(alice, "dir/ok.txt", "dir/" + name if name else "")
    assert [e.name for e in core.storage.children(alice, "dir")] == ["ok.txt"]


def test_path_limits(core: Core) -> None:
    """At most 64 components and 4,096 bytes per path; the message names the limit."""
    alice = account(core)
    deep = "/".join(["d"] * 63)
    core.storage.mkdir(alice, deep, parents=True)
    put(core, alice, deep + "/f", b"x")  # 64 components
    with pytest.raises(BadRequest, match="at most 64 components"):
        core.storage.upload(alice, deep + "/d/f", max_size=10)
    with pytest.raises(BadRequest, match="at most 64 components"):
        core.storage.stat(alice, "/".join(["x"] * 1_000))
    with pytest.raises(BadRequest, match="at most 4096 bytes"):
        core.storage.stat(alice, "/".join(["x"] * 20_000))
    wide = "/".join(["w" * 255] * 16)  # 4,095 bytes
    core.storage.mkdir(alice, wide, parents=True)
    with pytest.raises(BadRequest, match="at most 4096 bytes"):
        core.storage.upload(alice, wide + "/ab", max_size=10)


def test_names_made_before_the_rules_stay_reachable(core: Core) -> None:
    """An entry whose name has a control character (made before they were refused)
    can still be listed, renamed and deleted."""
    alice = account(core)
    put(core, alice, "old.txt", b"x")
    with core.db.write() as session:
        session.query(Node).filter(Node.name == "old.txt").update(
            {"name": "old\x01.txt", "key": "old\x01.txt"}
        )
    assert [e.name for e in core.storage.children(alice, "")] == ["old\x01.txt"]
    core.storage.move(alice, "old\x01.txt", "renamed.txt")
    put(core, alice, "old.txt", b"y")
    with core.db.write() as session:
        session.query(Node).filter(Node.name == "old.txt").update(
            {"name": "old\x02.txt", "key": "old\x02.txt"}
        )
    core.storage.delete(alice, "old\x02.txt")
    assert [e.name for e in core.storage.children(alice, "")] == ["renamed.txt"]


def test_copy_shares_blobs_and_counts_quota(pg_core: Core) -> None:
    alice = account(pg_core)
    pg_core.storage.mkdir(alice, "src/sub", parents=True)
    put(pg_core, alice, "src/a", b"a" * 100, mtime=1000.0)
    put(pg_core, alice, "src/sub/b", b"b" * 50)
    copy = pg_core.storage.copy(alice, "src", "dst")
    assert copy.is_dir
    assert read(pg_core, alice, "dst/sub/b") == b"b" * 50
    assert pg_core.storage.stat(alice, "dst/a").mtime == 1000.0
    assert blob_count(pg_core) == 2
    assert pg_core.storage.usage(alice)[0] == 300
    with pg_core.db.read() as session:
        assert sorted(b.refcount for b in session.query(Blob)) == [2, 2]
    with pytest.raises(Conflict):
        pg_core.storage.copy(alice, "src", "src/sub/inside")
    with pytest.raises(Exists):
        pg_core.storage.copy(alice, "src/a", "dst/a", overwrite=False)


@pytest.mark.parametrize("batch", [1000, 1])
def test_metadata_follows_the_file_until_new_content(pg_core: Core, batch: int) -> None:
    """A file's metadata goes with it through a move and a copy (of one transaction or
    in batches), is replaced or dropped on the copy's top when asked, and a write of
    new content that gives none (a WebDAV or REST overwrite) leaves none but the
    checksum every write keeps."""
    storage = pg_core.storage
    storage.subtrees.batch = batch
    alice = account(pg_core)
    given = {"x-amz-meta-colour": "blue", "cache-control": "no-cache"}
    meta = given | crc_meta(b"a")
    storage.mkdir(alice, "d")
    written = put(pg_core, alice, "d/a", b"a", content_type="text/plain", meta=given)
    assert written.meta == meta and storage.stat(alice, "d/a").meta == meta
    assert storage.move(alice, "d/a", "d/b").meta == meta
    tree = storage.copy(alice, "d", "e", meta={"x-amz-meta-top": "1"})
    assert tree.meta == {"x-amz-meta-top": "1"} and storage.stat(alice, "e/b").meta == meta
    replaced = storage.copy(alice, "d/b", "c", content_type="image/png", meta={"a": "1"})
    assert (replaced.content_type, replaced.meta) == ("image/png", {"a": "1"})
    cleared = storage.copy(alice, "d/b", "c", meta={})
    assert (cleared.content_type, cleared.meta) == ("text/plain", None)
    changed = storage.set_metadata(alice, "c", mtime=5.0, meta={"b": "2"})
    assert (changed.mtime, changed.meta, changed.content_type) == (5.0, {"b": "2"}, "text/plain")
    assert storage.set_metadata(alice, changed, content_type="x/y").meta == {"b": "2"}
    put(pg_core, alice, "d/b", b"new content")
    assert storage.stat(alice, "d/b").meta == crc_meta(b"new content")
    assert storage.stat(alice, "e/b").meta == meta


def test_a_copy_that_keeps_folders_replaces_files_only(core: Core) -> None:
    alice = account(core)
    core.storage.mkdir(alice, "folder")
    put(core, alice, "folder/inside", b"kept")
    put(core, alice, "file", b"f")
    put(core, alice, "other", b"o")
    with pytest.raises(Exists):
        core.storage.copy(alice, "file", "folder", keep_folders=True)
    assert read(core, alice, "folder/inside") == b"kept"
    core.storage.copy(alice, "file", "other", keep_folders=True)
    assert read(core, alice, "other") == b"f"


def test_copy_over_quota_is_refused(core: Core) -> None:
    from gateway.errors import QuotaExceeded

    alice = account(core)
    put(core, alice, "a", b"a" * (6 * MiB))
    with pytest.raises(QuotaExceeded):
        core.storage.copy(alice, "a", "b")
    assert core.storage.usage(alice)[0] == 6 * MiB
    with pytest.raises(NotFound):
        core.storage.stat(alice, "b")


def test_move_keeps_uid_and_replaces(core: Core) -> None:
    alice = account(core)
    core.storage.mkdir(alice, "a")
    moved = put(core, alice, "a/x", b"x")
    put(core, alice, "y", b"yy")
    entry = core.storage.move(alice, "a/x", "y", mtime=42.0)
    assert entry.uid == moved.uid and entry.mtime == 42.0
    assert read(core, alice, "y") == b"x"
    assert core.storage.usage(alice)[0] == 1
    core.storage.move(alice, "a", "b")
    with pytest.raises(Conflict):
        core.storage.move(alice, "b", "b/inner")
    assert [e.name for e in core.storage.children(alice, "")] == ["b", "y"]


def test_a_move_cannot_replace_a_folder_holding_what_moves(core: Core) -> None:
    alice = account(core)
    core.storage.mkdir(alice, "a/b/c", parents=True)
    put(core, alice, "a/b/c/f", b"f")
    for source, target in (("a/b", "a"), ("a/b/c", "a"), ("a/b/c/f", "a/b")):
        with pytest.raises(Conflict):
            core.storage.move(alice, source, target)
    assert read(core, alice, "a/b/c/f") == b"f"
    core.storage.move(alice, "a/b/c/f", "a/b/c2")  # beside it: fine
    assert read(core, alice, "a/b/c2") == b"f"


def test_uploads_go_to_the_region_asked_for(make_core: object, tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "regions.toml"
    config.write_text(
        f'data = "{Path(str(tmp_path)) / "data"}"\n'
        'default_region = "us-central1"\n[regions.us-central1]\n[regions.eu-west1]\n'
    )
    from gateway.config import load_config
    from gateway.core import build_core

    core = build_core(
        load_config(
            file=config,
            env={},
            flags={"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1},
        )
    )
    core.start()
    try:
        alice = account(core)
        default = put(core, alice, "a", b"default")
        eu = put(core, alice, "b", b"europe", region="eu-west1")
        assert default.region == "us-central1" and eu.region == "eu-west1"
        assert core.stores["eu-west1"].exists(object_key(eu.blob_key or ""))
        assert not core.stores["us-central1"].exists(object_key(eu.blob_key or ""))
        assert eu.file_id.startswith("eu-west1_")
        with pytest.raises(BadRequest, match="valid regions: eu-west1, us-central1"):
            put(core, alice, "c", b"x", region="mars")
    finally:
        core.close()


def test_a_top_level_folder_moved_away_or_replaced_goes_with_its_uploads(core: Core) -> None:
    """A top-level folder (an S3 bucket) renamed or moved deeper, or replaced by a
    move or a copy, is gone from S3's view as a deleted one is: the multipart uploads
    under it are aborted. A deeper folder's moves, and a folder moved to the top
    level, leave every upload as it was."""
    alice = account(core)
    for folder in ("a", "a/deep", "b", "c", "d", "e", "keep", "keep/sub", "new"):
        core.storage.mkdir(alice, folder)
    paths = ("a/x", "a/deep/y", "b/z", "c/w", "d/v", "keep/sub/u")
    for path in paths:
        put_part(core, core.multipart.create(alice, path, content_type=""), 1, b"p" * 1000)

    def listed() -> list[str]:
        return [info.path for info in core.multipart.list_uploads(alice, "").uploads]

    core.storage.move(alice, "keep/sub", "keep/moved")
    core.storage.move(alice, "keep/moved", "top")
    assert listed() == sorted(paths)
    core.storage.move(alice, "a", "a-renamed")
    assert listed() == ["b/z", "c/w", "d/v", "keep/sub/u"]
    core.storage.move(alice, "b", "new/b")  # moved deeper
    assert listed() == ["c/w", "d/v", "keep/sub/u"]
    core.storage.move(alice, "e", "c")  # c replaced
    assert listed() == ["d/v", "keep/sub/u"]
    core.storage.copy(alice, "new", "d")  # d replaced
    assert listed() == ["keep/sub/u"]
    assert core.storage.usage(alice)[0] == 1000


def test_a_conditional_copy_replaces_only_the_file_it_names(core: Core) -> None:
    """``target_blob``: the copy replaces the file at its target only while that file's
    bytes are that blob (a conditional write); ``overwrite=False`` refuses a file
    there with :class:`FileExists`, a folder with :class:`Exists`."""
    alice = account(core)
    source = put(core, alice, "source", b"source")
    target = put(core, alice, "target", b"target")
    core.storage.mkdir(alice, "folder")
    with pytest.raises(FileExists):
        core.storage.copy(alice, "source", "target", overwrite=False)
    with pytest.raises(Exists) as folder:
        core.storage.copy(alice, "source", "folder", overwrite=False)
    assert not isinstance(folder.value, FileExists)
    for wrong in (source.blob_key, "0" * 32):
        with pytest.raises(Changed):
            core.storage.copy(alice, "source", "target", target_blob=wrong)
    with pytest.raises(Changed):
        core.storage.copy(alice, "source", "missing", target_blob=target.blob_key)
    assert read(core, alice, "target") == b"target"
    core.storage.copy(alice, "source", "target", target_blob=target.blob_key)
    assert read(core, alice, "target") == b"source"


def test_copy_or_move_past_the_depth_limit_is_refused(core: Core) -> None:
    """A tree made before the limit (here 1,500 folders deep) cannot be copied or
    moved so that it passes 64 components: a 400, nothing written."""
    alice = account(core)
    top = core.storage.mkdir(alice, "deep")
    with core.db.write() as session:
        parent, parent_key = top.id, top.key
        for level in range(1500):
            node = new_node(f"deep{level:016d}", alice, parent, "d", parent_key=parent_key)
            session.add(node)
            session.flush()
            parent, parent_key = node.id, node.key
    with pytest.raises(BadRequest, match="at most 64 components"):
        core.storage.copy(alice, "deep", "copy")
    core.storage.mkdir(alice, "target")
    with pytest.raises(BadRequest, match="at most 64 components"):
        core.storage.move(alice, "deep", "target/deep")
    assert [e.name for e in core.storage.children(alice, "")] == ["deep", "target"]
    core.storage.delete(alice, "deep")
    shallow = "/".join(["s"] * 10)
    core.storage.mkdir(alice, shallow, parents=True)
    core.storage.copy(alice, "s", "target/s")
    assert core.storage.stat(alice, "target/" + shallow).is_dir


# -- the entry limit, and large trees -------------------------------------------------------


def put_late_file(core: Core, account_id: int, folder_id: int | None) -> int:
    """A five-byte file straight into ``folder_id``, charged as a commit charges it."""
    with core.db.write() as session:
        blob = Blob(
            region="local", key="0" * 32, size=5, md5="", sha1="", refcount=1, created_at=0.0
        )
        session.add(blob)
        session.flush()
        folder_key = session.scalar(select(Node.key).where(Node.id == folder_id)) or ""
        node = new_node("late" * 4, account_id, folder_id, "late", blob, parent_key=folder_key)
        session.add(node)
        session.query(Account).filter(Account.id == account_id).update(
            {"entry_count": Account.entry_count + 1, "used_bytes": Account.used_bytes + 5}
        )
        session.flush()
        return node.id


def test_every_write_counts_the_entries_it_makes(pg_core: Core) -> None:
    core = pg_core
    alice = account(core)
    assert entry_count(core, alice) == 0  # the root folder does not count
    core.storage.mkdir(alice, "a/b", parents=True)
    put(core, alice, "a/b/f", b"x")
    assert entry_count(core, alice) == 3
    put(core, alice, "a/b/f", b"yy")  # a replacement makes no entry
    put(core, alice, "a/b/f", b"z", on_conflict="rename")
    assert entry_count(core, alice) == 4
    core.storage.copy(alice, "a", "c")
    core.storage.move(alice, "c", "d")
    assert entry_count(core, alice) == 8
    core.storage.delete(alice, "d")
    core.storage.delete_uid(alice, core.storage.stat(alice, "a/b/f").uid)
    assert entry_count(core, alice) == 3
    guest = core.accounts.guest().id
    core.storage.mkdir(guest, "uploads")
    uploaded = put(core, guest, "uploads/g", b"g", claim_hash="proof")
    core.storage.adopt(uploaded.uid, alice, "uploads", proof_hash="proof")
    assert (entry_count(core, alice), entry_count(core, guest)) == (5, 1)
    assert (node_rows(core, alice), node_rows(core, guest)) == (5, 1)


def test_a_full_account_makes_no_new_entry(make_core: CoreFactory) -> None:
    from gateway.errors import QuotaExceeded

    core = make_core(max_entries_per_account=3, max_guest_entries=1)
    alice = account(core)
    core.storage.mkdir(alice, "a")
    put(core, alice, "a/f", b"f")
    core.storage.mkdir(alice, "b")
    with pytest.raises(QuotaExceeded, match="at most 3 files and folders"):
        core.storage.mkdir(alice, "c")
    with pytest.raises(QuotaExceeded):  # refused before any byte is sent
        core.storage.upload(alice, "a/g", max_size=1 << 40)
    with pytest.raises(QuotaExceeded):
        put(core, alice, "a/f", b"again", on_conflict="rename")
    with pytest.raises(QuotaExceeded):
        core.sessions.create(
            alice, name="s", size=1, content_type="", max_size=9, region="local", folder="a"
        )
    put(core, alice, "a/f", b"replaced")
    assert read(core, alice, "a/f") == b"replaced"
    assert entry_count(core, alice) == 3
    core.storage.delete(alice, "b")
    core.storage.mkdir(alice, "c")
    guest = core.accounts.guest().id  # guests share a limit of their own
    core.storage.mkdir(guest, "uploads")
    with pytest.raises(QuotaExceeded, match="guest uploads are full"):
        put(core, guest, "uploads/x", b"x")


@pytest.mark.parametrize("batch", [1000, 4])
def test_a_copy_past_the_entry_limit_writes_nothing(make_core: CoreFactory, batch: int) -> None:
    """Small trees are copied in one transaction, large ones (here past 4 entries) in
    batches: either way the whole tree is charged first, all or nothing."""
    from gateway.errors import QuotaExceeded

    core = make_core(max_entries_per_account=40)
    core.storage.subtrees.batch = batch
    alice = account(core)
    make_tree(core, alice, "t", folders=3, files=4)  # 16 entries
    copy = core.storage.copy(alice, "t", "t2", mtime=7.0)
    assert copy.mtime == 7.0 and entry_count(core, alice) == 32
    assert [e.name for e in core.storage.children(alice, "t2/d2")] == ["f0", "f1", "f2", "f3"]
    with core.db.read() as session:
        refcounts = sorted(b.refcount for b in session.query(Blob))
    with pytest.raises(QuotaExceeded):
        core.storage.copy(alice, "t", "t3")
    assert [e.name for e in core.storage.children(alice, "")] == ["t", "t2"]
    assert entry_count(core, alice) == node_rows(core, alice) == 32
    assert core.storage.usage(alice)[0] == 24
    with core.db.read() as session:
        assert sorted(b.refcount for b in session.query(Blob)) == refcounts == [2] * 12
        assert session.query(DetachedTree).count() == 0


@pytest.mark.parametrize("operation", ["copy", "delete"])
def test_other_writes_go_on_during_a_large_copy_or_delete(core: Core, operation: str) -> None:
    """A large copy or delete works in short transactions: another account's write,
    started while it runs, finishes before it is done. (On SQLite one transaction
    holding the write lock throughout would make the other write wait.)"""
    import threading

    core.storage.subtrees.batch = 50
    alice, bob = account(core, "alice"), account(core, "bob")
    make_tree(core, alice, "t", folders=20, files=49)  # 1,001 entries: 21 batches or more
    before = node_rows(core, alice)
    test = threading.current_thread()
    writes: list[int] = []
    under_way = threading.Event()
    write = core.db.write

    @contextlib.contextmanager
    def counted() -> Iterator[Session]:
        if threading.current_thread() is not test:
            writes.append(1)
            if len(writes) == 3:  # the big operation is a few transactions in
                under_way.set()
        with write() as session:
            yield session

    def run() -> None:
        try:
            if operation == "copy":
                core.storage.copy(alice, "t", "t2")
            else:
                core.storage.delete(alice, "t")
        finally:
            under_way.set()

    core.db.write = counted  # type: ignore[method-assign]
    worker = threading.Thread(target=run)
    worker.start()
    under_way.wait(60)
    core.storage.mkdir(bob, "meanwhile")
    rows_when_bob_was_done = node_rows(core, alice)
    worker.join(60)
    after = node_rows(core, alice)
    if operation == "copy":
        assert after == 2 * before
        assert rows_when_bob_was_done < after  # the copy was not done yet
    else:
        assert after == 0
        assert rows_when_bob_was_done > after  # rows were still being deleted
    assert core.storage.stat(bob, "meanwhile").is_dir


def test_a_detached_tree_left_by_a_dead_server_is_finished(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that dies after detaching a tree for a delete, or half-way through a
    large copy: nothing of either tree can be seen, and recovery deletes both and
    gives back every entry and byte."""
    core.storage.subtrees.batch = 5
    alice = account(core)
    make_tree(core, alice, "t", folders=3, files=4)
    make_tree(core, alice, "u", folders=3, files=4)
    inside = core.storage.stat(alice, "t/d0/f0")
    detached = core.storage.stat(alice, "t").id
    builds = 0
    real_copy_rows = core.storage.subtrees._copy_rows

    def dies_after_two(*args: object, **kwargs: object) -> tuple[int, int]:
        nonlocal builds
        builds += 1
        if builds > 2:
            raise SystemExit("killed")
        return real_copy_rows(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core.storage.subtrees, "finish", lambda removal: None)
    monkeypatch.setattr(core.storage.subtrees, "discard_copy", lambda top: None)
    monkeypatch.setattr(core.storage.subtrees, "_copy_rows", dies_after_two)
    core.storage.delete(alice, "t")
    with pytest.raises(SystemExit):
        core.storage.copy(alice, "u", "u2")
    monkeypatch.undo()
    assert [e.name for e in core.storage.children(alice, "")] == ["u"]
    with pytest.raises(NotFound):
        core.storage.get(inside.uid)
    listed = core.files.list(alice, cursor=None, limit=100).entries
    assert sorted(path for _, path in listed) == sorted(
        f"u/d{d}/f{f}" for d in range(3) for f in range(4)
    )
    assert core.files.list(alice, cursor=None, limit=5).next_cursor is not None
    with core.db.read() as session:
        assert session.query(DetachedTree).count() == 2
    # A file committed into the tree after recovery walked it, by a write that found
    # its folder just before the tree was detached (a race PostgreSQL allows): it
    # goes too, counted.
    real_walk = subtrees.walk
    late: list[int] = []

    def walk_then_a_late_file(session: Session, top: Node, **kwargs: int) -> object:
        tree = real_walk(session, top, **kwargs)
        if top.id == detached and not late:
            late.append(put_late_file(core, alice, inside.parent_id))
        return tree

    monkeypatch.setattr(subtrees, "walk", walk_then_a_late_file)
    # The server's instance is gone (as recovery finds a dead one): the next pass
    # finishes the delete and discards the copy.
    with core.db.write() as session:
        session.query(Instance).delete()
    core.recovery.run_once()
    assert late and entry_count(core, alice) == node_rows(core, alice) == 16
    assert core.storage.usage(alice)[0] == 12
    assert blob_count(core) == 12
    with core.db.read() as session:
        assert session.query(DetachedTree).count() == 0


@pytest.mark.parametrize("on_conflict", ["replace", "rename", "fail"])
def test_parallel_writers_of_one_name(pg_core: Core, on_conflict: str) -> None:
    """Twenty uploads of one new name at once (PostgreSQL runs them side by side):
    the documented result, never a unique-index error."""
    alice = account(pg_core)
    results = in_parallel(
        lambda n: put(pg_core, alice, "same.txt", f"writer {n:02d}".encode(),
                      on_conflict=on_conflict),
        range(20),
    )  # fmt: skip
    names = sorted(e.name for e in pg_core.storage.children(alice, ""))
    if on_conflict == "fail":
        assert sum(isinstance(r, Exists) for r in results) == 19 and names == ["same.txt"]
    elif on_conflict == "rename":
        assert not any(isinstance(r, Exception) for r in results) and len(names) == 20
    else:
        assert not any(isinstance(r, Exception) for r in results) and names == ["same.txt"]
    assert pg_core.storage.usage(alice)[0] == 9 * len(names)
    assert entry_count(pg_core, alice) == len(names)


def test_entries_are_moved_copied_renamed_and_deleted_by_id(core: Core) -> None:
    """A front that looked an entry up once passes it down: the engine finds it by id
    wherever it is now, and its key (its path) is a column that follows each move."""
    alice = account(core)
    core.storage.mkdir(alice, "a/b", parents=True)
    put(core, alice, "a/b/f.txt", b"data")
    folder = core.storage.stat(alice, "a")
    core.storage.move(alice, "a", "z")  # moved under the caller's feet
    moved = core.storage.move(alice, folder, "y")
    assert moved.uid == folder.uid and moved.key == "y/"
    assert core.storage.stat(alice, "y/b/f.txt").key == "y/b/f.txt"
    file = core.storage.stat(alice, "y/b/f.txt")
    renamed = core.storage.rename(alice, file, "g.txt")
    assert renamed.key == "y/b/g.txt" and core.storage.path_of(renamed) == "y/b/g.txt"
    put(core, alice, "y/b/h.txt", b"other")
    with pytest.raises(Exists):
        core.storage.rename(alice, renamed, "h.txt")  # a rename replaces nothing
    copy = core.storage.copy(alice, renamed, "copy.txt")
    assert read(core, alice, "copy.txt") == b"data"
    core.storage.delete(alice, copy)
    with pytest.raises(NotFound, match="does not exist any more"):
        core.storage.delete(alice, copy)
    other = core.accounts.create("bob", "b@example.com", PASSWORD).id
    with pytest.raises(NotFound):
        core.storage.delete(other, renamed)  # not bob's


def test_a_file_cannot_hold_files(core: Core) -> None:
    """A file and a folder never share a name: the keys ``a`` and ``a/b`` cannot both
    be files (what S3 would allow is a conflict, not a missing folder)."""
    alice = account(core)
    put(core, alice, "a", b"file")
    with pytest.raises(Exists, match="a is a file"):
        put(core, alice, "a/b", b"under a file")
    with pytest.raises(Exists, match="a is a file"):
        put(core, alice, "a/b/c/d", b"deeper under it")
    with pytest.raises(NotFound, match="folder c does not exist"):
        put(core, alice, "c/b", b"no folder")


def test_a_copy_or_change_of_bytes_read_is_made_only_while_they_are_the_files(
    core: Core,
) -> None:
    """With ``if_blob`` (a caller that read the bytes, to compute a checksum of them),
    a copy or metadata change is made only while the file's bytes are that blob: the
    file written meanwhile is ``Changed`` and nothing is done."""
    storage = core.storage
    alice = account(core)
    read_before = put(core, alice, "a", b"first")
    put(core, alice, "a", b"second")  # written after its bytes were read
    stale = read_before.blob_key  # type: ignore[attr-defined]
    with pytest.raises(Changed):
        storage.copy(alice, "a", "b", meta={"x": "1"}, if_blob=stale)
    with pytest.raises(NotFound):
        storage.stat(alice, "b")
    with pytest.raises(Changed):
        storage.set_metadata(alice, "a", meta={"x": "1"}, if_blob=stale)
    current = storage.stat(alice, "a")
    assert current.meta == crc_meta(b"second")
    assert storage.copy(alice, "a", "b", meta={"x": "1"}, if_blob=current.blob_key).meta == {
        "x": "1"
    }
    changed = storage.set_metadata(alice, "a", meta={"x": "2"}, if_blob=current.blob_key)
    assert changed.meta == {"x": "2"}
    storage.mkdir(alice, "d")
    with pytest.raises(Changed):  # a folder has no bytes
        storage.copy(alice, "d", "e", if_blob=current.blob_key)
