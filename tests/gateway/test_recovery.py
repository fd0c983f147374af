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

from gateway.blobkeys import object_key
from gateway.core import Core
from gateway.errors import NotFound
from gateway.models import Account, Blob, Reservation
from tests.conftest import PASSWORD, CoreFactory, unfinished

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
    assert unfinished(store) == []
    # Every blob file, in either layout of the local store (flat: ``ab/abcd…``).
    root = store.root  # type: ignore[attr-defined]
    on_disk = {p.name for p in [*root.glob("??/*"), *root.glob("??/??/*")] if p.is_file()}
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


def test_an_instance_of_another_node_lives_by_its_lease(make_core: CoreFactory) -> None:
    """A process id that does not exist here says nothing about another machine (or
    container, where host names and process ids repeat): only its lease counts."""
    from gateway.clock import ManualClock
    from gateway.models import Instance, Reservation

    clock = ManualClock()
    core = make_core(clock=clock)
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    with core.db.write() as session:
        session.add(
            Instance(id="f" * 32, node="another-node", pid=2**22 + 7, started_at=clock(),
                     heartbeat_at=clock())
        )  # fmt: skip
    reservation = core.storage.reservations.open(alice, "local", "e" * 32, 10)
    with core.db.write() as session:
        session.query(Reservation).filter(Reservation.id == reservation).update(
            {"instance_id": "f" * 32}
        )
    assert core.recovery.reclaim() == 0
    clock.advance(120)
    core.recovery.heartbeat()
    assert core.recovery.reclaim() == 1


def test_a_killed_process_of_this_node_is_reclaimed_at_once(
    make_core: CoreFactory, tmp_path: Path
) -> None:
    """Its lock file is free the moment the kernel ends it: no lease to wait for."""
    core = make_core()
    core.accounts.create("alice", "a@example.com", PASSWORD)
    script = (
        "import sys\n"
        "from tests.conftest import make_config\n"
        "from gateway.core import build_core\n"
        "from pathlib import Path\n"
        "core = build_core(make_config(Path(sys.argv[1])))\n"
        "core.start()\n"
        "alice = core.accounts.find('alice').id\n"
        "upload = core.storage.upload(alice, 'x', max_size=1 << 30)\n"
        "upload.write(b'a' * 1000)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(core.config.data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        try:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
            assert core.recovery.reclaim() == 0  # alive: it holds its lock
            writer.kill()
            writer.wait(10)
            assert core.recovery.reclaim() == 1
        finally:
            if writer.poll() is None:
                writer.kill()
    assert core.storage.usage(core.accounts.find("alice").id)[0] == 0
    assert list((core.config.data / "instances").iterdir()) == [
        core.config.data / "instances" / f"{core.recovery.instance_id}.lock"
    ]


def test_garbage_collection_frees_every_orphan(core: Core) -> None:
    """More orphans than one batch: every blob row and its bytes go."""
    store = core.stores["local"]
    with core.db.write() as session:
        for number in range(1_200):
            key = f"{number:032x}"
            store.put(object_key(key), [b"x"])
            session.add(
                Blob(region="local", key=key, size=1, md5="", sha1="", refcount=0, created_at=0.0)
            )
    assert core.recovery.collect_garbage() == 1_200
    with core.db.read() as session:
        assert session.query(Blob).count() == 0
    assert not any(store.exists(object_key(f"{number:032x}")) for number in range(0, 1_200, 97))
