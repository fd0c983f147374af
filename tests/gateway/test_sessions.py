"""Resumable upload sessions in the engine: reservation, resume after a restart,
one writer at a time, and expiry that frees quota and bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gateway.blobkeys import tail_key
from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import Conflict, NotFound, QuotaExceeded, RateLimited, TooLarge
from gateway.models import UploadPart, UploadSession
from gateway.sessions import SMALLEST_PART
from gateway.storage import Entry
from tests.conftest import (
    PASSWORD,
    CoreFactory,
    S3Server,
    in_parallel,
    s3_region_toml,
    unfinished,
)
from tests.gateway.storage_helpers import crc_meta

MiB = 1024 * 1024


def create(core: Core, account_id: int, size: int, holder: str | None = None) -> object:
    return core.sessions.create(
        account_id,
        name="f.bin",
        size=size,
        content_type="",
        max_size=1 << 40,
        region="local",
        folder="uploads",
        holder=holder,
    )


def open_session(core: Core, account_id: int, size: int) -> tuple[str, str]:
    info, secret = create(core, account_id, size)  # type: ignore[misc]
    return info.id, secret


def test_size_is_reserved_up_front(core: Core) -> None:
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    open_session(core, alice, 6 * 1024 * 1024)
    assert core.storage.usage(alice)[0] == 6 * 1024 * 1024
    with pytest.raises(QuotaExceeded):
        open_session(core, alice, 5 * 1024 * 1024)
    with pytest.raises(TooLarge):
        core.sessions.create(
            alice, name="x", size=11, content_type="", max_size=10, region="local", folder="uploads"
        )


def test_resume_in_a_new_process_rebuilds_hashes(make_core: CoreFactory) -> None:
    first = make_core(default_quota="10MiB")
    alice = first.accounts.create("alice", "a@example.com", PASSWORD).id
    data = bytes(range(256)) * 4000
    session_id, secret = open_session(first, alice, len(data))
    chunk = first.sessions.begin(first.sessions.get(session_id, secret), 0)
    chunk.write(data[:300_000])
    assert chunk.close() == 300_000
    second = make_core(default_quota="10MiB")  # another process: no cached hash state
    info = second.sessions.get(session_id, secret)
    assert info.received == 300_000
    with pytest.raises(Conflict, match="resume from byte 300000"):
        second.sessions.begin(info, 0)
    chunk = second.sessions.begin(info, 300_000)
    chunk.write(data[300_000:])
    entry = chunk.finish()
    assert entry is not None and entry.md5 == hashlib.md5(data).hexdigest()
    assert entry.meta == crc_meta(data)  # the CRC too, from the object read back
    assert entry.uid == info.file_uid
    assert second.storage.usage(alice)[0] == len(data)


def test_one_writer_at_a_time(core: Core) -> None:
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    session_id, secret = open_session(core, alice, 100)
    info = core.sessions.get(session_id, secret)
    chunk = core.sessions.begin(info, 0)
    with pytest.raises(Conflict, match="another request"):
        core.sessions.begin(info, 0)
    chunk.write(b"x" * 10)
    chunk.close()
    core.sessions.begin(core.sessions.get(session_id, secret), 10).close()


def test_expired_sessions_free_quota_and_bytes(make_core: CoreFactory) -> None:
    clock = ManualClock()
    core = make_core(clock=clock, default_quota="10MiB")
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    session_id, secret = open_session(core, alice, 4 * 1024 * 1024)
    chunk = core.sessions.begin(core.sessions.get(session_id, secret), 0)
    chunk.write(b"y" * 1000)
    chunk.close()
    core.recovery.run_once()
    assert core.storage.usage(alice)[0] == 4 * 1024 * 1024  # a restart does not drop it
    clock.advance(25 * 3600)
    core.recovery.run_once()
    assert core.storage.usage(alice)[0] == 0
    assert unfinished(core.stores["local"]) == []
    with core.db.read() as session:
        assert session.query(UploadSession).count() == 0
    with pytest.raises(NotFound):
        core.sessions.get(session_id, secret)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_cancelled_session_frees_its_quota_and_bytes_at_once(
    make_core: CoreFactory, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "s3":
        (core,) = _s3_cores(make_core, request.getfixturevalue("s3_server"), tmp_path, 1)
    else:
        core = make_core(default_quota="100MiB")
    store = core.stores[kind]
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    info, secret = core.sessions.create(
        alice, name="f", size=20 * MiB, content_type="", max_size=1 << 40, region=kind,
        folder="uploads",
    )  # fmt: skip
    chunk = core.sessions.begin(info, 0)
    chunk.write(b"p" * (9 * MiB))
    with pytest.raises(Conflict, match="writing"):
        core.sessions.cancel(core.sessions.get(info.id, secret))  # one request at a time
    chunk.close()
    assert unfinished(store) != [] or store.exists(tail_key(info.blob_key))
    core.sessions.cancel(core.sessions.get(info.id, secret))
    assert core.storage.usage(alice)[0] == 0
    assert unfinished(store) == [] and not store.exists(tail_key(info.blob_key))
    with pytest.raises(NotFound):
        core.sessions.get(info.id, secret)
    with core.db.read() as session:
        assert session.query(UploadSession).count() == 0
        assert session.query(UploadPart).count() == 0


def test_an_owner_finds_its_unfinished_sessions_without_their_secrets(
    make_core: CoreFactory,
) -> None:
    clock = ManualClock()
    core = make_core(clock=clock, default_quota="10MiB")
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    bob = core.accounts.create("bob", "b@example.com", PASSWORD).id
    first, _ = open_session(core, alice, 10)
    clock.advance(1)
    second, secret = open_session(core, alice, 3)
    open_session(core, bob, 5)
    assert [info.id for info in core.sessions.unfinished(alice)] == [first, second]
    chunk = core.sessions.begin(core.sessions.get_owned(second, alice), 0)
    chunk.write(b"abc")
    assert chunk.finish() is not None
    assert [info.id for info in core.sessions.unfinished(alice)] == [first]
    assert core.sessions.get_owned(second, alice).completed  # answers its file still
    with pytest.raises(NotFound):
        core.sessions.get_owned(first, bob)
    clock.advance(25 * 3600)
    assert core.sessions.unfinished(alice) == []
    with pytest.raises(NotFound):
        core.sessions.get_owned(first, alice)


def test_a_completed_session_is_not_cancelled(core: Core) -> None:
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    session_id, secret = open_session(core, alice, 3)
    chunk = core.sessions.begin(core.sessions.get(session_id, secret), 0)
    chunk.write(b"abc")
    assert chunk.finish() is not None
    with pytest.raises(Conflict, match="complete"):
        core.sessions.cancel(core.sessions.get(session_id, secret))
    assert core.storage.usage(alice)[0] == 3


def guest_session(core: Core, size: int, address: str) -> object:
    return create(core, core.accounts.guest().id, size, address)


def test_guest_sessions_are_capped_per_address(make_core: CoreFactory, database_url: str) -> None:
    """Fifty sessions at once from one address: exactly the cap open (size 0 counts),
    the rest are 429; the address's bytes are capped too; other addresses go on."""
    core = make_core(database_url, guest_uploads_per_address=4, guest_bytes_per_address="10MiB")
    results = in_parallel(lambda _: guest_session(core, 0, "198.51.100.1"), range(50))
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(refused) == 46 and all(r.retry_after for r in refused)
    assert "at most 4 guest uploads" in refused[0].message
    guest_session(core, 6 * 1024 * 1024, "198.51.100.2")
    with pytest.raises(RateLimited, match="at most 10485760 bytes"):
        guest_session(core, 5 * 1024 * 1024, "198.51.100.2")
    guest_session(core, 4 * 1024 * 1024, "198.51.100.2")
    guest_session(core, 0, "198.51.100.3")  # another address is not locked out
    # A direct upload of a guest counts against the same cap.
    guest = core.accounts.guest().id
    core.storage.mkdir(guest, "uploads", exist_ok=True)
    with pytest.raises(RateLimited):
        core.storage.upload(guest, "uploads/d.bin", max_size=1 << 30, holder="198.51.100.1")


