"""part sizes: the sizes of the parts a multipart object was completed from

S3's GetObject and HeadObject with ``partNumber`` answer one part of a multipart
object: ``blobs.part_sizes`` keeps the parts' sizes (runs of equal sizes, ``size*count``
joined by commas) for the bytes a CompleteMultipartUpload made.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("blobs", sa.Column("part_sizes", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("blobs", "part_sizes")
