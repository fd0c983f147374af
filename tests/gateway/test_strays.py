"""Freeing what nothing records: the sweep of unfinished uploads spares the writes in
progress, and a discarded write leaves nothing of its own in the store."""

from __future__ import annotations

from sqlalchemy import select

from gateway.blobkeys import blob_key_of, new_key, object_key, tail_key
from gateway.core import Core
from gateway.models import Blob
from gateway.storage import Entry
from gateway.strays import (
    PENDING_GRACE,
    Sighting,
    discard_write,
    drop_unreferenced,
    sweep_uploads,
)
from tests.conftest import PASSWORD, statements, unfinished


def test_the_sweep_aborts_only_lockrs_uploads_that_no_write_records(region_core: Core) -> None:
    core = region_core
    region = core.config.default_region
    store = core.stores[region]
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    recorded, stray = new_key(), new_key()
    core.storage.reservations.open(alice, region, recorded, 0)
    kept = store.create_multipart(object_key(recorded))
    store.create_multipart(object_key(stray))
    foreign = store.create_multipart("not/lockrs")
    assert sweep_uploads(core.db, core.stores) == 1
    assert store.list_multipart() == sorted([(object_key(recorded), kept), ("not/lockrs", foreign)])


def test_a_small_writes_record_is_swept_after_the_grace_with_its_object_if_uncommitted(
    region_core: Core,
) -> None:
    """A small write cut short between storing its object and committing it leaves the
    store's record: a sweep leaves it alone for the grace period (the write may be
    running), then frees the object too, unless a file refers to it."""
    core = region_core
    store = core.stores[core.config.default_region]
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    with core.storage.upload(alice, "f.bin", max_size=1 << 20, expected_size=4) as upload:
        upload.write(b"kept")
        entry = upload.commit()
    committed = object_key(entry.blob_key or "")
    store.put_pending(committed, [b"kept"])  # its record, as if never dropped
    crashed = object_key(new_key())
    store.put_pending(crashed, [b"never committed"])
    seen: dict[Sighting, float] = {}
    assert sweep_uploads(core.db, core.stores, seen, 1000.0) == 0
    assert sweep_uploads(core.db, core.stores, seen, 1000.0 + PENDING_GRACE - 1) == 0
    assert len(store.list_multipart()) == 2 and store.exists(crashed)
    assert sweep_uploads(core.db, core.stores, seen, 1000.0 + PENDING_GRACE) == 2
    assert unfinished(store) == [] and seen == {}
    assert not store.exists(crashed)
    assert b"".join(core.storage.open(entry)) == b"kept"


def test_a_discarded_write_leaves_nothing(region_core: Core) -> None:
    store = region_core.stores[region_core.config.default_region]
    key = new_key()
    multipart_id = store.create_multipart(object_key(key))
    store.put_part(object_key(key), multipart_id, 1, [b"part"])
    store.create_multipart(tail_key(key))  # a put of the tail cut short
    store.put(tail_key(key), [b"tail"])
    store.put(object_key(key), [b"stored, never committed"])
    discard_write(store, key, multipart_id, committed=False)
    assert unfinished(store) == []
    assert not store.exists(object_key(key)) and not store.exists(tail_key(key))


def test_blob_keys_of_objects() -> None:
    key = new_key()
    assert blob_key_of(object_key(key)) == key == blob_key_of(tail_key(key))
    assert blob_key_of(f"zz/zz/{key}") is None
    assert blob_key_of("ab/cd/not-a-key") is None


def test_a_replaced_files_blob_is_freed_in_one_more_write(region_core: Core) -> None:
    """Replacing a file frees the blob it had: its object, then its row, in one write
    transaction beside the commit's (the blob is looked up outside any), and a blob
    still referenced elsewhere is kept."""
    core = region_core
    store = core.stores[core.config.default_region]
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id

    def put(data: bytes) -> Entry:
        with core.storage.upload(alice, "f", max_size=1 << 20, expected_size=len(data)) as up:
            up.write(data)
            return up.commit()

    first = put(b"first")
    with statements(core) as seen:
        put(b"second")
    assert [sql for sql in seen if sql.startswith("BEGIN")] == ["BEGIN IMMEDIATE"] * 2
    assert not store.exists(object_key(first.blob_key or ""))
    with core.db.lookup() as connection:
        blobs = connection.execute(select(Blob.id, Blob.key)).all()
    assert len(blobs) == 1 and blobs[0].key != first.blob_key
    assert drop_unreferenced(core.db, core.stores, [blobs[0].id, blobs[0].id + 1]) == 0
    assert b"".join(core.storage.open(core.storage.stat(alice, "f"))) == b"second"
