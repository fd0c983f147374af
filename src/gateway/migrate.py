"""Schema migrations with Alembic, run on start (and by tests on fresh databases)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

from gateway.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, *, revision: str = "head") -> None:
    """Bring the schema to the newest revision (or to ``revision``). Concurrent starts
    on one database are safe: on SQLite the upgrade holds the write lock, so the second
    waits and finds nothing to do."""
    config = alembic_config(db)
    with db.engine.execution_options(lockr_write=True).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