def test_a_guest_session_without_bytes_expires_within_an_hour(make_core: CoreFactory) -> None:
    clock = ManualClock()
    core = make_core(clock=clock)
    idle, idle_secret = guest_session(core, 1000, "198.51.100.9")  # type: ignore[misc]
    busy, busy_secret = guest_session(core, 1000, "198.51.100.9")  # type: ignore[misc]
    assert idle.expires_at == busy.expires_at == clock() + 3600
    chunk = core.sessions.begin(core.sessions.get(busy.id, busy_secret), 0)
    chunk.write(b"x" * 10)
    chunk.close()
    assert core.sessions.get(busy.id, busy_secret).expires_at == clock() + 24 * 3600
    clock.advance(3601)
    core.recovery.run_once()
    with pytest.raises(NotFound):
        core.sessions.get(idle.id, idle_secret)
    assert core.sessions.get(busy.id, busy_secret).received == 10
    guest = core.accounts.guest()
    assert guest.reserved_bytes == 1000  # the idle session's reservation is gone


def _s3_cores(make_core: CoreFactory, server: S3Server, tmp_path: Path, count: int) -> list[Core]:
    toml = s3_region_toml(server, tmp_path / "data")
    return [make_core(config_file=toml, default_quota="100MiB") for _ in range(count)]


