"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import SAWarning

from gateway.db import Database
from gateway.migrate import alembic_config, upgrade
from gateway.models import Base
from tests.conftest import in_parallel

EXPRESSION_INDEXES = {"ix_nodes_account_key", "ix_nodes_parent_key"}
"""Indexes on an expression, which SQLAlchemy cannot reflect: checked by name."""


def _compared(obj: object, name: str | None, type_: str, *_: object) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def test_migrations_match_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db)
        upgrade(db)  # idempotent
        with db.engine.connect() as connection, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
            warnings.filterwarnings("ignore", ".*expression-based index", UserWarning)
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _compared}
            )
            assert compare_metadata(context, Base.metadata) == []
            names = {index["name"] for index in inspect(connection).get_indexes("nodes")}
        if not db.is_sqlite:
            assert EXPRESSION_INDEXES <= names
        else:
            with db.engine.connect() as connection:
                found = connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'index'"
                ).scalars()
                assert EXPRESSION_INDEXES <= set(found)
    finally:
        db.dispose()


def test_locks_and_properties_outside_homes_are_removed(database_url: str) -> None:
    """Rows a Depth-infinity LOCK or a PROPPATCH on ``/`` left behind reached into every
    account; revision 0005 removes them and keeps those inside a home."""
    db = Database(database_url)
    try:
        upgrade(db, revision="0004")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO accounts (username, email, password_hash, plan, quota_bytes,"
                    " used_bytes, reserved_bytes, default_region, is_guest, created_at)"
                    " VALUES ('alice', 'a@example.com', '!', 'free', 1, 0, 0, 'local', false, 0)"
                )
            )
            for token, root in enumerate(["/", "/alice", "/alice/x", "/alicex/y", "/bob/z"]):
                connection.execute(
                    text("INSERT INTO dav_locks VALUES (:t, :r, '{}', -1)"),
                    {"t": f"opaquelocktoken:{token}", "r": root},
                )
            for url in ["/", "/alice/", "/alice/x", "/nobody/x"]:
                connection.execute(
                    text("INSERT INTO dav_properties VALUES (:u, 'n', :v)"),
                    {"u": url, "v": b"v"},
                )
        upgrade(db)
        with db.engine.connect() as connection:
            roots = connection.scalars(text("SELECT root FROM dav_locks ORDER BY root")).all()
            urls = connection.scalars(text("SELECT url FROM dav_properties ORDER BY url")).all()
        assert roots == ["/alice", "/alice/x"]
        assert urls == ["/alice/", "/alice/x"]
    finally:
        db.dispose()


def test_entry_counts_start_from_the_stored_nodes(database_url: str) -> None:
    """Revision 0008 counts each account's files and folders, its root folder not."""
    db = Database(database_url)
    try:
        upgrade(db, revision="0007")
        with db.engine.begin() as connection:
            for account_id, name in [(1, "alice"), (2, "bob")]:
                connection.execute(
                    text(
                        "INSERT INTO accounts (id, username, email, password_hash, plan,"
                        " quota_bytes, used_bytes, reserved_bytes, default_region, is_guest,"
                        " created_at) VALUES (:id, :name, :email, '!', 'free', 1, 0, 0,"
                        " 'local', false, 0)"
                    ),
                    {"id": account_id, "name": name, "email": f"{name}@example.com"},
                )
            nodes = [
                (1, 1, None, ""),
                (2, 1, 1, "a"),
                (3, 1, 2, "b"),
                (4, 1, 1, "c"),
                (5, 2, None, ""),
            ]
            for node_id, account_id, parent_id, name in nodes:
                connection.execute(
                    text(
                        "INSERT INTO nodes (id, uid, account_id, parent_id, name, is_dir, size,"
                        " content_type, mtime, created_at) VALUES (:id, :uid, :account,"
                        " :parent, :name, true, 0, '', 0, 0)"
                    ),
                    {
                        "id": node_id,
                        "uid": f"node{node_id}",
                        "account": account_id,
                        "parent": parent_id,
                        "name": name,
                    },
                )
        upgrade(db)
        with db.engine.connect() as connection:
            counts = connection.execute(
                text("SELECT username, entry_count FROM accounts ORDER BY username")
            ).all()
        assert [tuple(row) for row in counts] == [("alice", 3), ("bob", 0)]
    finally:
        db.dispose()


def test_every_node_gets_its_key(database_url: str) -> None:
    """Revision 0012 gives roots ``""``, folders ``path/``, files ``path`` and a
    detached tree (a large delete under way) keys out of sight."""
    db = Database(database_url)
    try:
        upgrade(db, revision="0011")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO accounts (id, username, email, password_hash, plan,"
                    " quota_bytes, used_bytes, reserved_bytes, default_region, is_guest,"
                    " created_at, entry_count) VALUES (1, 'alice', 'a@example.com', '!',"
                    " 'free', 1, 0, 0, 'local', false, 0, 0)"
                )
            )
            nodes = [
                (1, None, "", True),
                (2, 1, "docs", True),
                (3, 2, "a.txt", False),
                (4, 2, "deeper", True),
                (5, 4, "é b", False),
                (6, None, "gone", True),
                (7, 6, "x", False),
            ]
            for node_id, parent_id, name, is_dir in nodes:
                connection.execute(
                    text(
                        "INSERT INTO nodes (id, uid, account_id, parent_id, name, is_dir, size,"
                        " content_type, mtime, created_at) VALUES (:id, :uid, 1, :parent,"
                        " :name, :dir, 0, '', 0, 0)"
                    ),
                    {
                        "id": node_id,
                        "uid": f"node{node_id}",
                        "parent": parent_id,
                        "name": name,
                        "dir": is_dir,
                    },
                )
            connection.execute(text("UPDATE accounts SET root_id = 1"))
        upgrade(db)
        with db.engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, key FROM nodes")).all())
        assert keys == {
            1: "",
            2: "docs/",
            3: "docs/a.txt",
            4: "docs/deeper/",
            5: "docs/deeper/é b",
            6: "/gone/node6/",
            7: "/gone/node6/x",
        }
    finally:
        db.dispose()


def test_nodes_starting_together_migrate_once(database_url: str) -> None:
    """Several nodes starting at once on a fresh database: one migrates, the others
    wait for it and find nothing to do (none fails on a half-made schema)."""
    databases = [Database(database_url) for _ in range(4)]
    try:
        results = in_parallel(upgrade, databases)
        assert results == [None] * 4, results
        with databases[0].engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert (
                context.get_current_revision()
                == ScriptDirectory.from_config(alembic_config(databases[0])).get_current_head()
            )
    finally:
        for db in databases:
            db.dispose()
