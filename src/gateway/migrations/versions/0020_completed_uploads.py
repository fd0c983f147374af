"""completed uploads: multipart uploads completed lately, for a retried completion

A client that completes a multipart upload and loses the answer sends the same
CompleteMultipartUpload again; S3 answers it as the first time. ``completed_uploads``
keeps, for a day, what a completion was given (a digest of its part list) and what it
answered and made (ETag, checksum, the file), written in the commit's transaction.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    key_type = sa.String(length=4096).with_variant(
        sa.String(length=4096, collation="C"), "postgresql"
    )
    op.create_table(
        "completed_uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("path", key_type, nullable=False),
        sa.Column("parts_digest", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=48), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=True),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("completed_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_completed_uploads_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completed_uploads")),
    )
    op.create_index(
        op.f("ix_completed_uploads_account_id"), "completed_uploads", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_completed_uploads_completed_at"),
        "completed_uploads",
        ["completed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_completed_uploads_completed_at"), table_name="completed_uploads")
    op.drop_index(op.f("ix_completed_uploads_account_id"), table_name="completed_uploads")
    op.drop_table("completed_uploads")
