"""client multipart uploads: the uploads, when each part was stored, a blob's S3 ETag

S3's CreateMultipartUpload opens an upload whose parts a client sends, in any order,
before completing it: ``multipart_uploads`` records each (its reservation holds the
parts), ``upload_parts.stored_at`` answers ListParts, and ``blobs.multipart_etag`` keeps
the ETag an object assembled from parts has on S3 (``<md5 of the part MD5s>-<N>``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("blobs", sa.Column("multipart_etag", sa.String(length=48), nullable=True))
    op.add_column("upload_parts", sa.Column("stored_at", sa.Float(), nullable=True))
    key_type = sa.String(length=4096).with_variant(
        sa.String(length=4096, collation="C"), "postgresql"
    )
    op.create_table(
        "multipart_uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("path", key_type, nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("reservation_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("busy_until", sa.Float(), nullable=False),
        sa.Column("assembled", sa.String(length=48), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_multipart_uploads_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_multipart_uploads_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_multipart_uploads")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_multipart_uploads_reservation_id")),
    )
    op.create_index(
        op.f("ix_multipart_uploads_account_id"), "multipart_uploads", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_multipart_uploads_account_id"), table_name="multipart_uploads")
    op.drop_table("multipart_uploads")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35 and later): a batch copy of blobs
    # would drop a table that nodes refer to.
    op.drop_column("upload_parts", "stored_at")
    op.drop_column("blobs", "multipart_etag")
