"""webdav locks and properties

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:39:11.659936
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dav_locks",
        sa.Column("token", sa.String(length=100), nullable=False),
        sa.Column("root", sa.String(length=4096), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("expire", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_dav_locks")),
    )
    with op.batch_alter_table("dav_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dav_locks_root"), ["root"], unique=False)

    op.create_table(
        "dav_properties",
        sa.Column("url", sa.String(length=4096), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("url", "name", name=op.f("pk_dav_properties")),
    )


def downgrade() -> None:
    op.drop_table("dav_properties")
    with op.batch_alter_table("dav_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dav_locks_root"))

    op.drop_table("dav_locks")
