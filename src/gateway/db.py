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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway.groupcommit import GroupCommit
from gateway.private import create_private, private_folder

T = TypeVar("T")


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
        self._group = GroupCommit(self)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction, ended when the block ends; loaded objects stay usable."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A read-only transaction on a bare connection, ended when the block ends: for
        several reads that must agree (an ORM session costs about half as much again;
        a single read is cheaper still through :meth:`prepare`)."""
        with self.engine.connect() as connection:
            yield connection

    def prepare(self, statement: Select[*tuple[Any, ...]]) -> Prepared:
        """``statement`` (a SELECT built once, its values as bound parameters) compiled
        once for this database, to run as :class:`Prepared` does."""
        return Prepared(self.engine, statement)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends without an exception."""
        with self._write_lock or contextlib.nullcontext():
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    def write_job(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a write transaction that concurrent jobs may share, and
        return its result once committed (:class:`gateway.groupcommit.GroupCommit`:
        ``work`` runs its statements on the session's connection and opens no
        transaction of its own)."""
        return self._group.run(work)

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


Row = tuple[Any, ...]


class Prepared:
    """A SELECT compiled once, run on a bare DBAPI connection from the pool: for the
    lookups every request makes, where SQLAlchemy's execution (its compiled cache, its
    result machinery, the transaction it begins) costs several times the query.

    Each call is one statement outside any explicit transaction (on SQLite; on
    PostgreSQL the driver's own, rolled back as the connection returns to the pool),
    which reads one consistent state on its own: a caller that needs several reads
    to agree MUST use :meth:`Database.lookup` instead. Rows are plain tuples in the
    order of the statement's columns, their values converted as SQLAlchemy converts
    them (booleans, JSON). Database errors are raised as SQLAlchemy raises them
    (:class:`~sqlalchemy.exc.DBAPIError`); a connection found broken is dropped from
    the pool. A statement whose SQL depends on its values (an expanding ``IN``)
    cannot be prepared."""

    def __init__(self, engine: Engine, statement: Select[*tuple[Any, ...]]) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a statement whose SQL depends on its values cannot be prepared")
        self._engine = engine
        self._dialect = dialect
        self._error = dialect.loaded_dbapi.Error
        self._order = compiled.positiontup if compiled.positional else None
        self._fixed = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }
        self._bind: list[tuple[str, Callable[[Any], Any]]] = [
            (name, process)
            for name, bind in compiled.binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        self._types = [column.type for column in statement.selected_columns]
        self._convert: list[tuple[int, Callable[[Any], Any]]] | None = None

    def all(self, params: Mapping[str, Any]) -> list[Row]:
        """Every row the statement finds with these parameters."""
        values = {**self._fixed, **params} if self._fixed else params
        if self._bind:
            values = dict(values)
            for name, process in self._bind:
                values[name] = process(values[name])
        args: Any = values if self._order is None else [values[name] for name in self._order]
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, args)
                rows: list[Row] = list(cursor.fetchall())
                description = cursor.description
            except self._error as error:
                if self._dialect.is_disconnect(error, connection.dbapi_connection, cursor):
                    connection.invalidate(error)
                raise DBAPIError.instance(
                    self.sql, args, error, self._error, dialect=self._dialect
                ) from error
            finally:
                cursor.close()
        finally:
            connection.close()
        convert = self._convert
        if convert is None:
            convert = self._convert = self._converters(description)
        if not convert or not rows:
            return rows
        converted = []
        for row in rows:
            values_of = list(row)
            for index, process in convert:
                values_of[index] = process(values_of[index])
            converted.append(tuple(values_of))
        return converted

    def first(self, params: Mapping[str, Any]) -> Row | None:
        """The first row the statement finds, or ``None`` (a statement that may find
        many should say ``LIMIT 1``: every row found is read)."""
        rows = self.all(params)
        return rows[0] if rows else None

    def _converters(self, description: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        """How each column's values are converted, given the driver's column types."""
        dialect = self._dialect
        converters: list[tuple[int, Callable[[Any], Any]]] = []
        for index, (type_, column) in enumerate(zip(self._types, description, strict=True)):
            process = type_.dialect_impl(dialect).result_processor(dialect, column[1])
            if process is not None:
                converters.append((index, process))
        return converters


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
