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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from gateway.db import Database

T = TypeVar("T")

MAX_BATCH = 64
"""The most jobs one transaction takes."""


class _Job(Generic[T]):
    __slots__ = ("error", "finished", "result", "work")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.finished = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Runs write jobs of many threads in shared transactions (see the module)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._grouped = db.is_sqlite
        self._state = threading.Condition()
        self._queue: list[_Job[object]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a write transaction (maybe shared with other threads' jobs,
        each in a savepoint) and return its result once committed; an exception it
        raises rolls back only its own statements and is raised here.

        ``work`` MUST run its statements on the session's connection (Core statements,
        or ORM statements executed at once): objects added to or deleted from the
        session are flushed when the job ends, and discarded if it fails."""
        mine: _Job[T] = _Job(work)
        if not self._grouped:
            self._alone(mine)  # type: ignore[arg-type]
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

    def _alone(self, job: _Job[object]) -> None:
        """Run ``job`` in a transaction of its own (no savepoint needed)."""
        try:
            with self._db.write() as session:
                job.result = job.work(session)
        except BaseException as error:
            job.error = error
        finally:
            job.finished = True

    def _commit(self, batch: list[_Job[object]]) -> None:
        if len(batch) == 1:
            self._alone(batch[0])
            return
        try:
            with self._db.write() as session:
                connection = session.connection()
                for number, job in enumerate(batch):
                    connection.exec_driver_sql(f"SAVEPOINT job{number}")
                    try:
                        job.result = job.work(session)
                        session.flush()
                    except BaseException as error:
                        connection.exec_driver_sql(f"ROLLBACK TO job{number}")
                        session.expunge_all()
                        job.error = error
                    connection.exec_driver_sql(f"RELEASE job{number}")
        except BaseException as error:
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, error
        finally:
            for job in batch:
                job.finished = True