def _parts(core: Core) -> list[tuple[int, int, int]]:
    with core.db.read() as session:
        return [
            (part.number, part.offset, part.size)
            for part in session.query(UploadPart).order_by(UploadPart.number)
        ]


def test_on_s3_small_chunks_wait_in_the_tail_and_parts_follow_the_store(
    make_core: CoreFactory, s3_server: S3Server, tmp_path: Path
) -> None:
    """Chunks under the store's 5 MiB minimum wait in the tail object and lead the
    next part; parts end at the store's part size and when a request ends; the
    session finishes on another process, which hashes the assembled object."""
    first, second = _s3_cores(make_core, s3_server, tmp_path, 2)
    store = first.stores["s3"]
    alice = first.accounts.create("alice", "a@example.com", PASSWORD).id
    data = os.urandom(30 * MiB + 11)
    info, secret = first.sessions.create(
        alice, name="big.bin", size=len(data), content_type="", max_size=1 << 40,
        region="s3", folder="uploads",
    )  # fmt: skip

    def send(core: Core, start: int, end: int) -> object:
        chunk = core.sessions.begin(core.sessions.get(info.id, secret), start)
        for offset in range(start, end, 700_000):
            chunk.write(data[offset : min(end, offset + 700_000)])
        return chunk.finish()

    assert send(first, 0, 3 * MiB) is None
    assert _parts(first) == []  # all in the tail
    assert store.size(tail_key(info.blob_key)) == 3 * MiB
    assert send(first, 3 * MiB, 4 * MiB) is None
    assert _parts(first) == []
    assert send(first, 4 * MiB, 20 * MiB) is None  # tail + 16 MiB: parts of 8 and 8
    assert _parts(first) == [(1, 0, 8 * MiB), (2, 8 * MiB, 8 * MiB)]
    assert store.size(tail_key(info.blob_key)) == 4 * MiB  # the 4 MiB left wait
    assert send(first, 20 * MiB, 21 * MiB) is None  # 5 MiB: enough for a part
    assert _parts(first)[2:] == [(3, 16 * MiB, 5 * MiB)]
    assert first.sessions.get(info.id, secret).received == 21 * MiB
    entry = send(second, 21 * MiB, len(data))  # no running hashes here
    assert isinstance(entry, Entry)
    assert entry.md5 == hashlib.md5(data).hexdigest()
    assert entry.sha1 == hashlib.sha1(data).hexdigest()
    assert entry.meta == crc_meta(data)
    assert b"".join(second.storage.open(entry)) == data
    assert not store.exists(tail_key(info.blob_key))
    assert unfinished(store) == []
    assert _parts(first) == []
    assert second.storage.usage(alice)[0] == len(data)


