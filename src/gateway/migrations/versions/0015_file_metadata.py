"""a file's metadata beyond its type

The writer of a file's content may describe it (S3's ``x-amz-meta-*`` user metadata,
Cache-Control, Content-Disposition and the like): ``nodes.meta``, names to values as
JSON, null for none.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("nodes", sa.Column("meta", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column("nodes", "meta")  # SQLite 3.35+ drops it in place
