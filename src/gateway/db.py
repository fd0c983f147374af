"""Database access: one engine per process, short transactions, SQLite tuned for safety.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives a power
cut) and a busy timeout. Write transactions start with ``BEGIN IMMEDIATE`` so two
writers queue instead of failing when one upgrades a read lock; read transactions
stay deferred so they never wait for writers. Other databases (PostgreSQL) use their
default isolation; the core's conditional ``UPDATE``s are atomic there too.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Connection, Delete, Engine, Insert, Select, Update, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from gateway.groupcommit import GroupCommit, Writing
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
        self._readers = _Readers(self.engine, keep=READERS_KEPT if self.is_sqlite else 0)
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
        return Prepared(self._readers, statement)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends without an exception."""
        with self._write_lock or contextlib.nullcontext():
            with Session(self._write_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A connection for one write transaction, which the caller begins and ends
        (SQLite's ``BEGIN IMMEDIATE``, as :meth:`write`'s), this process's other
        writers held off until the block ends."""
        with self._write_lock or contextlib.nullcontext():
            with self._write_engine.connect() as connection:
                yield connection

    def write_job(self, work: Callable[[Writing], T]) -> T:
        """Run ``work`` in a write transaction that concurrent jobs may share, and
        return its result once committed (:class:`gateway.groupcommit.GroupCommit`).
        ``work`` runs its statements on the transaction's connection
        (:meth:`Writing.connection`), or in :attr:`Writing.session` where it needs the
        ORM (a session is made only when asked for: for a small write it costs more
        than all its statements), and opens no transaction of its own."""
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
        self._readers.close()
        self.engine.dispose()


class HasConnection(Protocol):
    """What holds a transaction (an ORM session, a job's :class:`Writing`): the
    connection its statements run on."""

    def connection(self) -> Connection: ...


Row = tuple[Any, ...]
Statement = Select[*tuple[Any, ...]] | Insert | Update | Delete


class _Compiled:
    """A statement compiled for one dialect, with what running it on a DBAPI cursor
    takes: its parameters in the driver's order and form, its rows converted."""

    def __init__(
        self, dialect: Dialect, statement: Statement, columns: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a statement whose SQL depends on its values cannot be prepared")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError(
                "a statement that leaves columns to their Python defaults cannot be prepared"
            )
        self.dialect = dialect
        self.error = dialect.loaded_dbapi.Error
        self._order = compiled.positiontup if compiled.positional else None
        self._fixed = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }
        self._bind: list[tuple[str, Callable[[Any], Any]]] = [
            (name, process)
            for name, bind in compiled.binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        self._types = [column.type for column in statement.exported_columns]
        self._convert: list[tuple[int, Callable[[Any], Any]]] | None = None

    def execute(self, connection: Any, params: Mapping[str, Any]) -> tuple[list[Row], int]:
        """Run on the pool's DBAPI ``connection``: the rows (converted) and the row
        count. Raises the driver's error as SQLAlchemy would (:class:`DBAPIError`,
        ``connection_invalidated`` when the connection is found broken)."""
        values = {**self._fixed, **params} if self._fixed else params
        if self._bind:
            values = dict(values)
            for name, process in self._bind:
                values[name] = process(values[name])
        args: Any = values if self._order is None else [values[name] for name in self._order]
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, args)
            description = cursor.description
            rows: list[Row] = [] if description is None else list(cursor.fetchall())
            count = cursor.rowcount
        except self.error as error:
            broken = self.dialect.is_disconnect(error, connection.dbapi_connection, cursor)
            raise DBAPIError.instance(
                self.sql,
                args,
                error,
                self.error,
                dialect=self.dialect,
                connection_invalidated=broken,
            ) from error
        finally:
            cursor.close()
        return self._converted(rows, description), count

    def _converted(self, rows: list[Row], description: Any) -> list[Row]:
        if not rows:
            return rows
        convert = self._convert
        if convert is None:
            convert = self._convert = self._converters(description)
        if not convert:
            return rows
        converted = []
        for row in rows:
            values_of = list(row)
            for index, process in convert:
                values_of[index] = process(values_of[index])
            converted.append(tuple(values_of))
        return converted

    def _converters(self, description: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        """How each column's values are converted, given the driver's column types."""
        dialect = self.dialect
        converters: list[tuple[int, Callable[[Any], Any]]] = []
        for index, (type_, column) in enumerate(zip(self._types, description, strict=True)):
            process = type_.dialect_impl(dialect).result_processor(dialect, column[1])
            if process is not None:
                converters.append((index, process))
        return converters


class Prepared:
    """A SELECT compiled once, run on a bare DBAPI connection (:class:`_Readers`): for
    the lookups every request makes, where SQLAlchemy's execution (its compiled cache,
    its result machinery, the transaction it begins) costs several times the query.

    Each call is one statement outside any explicit transaction (on SQLite; on
    PostgreSQL the driver's own, rolled back as the connection returns to the pool),
    which reads one consistent state on its own: a caller that needs several reads
    to agree MUST use :meth:`Database.lookup` instead. Rows are plain tuples in the
    order of the statement's columns, their values converted as SQLAlchemy converts
    them (booleans, JSON). Database errors are raised as SQLAlchemy raises them
    (:class:`~sqlalchemy.exc.DBAPIError`); a connection found broken is dropped from
    the pool. A statement whose SQL depends on its values (an expanding ``IN``)
    cannot be prepared."""

    def __init__(self, readers: _Readers, statement: Select[*tuple[Any, ...]]) -> None:
        self._readers = readers
        self._compiled = _Compiled(readers.dialect, statement)
        self.sql = self._compiled.sql

    def all(self, params: Mapping[str, Any]) -> list[Row]:
        """Every row the statement finds with these parameters."""
        connection = self._readers.take()
        try:
            rows = self._compiled.execute(connection, params)[0]
        except DBAPIError as error:
            self._readers.drop(connection, error)
            raise
        except BaseException:
            self._readers.drop(connection, None)
            raise
        self._readers.give(connection)
        return rows

    def first(self, params: Mapping[str, Any]) -> Row | None:
        """The first row the statement finds, or ``None`` (a statement that may find
        many should say ``LIMIT 1``: every row found is read)."""
        rows = self.all(params)
        return rows[0] if rows else None


READERS_KEPT = 8
"""The most SQLite connections kept for prepared reads between them."""


class _Readers:
    """The connections prepared reads run on. Over SQLite, up to ``keep`` are kept
    out of the pool between reads, ready (in autocommit, so a read leaves nothing
    open): the pool's checkout and return of a connection cost several times a read
    by key. Over PostgreSQL (``keep`` 0), each read takes one from the pool and gives
    it back, which rolls back the driver's transaction."""

    def __init__(self, engine: Engine, *, keep: int) -> None:
        self._engine = engine
        self.dialect = engine.dialect
        self._keep = keep
        self._idle: deque[PoolProxiedConnection] = deque()
        self._pid = os.getpid()

    def take(self) -> PoolProxiedConnection:
        if self._keep:
            if self._pid != os.getpid():  # a forked child: its parent's are not its own
                self._idle, self._pid = deque(), os.getpid()
            try:
                return self._idle.pop()
            except IndexError:
                connection = self._engine.raw_connection()
                connection.detach()  # its own now: returning it is closing it
                return connection
        return self._engine.raw_connection()

    def give(self, connection: PoolProxiedConnection) -> None:
        if len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            connection.close()

    def drop(self, connection: PoolProxiedConnection, error: DBAPIError | None) -> None:
        """Let go of ``connection`` after a read failed (``error``, if the database
        raised it): closed if it is not the pool's, invalidated if found broken."""
        if error is not None and error.connection_invalidated and not self._keep:
            connection.invalidate(error)
        connection.close()

    def close(self) -> None:
        """Close the connections kept."""
        while self._idle:
            self._idle.pop().close()


class Ran(NamedTuple):
    """What an :class:`InTransaction` statement did: the rows it answered (a SELECT, or
    ``RETURNING``) and how many rows it changed."""

    rows: list[Row]
    changed: int

    def one(self) -> Row:
        if len(self.rows) != 1:
            raise ValueError(f"one row was expected, {len(self.rows)} came")
        return self.rows[0]

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None


class InTransaction:
    """A statement of a write (``INSERT``, ``UPDATE``, ``DELETE``, or a ``SELECT``
    inside one) built once at import, compiled once per dialect on first use, and run
    on the DBAPI connection of the caller's transaction (a ``SELECT`` also on a
    :meth:`Database.lookup`'s): SQLAlchemy's execution of a statement costs several
    times what SQLite takes to run it.

    An ``INSERT`` or ``UPDATE`` whose values are given when it runs names their
    ``columns`` (the parameters of each run are then those columns' names), as
    SQLAlchemy compiles one for the parameters it is given; an ``INSERT`` MUST name
    every column that has a Python-side default (it is refused otherwise: nothing
    would fill them in). Values are converted as SQLAlchemy converts them, rows as
    :class:`Prepared`'s. Database errors are raised as SQLAlchemy raises them
    (:class:`~sqlalchemy.exc.DBAPIError`)."""

    def __init__(self, statement: Statement, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.columns = columns
        self._by_dialect: dict[str, _Compiled] = {}

    def run(self, connection: Connection, params: Mapping[str, Any]) -> Ran:
        """Run with these parameters on ``connection`` (in its transaction)."""
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = _Compiled(dialect, self.statement, self.columns)
            self._by_dialect[dialect.name] = compiled
        try:
            return Ran(*compiled.execute(connection.connection, params))
        except DBAPIError as error:
            if error.connection_invalidated:
                connection.invalidate(error)
            raise


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
