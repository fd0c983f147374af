"""Prepared reads (:class:`gateway.db.Prepared`) and statements run in a write
(:class:`gateway.db.InTransaction`) on both databases: the same rows and values
SQLAlchemy's own execution gives, the connection back in the pool, errors as
SQLAlchemy raises them."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, event, insert, literal, literal_column, select, table, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from gateway.core import Core
from gateway.db import READERS_KEPT, InTransaction
from gateway.models import Account, Blob, Node
from gateway.tree import entry_query
from tests.conftest import PASSWORD


def test_rows_and_values_are_those_sqlalchemy_gives(pg_core: Core) -> None:
    core = pg_core
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    core.storage.mkdir(account.id, "docs")
    with core.storage.upload(
        account.id, "docs/a.txt", max_size=1 << 20, meta={"k": "v"}, mtime=1.5
    ) as upload:
        upload.write(b"hello")
        upload.commit()
    query = entry_query().where(Node.account_id == bindparam("a")).order_by(Node.key)
    prepared = core.db.prepare(query)
    with core.db.engine.connect() as connection:
        expected = [tuple(row) for row in connection.execute(query, {"a": account.id})]
    rows = prepared.all({"a": account.id})
    assert rows == expected and len(rows) == 3  # the home, the folder, the file
    home, folder, file = rows
    assert home[5] is True and folder[5] is True and file[5] is False  # booleans, not 0/1
    assert file[19]["k"] == "v" and folder[19] is None  # JSON decoded
    assert prepared.first({"a": account.id}) == home
    assert prepared.first({"a": account.id + 1}) is None
    assert core.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_values_written_into_the_statement_are_sent(pg_core: Core) -> None:
    core = pg_core
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    query = (
        select(Account.username, literal(7))
        .where(Account.username.startswith(bindparam("prefix")))
        .limit(1)
    )
    assert core.db.prepare(query).all({"prefix": "ali"}) == [("alice", 7)]
    assert core.db.prepare(query).all({"prefix": "bob"}) == []


def test_statements_whose_sql_depends_on_values_are_refused(core: Core) -> None:
    with pytest.raises(ValueError, match="cannot be prepared"):
        core.db.prepare(select(Blob.id).where(Blob.id.in_(bindparam("ids", expanding=True))))


def test_database_errors_are_sqlalchemy_errors(pg_core: Core) -> None:
    core = pg_core
    prepared = core.db.prepare(select(Account.id).where(Account.id == bindparam("a")))
    with core.db.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE accounts RENAME TO gone")
    with pytest.raises(DBAPIError):
        prepared.all({"a": 1})
    assert core.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_writes_in_a_transaction_are_those_sqlalchemy_makes(pg_core: Core) -> None:
    core = pg_core
    account = core.accounts.create("alice", "alice@example.com", PASSWORD)
    home = core.storage.stat(account.id, "")
    columns = ("uid", "account_id", "parent_id", "name", "is_dir", "size", "content_type")
    columns += ("mtime", "created_at", "key", "meta")
    add = InTransaction(insert(Node).returning(Node.id, Node.is_dir), columns)
    tag = InTransaction(update(Node).where(Node.parent_id == bindparam("parent")), ("meta",))
    values = {"account_id": account.id, "parent_id": home.id, "is_dir": True, "size": 0}
    values |= {"content_type": "", "mtime": 1.0, "created_at": 1.0, "meta": None}
    with core.db.write() as session:
        connection = session.connection()
        made = add.run(connection, values | {"uid": "u1", "name": "a", "key": "a/"})
        node_id, is_dir = made.one()
        assert is_dir is True and made.changed == 1
        add.run(connection, values | {"uid": "u2", "name": "b", "key": "b/"})
        tagged = tag.run(connection, {"parent": home.id, "meta": {"k": "v"}})
        assert tagged.rows == [] and tagged.first() is None and tagged.changed == 2
        session.rollback()
    assert [entry.name for entry in core.storage.children(account.id, "")] == []
    with core.db.write() as session:
        add.run(session.connection(), values | {"uid": "u1", "name": "a", "key": "a/"})
        tag.run(session.connection(), {"parent": home.id, "meta": {"k": "v"}})
    (entry,) = core.storage.children(account.id, "")
    assert (entry.name, entry.is_dir, entry.meta) == ("a", True, {"k": "v"})  # JSON encoded
    with pytest.raises(IntegrityError), core.db.write() as session:
        add.run(session.connection(), values | {"uid": "u3", "name": "a", "key": "a/"})
    with pytest.raises(ValueError, match="Python defaults"), core.db.write() as session:
        InTransaction(insert(Node), ("uid", "name")).run(session.connection(), {})
    assert core.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_prepared_reads_over_sqlite_keep_their_connections_out_of_the_pool(core: Core) -> None:
    """A prepared read on SQLite reuses a connection kept for reads (the pool's
    checkout and return cost several times the read), a few of them at most; one
    whose read failed is closed, not kept; and all are closed with the database."""
    prepared = core.db.prepare(select(Account.id).where(Account.id == bindparam("a")))
    checkouts: list[object] = []
    event.listen(core.db.engine.pool, "checkout", lambda *args: checkouts.append(args))
    rows = prepared.all({"a": 1})
    readers = core.db._readers
    taken = [readers.take() for _ in range(READERS_KEPT * 2)]  # as many reads at once
    for connection in taken:
        readers.give(connection)
    kept = readers._idle
    assert len(kept) == READERS_KEPT
    checkouts.clear()
    for _ in range(10):
        assert prepared.all({"a": 1}) == rows
    assert checkouts == [] and core.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    failing = core.db.prepare(select(literal_column("x")).select_from(table("missing")))
    before = set(map(id, kept))
    with pytest.raises(DBAPIError, match="no such table"):
        failing.all({})
    assert len(kept) == READERS_KEPT - 1 and set(map(id, kept)) < before
    core.db.dispose()
    assert len(kept) == 0
