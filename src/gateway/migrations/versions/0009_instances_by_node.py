"""instances name their node, not a host name

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 17:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Instances of the old version belong to no node: they die by their lease, and
    # their reservations are reclaimed then, like any dead instance's.
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("hostname")
        batch_op.add_column(
            sa.Column("node", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    raise NotImplementedError("revision 0009 cannot be undone")
