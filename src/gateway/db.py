"""Database access: one engine per process, short transactions, SQLite tuned for safety.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives a power
cut) and a busy timeout. Write transactions start with ``BEGIN IMMEDIATE`` so two
writers queue instead of failing when one upgrades a read lock; read transactions
stay deferred so they never wait for writers. Other databases (PostgreSQL) use their
default isolation; the core's conditional ``UPDATE``s are atomic there too.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.private import create_private, private_folder


class Database:
    """Owns the SQLAlchemy engine. Use :meth:`read` and :meth:`write` for transactions."""

    def __init__(self, url: str, *, pool_size: int = 16) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                # SQLite gives the -wal and -shm files the database file's permissions.
                private_folder(Path(parsed.database).parent)
                create_private(Path(parsed.database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size * 2
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(lockr_write=True)
        # SQLite has one writer at a time, and a writer that finds the database busy
        # sleeps in growing steps (up to 100 ms) before retrying. Queueing this
        # process's writers on a lock first keeps them from sleeping on each other.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction, ended when the block ends; loaded objects stay usable."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A read-only transaction on a bare connection, ended when the block ends: for
        the lookups every request makes (an ORM session costs about half as much again)."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends without an exception."""
        with self._write_lock or contextlib.nullcontext():
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    def upsert(self, table: Any) -> Any:
        """An ``INSERT`` into ``table`` that can take ``ON CONFLICT DO UPDATE`` (both
        SQLite and PostgreSQL have it, each in its own dialect's construct)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def ping(self) -> None:
        """Raise if the database does not answer ``SELECT 1``."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=60000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # On the driver's connection: a statement through SQLAlchemy costs more than
        # the short lookups it would open (a third of a bare-connection lookup).
        write = connection.get_execution_options().get("lockr_write")
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")


def _use_wal(cursor: Any, *, timeout: float = 60.0) -> None:
    """Put the database in WAL mode (it stays so, recorded in the file). Switching
    needs the database to itself, and SQLite answers "locked" at once rather than
    calling the busy handler while other connections (processes starting together)
    hold it, so the switch is retried for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.2)
