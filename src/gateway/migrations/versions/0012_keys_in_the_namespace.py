"""keys in the namespace: every entry stores its full key, indexed

Each node gets ``key`` (``docs/a.txt``, ``docs/`` for a folder, ``""`` for an
account's root; a detached tree's keys start with ``/gone/``), filled level by level
from the roots, then indexed by account and by parent on its first characters.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

KEY_PREFIX_SQL = "substr(key, 1, 600)"
UNSET = "/"


def upgrade() -> None:
    key_type = sa.String(length=4096).with_variant(
        sa.String(length=4096, collation="C"), "postgresql"
    )
    # Added NOT NULL with a default out of sight ("/"), in place: SQLite cannot make a
    # column NOT NULL later without copying the table, and dropping the old table
    # would cascade (a self-referencing foreign key) into the copy.
    op.add_column("nodes", sa.Column("key", key_type, nullable=False, server_default=UNSET))
    op.execute("UPDATE nodes SET key = '' WHERE id IN (SELECT root_id FROM accounts)")
    op.execute(
        f"UPDATE nodes SET key = '/gone/' || uid || '/' WHERE parent_id IS NULL AND key = '{UNSET}'"
    )
    connection = op.get_bind()
    while True:
        filled = connection.execute(
            sa.text(
                "UPDATE nodes SET key = (SELECT p.key FROM nodes p WHERE p.id = nodes.parent_id)"
                " || name || CASE WHEN is_dir THEN '/' ELSE '' END"
                f" WHERE key = '{UNSET}' AND parent_id IN"
                f" (SELECT id FROM nodes WHERE key <> '{UNSET}')"
            )
        ).rowcount
        if not filled:
            break
    op.create_index("ix_nodes_account_key", "nodes", ["account_id", sa.text(KEY_PREFIX_SQL)])
    op.create_index("ix_nodes_parent_key", "nodes", ["parent_id", sa.text(KEY_PREFIX_SQL)])


def downgrade() -> None:
    op.drop_index("ix_nodes_parent_key", table_name="nodes")
    op.drop_index("ix_nodes_account_key", table_name="nodes")
    op.drop_column("nodes", "key")  # SQLite 3.35+ drops it in place
