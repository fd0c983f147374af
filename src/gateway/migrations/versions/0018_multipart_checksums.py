"""multipart checksums: an upload's checksum algorithm and type, each part's checksum

S3's CreateMultipartUpload may name a checksum algorithm (``x-amz-checksum-algorithm``)
and type (``COMPOSITE`` or ``FULL_OBJECT``); every part then has a checksum of that
algorithm (``upload_parts.checksum``, base64), from which completing derives the
object's.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "multipart_uploads", sa.Column("checksum_algorithm", sa.String(length=16), nullable=True)
    )
    op.add_column(
        "multipart_uploads", sa.Column("checksum_type", sa.String(length=16), nullable=True)
    )
    op.add_column("upload_parts", sa.Column("checksum", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35 and later).
    op.drop_column("upload_parts", "checksum")
    op.drop_column("multipart_uploads", "checksum_type")
    op.drop_column("multipart_uploads", "checksum_algorithm")
