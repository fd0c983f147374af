"""Group commit on a real SQLite file: concurrent jobs share transactions, a failing
job is rolled back alone and fails in its own thread, and nothing returns before it
is committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from gateway.db import Database
from gateway.groupcommit import Writing


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.write() as session:
        session.connection().exec_driver_sql("CREATE TABLE t (n INTEGER UNIQUE)")
    yield database
    database.dispose()


def _insert(n: int) -> Callable[[Writing], int]:
    def job(writing: Writing) -> int:
        writing.connection().execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        return n

    return job


def _until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition``, failing after 10 s rather than hanging."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _joined(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


def _one_batch(db: Database, jobs: list[Callable[[Writing], int]]) -> list[object]:
    """Run ``jobs`` in one batch (the first leads, once the others queued behind a
    batch it holds open); each one's result, or the name of the error it raised."""
    release = threading.Event()
    outcomes: dict[int, object] = {}

    def leading(writing: Writing) -> int:
        release.wait(10)
        return jobs[0](writing)

    def run(n: int, job: Callable[[Writing], int]) -> None:
        try:
            outcomes[n] = db.write_job(job)
        except Exception as error:
            outcomes[n] = type(error).__name__

    leader = threading.Thread(target=run, args=(0, leading))
    leader.start()
    _until(lambda: db._group._leading)
    queued = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs) if n]
    for index, thread in enumerate(queued):
        thread.start()
        _until(lambda: len(db._group._queue) == index + 1)  # noqa: B023
    release.set()
    _joined([leader, *queued])
    return [outcomes[n] for n in range(len(jobs))]


def _numbers(db: Database) -> list[int]:
    with db.lookup() as connection:
        return [row[0] for row in connection.execute(text("SELECT n FROM t ORDER BY n"))]


def _commits(db: Database) -> list[int]:
    counted = [0]

    @event.listens_for(db.engine, "commit")
    def _(connection: object) -> None:
        counted[0] += 1

    return counted


def test_jobs_queued_behind_a_running_batch_commit_together(db: Database) -> None:
    commits = _commits(db)
    release = threading.Event()
    results: dict[int, object] = {}

    def first(session: Writing) -> int:
        session.connection().execute(text("INSERT INTO t (n) VALUES (0)"))
        release.wait(10)
        return 0

    def run(n: int) -> None:
        results[n] = db.write_job(first if n == 0 else _insert(n))

    leader = threading.Thread(target=run, args=(0,))
    leader.start()
    _until(lambda: db._group._leading)
    others = [threading.Thread(target=run, args=(n,)) for n in range(1, 21)]
    for thread in others:
        thread.start()
    _until(lambda: len(db._group._queue) == 20)
    # The leader's insert is made: still, nothing is visible, or returned, before the commit.
    assert _numbers(db) == [] and results == {}
    release.set()
    _joined([leader, *others])
    assert results == {n: n for n in range(21)}
    assert _numbers(db) == list(range(21))
    assert commits[0] == 2  # the leader's batch, then the twenty queued behind it


def test_a_failing_job_is_rolled_back_alone_and_fails_in_its_own_thread(db: Database) -> None:
    def failing(writing: Writing) -> int:
        writing.connection().execute(text("INSERT INTO t (n) VALUES (100)"))
        writing.connection().execute(text("INSERT INTO t (n) VALUES (0)"))  # taken: fails
        return -1

    outcomes = _one_batch(db, [_insert(0), _insert(1), failing, _insert(3)])
    assert outcomes == [0, 1, "IntegrityError", 3]
    assert _numbers(db) == [0, 1, 3]  # the failed job's first insert went with it


def test_a_job_alone_runs_at_once_in_its_own_transaction(db: Database) -> None:
    commits = _commits(db)
    assert db.write_job(_insert(7)) == 7
    with pytest.raises(Exception, match="UNIQUE"):
        db.write_job(_insert(7))
    assert _numbers(db) == [7]
    assert commits[0] == 1  # the failed one rolled back


def test_a_job_runs_on_the_bare_connection_unless_it_asks_for_a_session(db: Database) -> None:
    """A job's statements need no ORM session (it costs more than a small write);
    one asked for joins the job's transaction, its changes kept with the job's."""
    made: list[Session] = []

    def began(session: Session, _transaction: object) -> None:
        made.append(session)

    event.listen(Session, "after_transaction_create", began)
    try:
        assert db.write_job(_insert(1)) == 1
        assert made == []

        def with_session(writing: Writing) -> int:
            writing.session.execute(text("INSERT INTO t (n) VALUES (2)"))
            return 2

        assert db.write_job(with_session) == 2
        assert made
    finally:
        event.remove(Session, "after_transaction_create", began)
    assert _numbers(db) == [1, 2]


def test_a_failing_job_discards_what_its_session_did_alone(db: Database) -> None:
    def with_session(writing: Writing) -> int:
        writing.session.execute(text("INSERT INTO t (n) VALUES (0)"))
        return 0

    def failing(writing: Writing) -> int:
        writing.session.execute(text("INSERT INTO t (n) VALUES (100)"))
        raise ValueError("refused after writing")

    assert _one_batch(db, [with_session, failing, _insert(2)]) == [0, "ValueError", 2]
    assert _numbers(db) == [0, 2]
