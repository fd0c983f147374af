"""part checksums: the checksums of the parts a multipart object was completed from

S3's GetObject and HeadObject of one part (``partNumber``) in checksum mode answer
that part's own checksum for an object with a ``COMPOSITE`` checksum:
``blobs.part_checksums`` keeps the parts' checksums (base64, joined by commas, in
part order) for the bytes a CompleteMultipartUpload made from parts that had one.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("blobs", sa.Column("part_checksums", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("blobs", "part_checksums")
