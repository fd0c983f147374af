"""Quota reservations under concurrency: writers racing for the last bytes (or the
last entries) of an account, in one process and across two cores sharing one
database."""

from __future__ import annotations

import threading

import pytest

from gateway.core import Core
from gateway.errors import QuotaExceeded
from gateway.models import Account, Reservation
from gateway.tree import Entry
from tests.conftest import PASSWORD, CoreFactory, in_parallel

MiB = 1024 * 1024


def _race(cores: list[Core], account_id: int, writers: int, size: int) -> list[int]:
    """``writers`` threads each stream ``size`` bytes; returns the sizes that committed."""
    committed: list[int] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def writer(index: int) -> None:
        core = cores[index % len(cores)]
        barrier.wait()
        try:
            with core.storage.upload(account_id, f"f{index}", max_size=1 << 40) as upload:
                for _ in range(size // (256 * 1024)):
                    upload.write(b"\0" * (256 * 1024))
                upload.commit()
            committed.append(size)
        except QuotaExceeded:
            pass
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return committed


def _check_books(core: Core, account_id: int, committed: list[int]) -> None:
    with core.db.read() as session:
        account = session.get(Account, account_id)
        assert account is not None
        assert account.used_bytes == sum(committed)
        assert account.used_bytes <= account.quota_bytes
        assert account.reserved_bytes == 0
        assert session.query(Reservation).count() == 0
    files = core.storage.children(account_id, "")
    assert sorted(f.size for f in files) == sorted(committed)


def test_writers_race_for_the_last_bytes(pg_core: Core) -> None:
    alice = pg_core.accounts.create("alice", "a@example.com", PASSWORD).id
    committed = _race([pg_core], alice, writers=8, size=3 * MiB)
    assert len(committed) == 3  # 10 MiB quota holds three 3 MiB files, never four
    _check_books(pg_core, alice, committed)


def test_two_servers_sharing_a_database_agree(make_core: CoreFactory, database_url: str) -> None:
    first = make_core(database_url, default_quota="10MiB")
    second = make_core(database_url, default_quota="10MiB")
    alice = first.accounts.create("alice", "a@example.com", PASSWORD).id
    committed = _race([first, second], alice, writers=10, size=2 * MiB)
    assert len(committed) == 5
    _check_books(first, alice, committed)


@pytest.mark.parametrize("size", [1, 4096, MiB + 1])
def test_exact_fit_then_one_byte_more(core: Core, size: int) -> None:
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    core.accounts.set_quota("alice", size)
    with core.storage.upload(alice, "fits", max_size=1 << 40) as upload:
        upload.write(b"x" * size)
        upload.commit()
    with pytest.raises(QuotaExceeded), core.storage.upload(alice, "more", max_size=1 << 40) as up:
        up.write(b"y")
    assert core.storage.usage(alice) == (size, size)


@pytest.mark.parametrize("servers", [1, 2])
def test_writers_race_for_the_last_entries(
    make_core: CoreFactory, database_url: str, servers: int
) -> None:
    """50 folders and files made at once against the last 10 entries of an account,
    through one server or two sharing the database: exactly 10 are made."""
    cores = [make_core(database_url, max_entries_per_account=30) for _ in range(servers)]
    alice = cores[0].accounts.create("alice", "a@example.com", PASSWORD).id
    for index in range(20):
        cores[0].storage.mkdir(alice, f"old{index}")

    def make(index: int) -> Entry:
        storage = cores[index % servers].storage
        if index % 2:
            return storage.mkdir(alice, f"new{index}")
        with storage.upload(alice, f"new{index}", max_size=1 << 20) as upload:
            upload.write(b"x")
            return upload.commit()

    results = in_parallel(make, list(range(50)))
    made = [r for r in results if isinstance(r, Entry)]
    assert len(made) == 10
    assert all(isinstance(r, QuotaExceeded) for r in results if not isinstance(r, Entry))
    with cores[0].db.read() as session:
        account = session.get(Account, alice)
        assert account is not None and account.entry_count == 30
        assert account.used_bytes == sum(e.size for e in made)
        assert account.reserved_bytes == 0
    assert len(cores[0].storage.children(alice, "")) == 30
