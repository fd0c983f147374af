"""Group commit: the write jobs of concurrent threads share one transaction.

SQLite has one writer at a time, and each commit is an fsync of the WAL. Small writes
arriving together (rclone sends 16 at once) would each wait for the lock and pay for
a commit of their own; here, the thread that finds no batch running takes the jobs
queued so far (its own first) and runs them in one transaction, each inside a
savepoint of its own, so that a job that fails (a name taken, a full quota) is rolled
back alone and raises in its own thread, while the others commit together, with one
fsync. Every thread returns only once its job is committed (or failed), so a write is
acknowledged durable as before. The next batch is led by a thread still waiting.

PostgreSQL runs each job in a transaction of its own: it has many writers at once,
and a batch that locks several folders could deadlock with another process's.

A job (:meth:`gateway.db.Database.write_job`) is given a :class:`Writing`: the
transaction's connection, and an ORM session on it only if the job asks for one. A
small write's statements take microseconds each, and an ORM session around them (its
begin, its flush, its commit) cost several times all of them together.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from gateway.db import Database

T = TypeVar("T")

MAX_BATCH = 64
"""The most jobs one transaction takes."""


class Writing:
    """The write transaction a job runs in (:meth:`GroupCommit.run`).

    :meth:`connection` is the transaction's connection (statements run there are the
    job's); :attr:`session` an ORM session joined to it, made when first asked for,
    whose changes are flushed when the job ends and discarded if it fails."""

    __slots__ = ("_connection", "_session")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._session: Session | None = None

    def connection(self) -> Connection:
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session in the transaction (in a savepoint of its own, so that a
        flush that fails takes nothing else with it)."""
        if self._session is None:
            self._session = Session(
                bind=self._connection,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
            )
        return self._session

    def _finish(self, *, keep: bool) -> None:
        """End the job's session: its changes flushed and kept with ``keep``, else
        discarded."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if keep:
                session.commit()
        finally:
            session.close()


class _Job(Generic[T]):
    __slots__ = ("error", "finished", "result", "work")

    def __init__(self, work: Callable[[Writing], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.finished = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]

    def run(self, connection: Connection) -> bool:
        """Run the work in ``connection``'s transaction; whether it succeeded (what it
        raised is kept, for its thread, and its statements are the caller's to roll
        back)."""
        writing = Writing(connection)
        try:
            self.result = self.work(writing)
            writing._finish(keep=True)
        except BaseException as error:
            self.error = error
            with contextlib.suppress(Exception):
                writing._finish(keep=False)
            return False
        return True


class GroupCommit:
    """Runs write jobs of many threads in shared transactions (see the module)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._grouped = db.is_sqlite
        self._state = threading.Condition()
        self._queue: list[_Job[object]] = []
        self._leading = False

    def run(self, work: Callable[[Writing], T]) -> T:
        """Run ``work`` in a write transaction (maybe shared with other threads' jobs,
        each in a savepoint) and return its result once committed; an exception it
        raises rolls back only its own statements and is raised here.

        ``work`` MUST run its statements on the :class:`Writing`'s connection or in
        its session, and open no transaction of its own."""
        mine: _Job[T] = _Job(work)
        if not self._grouped:
            self._commit([mine])  # type: ignore[list-item]
            return mine.outcome()
        with self._state:
            self._queue.append(mine)  # type: ignore[arg-type]
            while self._leading and not mine.finished:
                self._state.wait()
            if mine.finished:
                return mine.outcome()
            self._leading = True
            self._queue.remove(mine)  # type: ignore[arg-type]
            batch: list[_Job[object]] = [mine, *self._queue[: MAX_BATCH - 1]]  # type: ignore[list-item]
            del self._queue[: MAX_BATCH - 1]
        try:
            self._commit(batch)
        finally:
            with self._state:
                self._leading = False
                self._state.notify_all()
        return mine.outcome()

    def _commit(self, batch: list[_Job[object]]) -> None:
        """Run ``batch`` in one transaction (a job alone needs no savepoint) and
        commit it; every job is finished when this returns."""
        try:
            with self._db.write_connection() as connection:
                transaction = connection.begin()
                if len(batch) == 1:
                    if not batch[0].run(connection):
                        transaction.rollback()
                        return
                else:
                    _in_savepoints(batch, connection)
                transaction.commit()
        except BaseException as error:
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, error
        finally:
            for job in batch:
                job.finished = True


def _in_savepoints(batch: list[_Job[object]], connection: Connection) -> None:
    """Run each job of ``batch`` in a savepoint of its own, rolled back if it fails;
    the savepoints on the driver's connection (SQLAlchemy's execution of each would
    cost more than a small job)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    for number, job in enumerate(batch):
        driver.execute(f"SAVEPOINT job{number}")
        if not job.run(connection):
            driver.execute(f"ROLLBACK TO job{number}")
        driver.execute(f"RELEASE job{number}")