@pytest.mark.parametrize("size", [0, 100, 6 * MiB])
def test_on_s3_one_request(
    make_core: CoreFactory, s3_server: S3Server, tmp_path: Path, size: int
) -> None:
    (core,) = _s3_cores(make_core, s3_server, tmp_path, 1)
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    data = os.urandom(size)
    info, _ = core.sessions.create(
        alice, name="f", size=size, content_type="", max_size=1 << 40, region="s3",
        folder="uploads",
    )  # fmt: skip
    chunk = core.sessions.begin(info, 0)
    chunk.write(data)
    entry = chunk.finish()
    assert entry is not None and b"".join(core.storage.open(entry)) == data
    assert entry.md5 == hashlib.md5(data).hexdigest()
    assert entry.meta == crc_meta(data)
    assert unfinished(core.stores["s3"]) == []


def test_on_s3_expiry_aborts_the_upload_and_deletes_the_tail(
    make_core: CoreFactory, s3_server: S3Server, tmp_path: Path
) -> None:
    clock = ManualClock()
    toml = s3_region_toml(s3_server, tmp_path / "data")
    core = make_core(config_file=toml, default_quota="100MiB", clock=clock)
    store = core.stores["s3"]
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    info, _ = core.sessions.create(
        alice, name="f", size=20 * MiB, content_type="", max_size=1 << 40, region="s3",
        folder="uploads",
    )  # fmt: skip
    chunk = core.sessions.begin(info, 0)
    chunk.write(b"p" * (9 * MiB))  # a part of 8 MiB and 1 MiB in the tail
    chunk.close()
    assert len(store.list_multipart()) == 1 and store.exists(tail_key(info.blob_key))
    clock.advance(25 * 3600)
    core.recovery.run_once()
    assert unfinished(store) == []
    assert not store.exists(tail_key(info.blob_key))
    assert core.storage.usage(alice)[0] == 0
    assert _parts(core) == []


def test_a_failed_commit_is_finished_by_a_later_request(make_core: CoreFactory) -> None:
    """The last bytes stored but the file refused (the account's entries full): the
    session keeps them and its lease is free, and once there is room any request
    finishes it (its folder made again if it went)."""
    core = make_core(default_quota="10MiB", max_entries_per_account=3)
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    data = os.urandom(6 * MiB + 5)
    info, secret = create(core, alice, len(data))  # type: ignore[misc]
    chunk = core.sessions.begin(info, 0)
    chunk.write(data[: 3 * MiB])
    chunk.close()
    core.storage.delete(alice, "uploads")
    for name in ("x", "y", "z"):
        core.storage.mkdir(alice, name)
    chunk = core.sessions.begin(core.sessions.get(info.id, secret), 3 * MiB)
    chunk.write(data[3 * MiB :])
    with pytest.raises(QuotaExceeded):
        chunk.finish()
    again = core.sessions.get(info.id, secret)
    assert again.received == len(data) and not again.completed
    core.storage.delete(alice, "y")
    core.storage.delete(alice, "z")
    entry = core.sessions.begin(again, len(data)).finish()  # no lease left held
    assert entry is not None and entry.path == "uploads/f.bin"
    assert entry.md5 == hashlib.md5(data).hexdigest()
    assert b"".join(core.storage.open(entry)) == data
    assert unfinished(core.stores["local"]) == []


def test_tiny_chunks_wait_in_the_tail_and_never_run_out_of_parts(core: Core) -> None:
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    data = os.urandom(SMALLEST_PART + 300)
    info, secret = create(core, alice, len(data))  # type: ignore[misc]
    for start in range(0, len(data), 100_000):
        if start + 100_000 <= SMALLEST_PART:
            assert _parts(core) == []  # each small chunk joined the tail, none is a part
        chunk = core.sessions.begin(core.sessions.get(info.id, secret), start)
        chunk.write(data[start : start + 100_000])
        result = chunk.finish()
    assert isinstance(result, Entry) and result.md5 == hashlib.md5(data).hexdigest()
    assert result.meta == crc_meta(data)  # running across the requests of one process
    assert unfinished(core.stores["local"]) == []
