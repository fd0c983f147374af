"""Resumable upload sessions in the engine: reservation, resume after a restart,
one writer at a time, and expiry that frees quota and bytes."""

from __future__ import annotations

import hashlib

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import Conflict, NotFound, QuotaExceeded, TooLarge
from gateway.models import UploadSession
from tests.conftest import PASSWORD, CoreFactory


def open_session(core: Core, account_id: int, size: int) -> tuple[str, str]:
    info, secret = core.sessions.create(
        account_id,
        name="f.bin",
        size=size,
        content_type="",
        max_size=1 << 40,
        region="local",
        folder="uploads",
    )
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
    assert core.stores["local"].pending_keys() == []  # type: ignore[attr-defined]
    with core.db.read() as session:
        assert session.query(UploadSession).count() == 0
    with pytest.raises(NotFound):
        core.sessions.get(session_id, secret)
