"""s3 access keys: per-account credentials for the S3 front, the secret sealed

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "s3_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("access_key_id", sa.String(length=20), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_s3_keys_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_s3_keys")),
        sa.UniqueConstraint("access_key_id", name=op.f("uq_s3_keys_access_key_id")),
    )
    op.create_index(op.f("ix_s3_keys_account_id"), "s3_keys", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_s3_keys_account_id"), table_name="s3_keys")
    op.drop_table("s3_keys")
