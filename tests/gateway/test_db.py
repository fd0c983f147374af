"""Prepared reads (:class:`gateway.db.Prepared`) on both databases: the same rows and
values SQLAlchemy's own execution gives, the connection back in the pool, errors as
SQLAlchemy raises them."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, literal, select
from sqlalchemy.exc import DBAPIError

from gateway.core import Core
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
    assert file[19] == {"k": "v"} and folder[19] is None  # JSON decoded
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
