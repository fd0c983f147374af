"""upload sessions and file keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 13:17:16.278050
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=4096), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("region", sa.String(length=63), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("reservation_id", sa.String(length=32), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("claim_hash", sa.String(length=64), nullable=True),
        sa.Column("busy_until", sa.Float(), nullable=False),
        sa.Column("file_uid", sa.String(length=32), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_upload_sessions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_sessions")),
    )
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_sessions_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claim_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_nodes_account_id_is_dir_id"),
            ["account_id", "is_dir", "id"],
            unique=False,
        )

    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nodes_account_id_is_dir_id"))
        batch_op.drop_column("claim_hash")
        batch_op.drop_column("key_hash")

    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_sessions_expires_at"))

    op.drop_table("upload_sessions")
