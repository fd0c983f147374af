"""A server process killed (SIGKILL) in the middle of writes: after a restart no partial
file is visible, every acknowledged write is intact, and no quota or disk is leaked."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.core import Core
from gateway.errors import NotFound
from gateway.models import Account, Blob, Reservation
from tests.conftest import PASSWORD, CoreFactory

HELPER = Path(__file__).with_name("crash_writer.py")


def _run_and_kill(data: Path, mode: str, acks_before_kill: int, extra_delay: float) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, str(HELPER), str(data), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if mode == "large" and line.startswith("mid"):
            break
        if mode == "small" and sum(1 for x in lines if x.startswith("ack")) >= acks_before_kill:
            break
    time.sleep(extra_delay)
    process.send_signal(signal.SIGKILL)
    rest, errors = process.communicate(timeout=30)
    lines += [x.strip() for x in rest.splitlines()]
    assert process.returncode == -signal.SIGKILL, errors
    return [x for x in lines if x.startswith("ack")]


def _audit(core: Core, acked: list[str]) -> None:
    alice = core.accounts.find("alice").id
    visible = {e.name: e for e in core.storage.children(alice, "")}
    for line in acked:
        _, name, size, md5 = line.split()
        assert name in visible, f"acknowledged {name} was lost"
        assert visible[name].size == int(size) and visible[name].md5 == md5
    for entry in visible.values():
        data = b"".join(core.storage.open(entry))
        assert len(data) == entry.size and hashlib.md5(data).hexdigest() == entry.md5
    store = core.stores["local"]
    with core.db.read() as session:
        account = session.get(Account, alice)
        assert account is not None
        assert account.reserved_bytes == 0
        assert account.used_bytes == sum(e.size for e in visible.values())
        assert session.query(Reservation).count() == 0
        keys = {b.key for b in session.query(Blob)}
    assert store.pending_keys() == []  # type: ignore[attr-defined]
    on_disk = {p.name for p in store.root.glob("??/??/*")}  # type: ignore[attr-defined]
    assert on_disk == keys


@pytest.mark.parametrize(
    ("mode", "acks", "delay"),
    [("large", 0, 0.0), ("small", 3, 0.0), ("small", 5, 0.013), ("small", 8, 0.031)],
)
def test_killed_writer_leaves_nothing_behind(
    make_core: CoreFactory, tmp_path: Path, mode: str, acks: int, delay: float
) -> None:
    setup = make_core(start=False)
    setup.accounts.create("alice", "a@example.com", PASSWORD)
    setup.db.dispose()
    acked = _run_and_kill(tmp_path / "data", mode, acks, delay)
    if mode == "small":
        assert len(acked) >= acks
    restarted = make_core()  # start-up recovery sees the dead process and cleans up
    _audit(restarted, acked)


def test_stale_instance_is_reclaimed_after_its_lease(make_core: CoreFactory) -> None:
    from gateway.clock import ManualClock

    clock = ManualClock()
    writer = make_core(clock=clock)
    alice = writer.accounts.create("alice", "a@example.com", PASSWORD).id
    upload = writer.storage.upload(alice, "x", max_size=1 << 40)
    upload.write(b"a" * 1000)
    other = make_core(clock=clock)
    assert other.recovery.reclaim() == 0  # the writer is alive
    # The writer stops beating (a hung server, or one on another host); its lease runs out.
    clock.advance(120)
    other.recovery.heartbeat()
    assert other.recovery.reclaim() == 1
    assert other.storage.usage(alice)[0] == 0
    with pytest.raises(NotFound, match="reclaimed"):
        upload.commit()
