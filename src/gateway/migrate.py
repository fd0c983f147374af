"""Schema migrations with Alembic, run on start (and by tests on fresh databases)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from gateway.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6C6F636B72  # "lockr": the advisory lock that serialises migrations


def alembic_config(db: Database) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, *, revision: str = "head") -> None:
    """Bring the schema to the newest revision (or to ``revision``). Concurrent starts
    on one database are safe: the upgrade holds SQLite's write lock, or on PostgreSQL
    a transaction-scoped advisory lock taken before alembic reads the schema's
    revision, so the others wait and then find nothing to do."""
    config = alembic_config(db)
    with db.engine.execution_options(lockr_write=True).begin() as connection:
        if not db.is_sqlite:
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(db: Database) -> str | None:
    """The revision the database's schema is at (``None`` before the first migration)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
