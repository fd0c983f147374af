"""entry counts and detached trees

Each account counts its entries (files and folders; its root folder does not count),
so the number of entries can be limited like the bytes; the count starts from the
nodes already stored. Large copies and deletes work on trees detached from the
namespace, recorded in ``detached_trees`` so that recovery can finish them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch rebuild of accounts on SQLite would drop the table,
    # and with foreign keys on that deletes every row referring to it.
    op.add_column(
        "accounts", sa.Column("entry_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.execute(
        sa.text(
            "UPDATE accounts SET entry_count = (SELECT count(*) FROM nodes"
            " WHERE nodes.account_id = accounts.id AND nodes.parent_id IS NOT NULL)"
        )
    )
    op.create_table(
        "detached_trees",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_detached_trees_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_detached_trees")),
    )


def downgrade() -> None:
    op.drop_table("detached_trees")
    op.drop_column("accounts", "entry_count")  # SQLite 3.35+ drops it in place
