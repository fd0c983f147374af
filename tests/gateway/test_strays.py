"""Freeing what nothing records: the sweep of unfinished uploads spares the writes in
progress, and a discarded write leaves nothing of its own in the store."""

from __future__ import annotations

from gateway.blobkeys import blob_key_of, new_key, object_key, tail_key
from gateway.core import Core
from gateway.strays import discard_write, sweep_uploads
from tests.conftest import PASSWORD, unfinished


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
