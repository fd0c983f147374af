"""Making folders (:mod:`gateway.mkdir`) on real databases: the rules of a mkdir,
writers racing to make one folder, a full account, and a mkdir that is a write job
of its own statements, with no ORM session."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from gateway.core import Core
from gateway.errors import Exists, NotFound, QuotaExceeded
from tests.conftest import CoreFactory, in_parallel
from tests.gateway.storage_helpers import account, entry_count, node_rows, put


def test_mkdir_rules(core: Core) -> None:
    alice = account(core)
    core.storage.mkdir(alice, "docs")
    with pytest.raises(Exists):
        core.storage.mkdir(alice, "docs")
    assert core.storage.mkdir(alice, "docs", exist_ok=True).name == "docs"
    with pytest.raises(NotFound):
        core.storage.mkdir(alice, "missing/child")
    put(core, alice, "file", b"x")
    with pytest.raises(Exists):
        core.storage.mkdir(alice, "file", exist_ok=True)
    with pytest.raises(NotFound):
        put(core, alice, "nowhere/file", b"x")


def test_parallel_mkdirs_of_one_folder(pg_core: Core) -> None:
    """Writers racing to make the same folder (PostgreSQL lets them) end in one folder:
    with exist_ok all get it, without it one makes it and the others get Exists."""
    alice = account(pg_core)
    made = in_parallel(
        lambda _: pg_core.storage.mkdir(alice, "a/b", parents=True, exist_ok=True), range(20)
    )
    assert len({entry.id for entry in made}) == 1  # type: ignore[union-attr]
    strict = in_parallel(lambda _: pg_core.storage.mkdir(alice, "c"), range(20))
    assert sum(isinstance(result, Exists) for result in strict) == 19


def test_a_lost_mkdir_race_charges_no_entry(pg_core: Core) -> None:
    alice = account(pg_core)
    in_parallel(lambda _: pg_core.storage.mkdir(alice, "race", exist_ok=True), range(20))
    assert entry_count(pg_core, alice) == node_rows(pg_core, alice) == 1


def test_a_mkdir_past_the_entry_limit_makes_nothing(make_core: CoreFactory) -> None:
    """The folders a mkdir makes are one write: the one past the limit takes those
    made above it back."""
    core = make_core(max_entries_per_account=3)
    alice = account(core)
    core.storage.mkdir(alice, "a")
    with pytest.raises(QuotaExceeded):
        core.storage.mkdir(alice, "a/b/c/d", parents=True)
    assert entry_count(core, alice) == node_rows(core, alice) == 1
    with pytest.raises(NotFound):
        core.storage.stat(alice, "a/b")
    assert core.storage.mkdir(alice, "a/b/c", parents=True).path == "a/b/c"


def test_a_mkdir_runs_on_the_connection_without_an_orm_session(core: Core) -> None:
    alice = account(core)
    made: list[Session] = []
    test = threading.current_thread()  # (recovery's thread may make sessions meanwhile)

    def began(session: Session, _transaction: object) -> None:
        if threading.current_thread() is test:
            made.append(session)

    event.listen(Session, "after_transaction_create", began)
    try:
        entry = core.storage.mkdir(alice, "x/y", parents=True, mtime=5.0)
        assert core.storage.mkdir(alice, "x/y", exist_ok=True) == entry
    finally:
        event.remove(Session, "after_transaction_create", began)
    assert made == []
    assert entry.path == "x/y" and entry.is_dir and entry.mtime == 5.0
    assert core.storage.stat(alice, "x/y") == entry
