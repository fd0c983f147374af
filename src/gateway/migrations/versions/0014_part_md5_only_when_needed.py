"""a part's MD5 only when its writer needs it

A resumable upload's parts are hashed once, as the whole object: the MD5 of each part
is no longer computed by the store (which made every byte pass MD5 twice) and is kept
only for the writes that answer with it (an S3 part's ETag).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 21:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # upload_parts is referenced by no table, so SQLite's copy-and-rename of it in
    # batch mode cascades nowhere.
    with op.batch_alter_table("upload_parts", schema=None) as batch_op:
        batch_op.alter_column("md5", existing_type=sa.String(length=32), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE upload_parts SET md5 = '' WHERE md5 IS NULL")
    with op.batch_alter_table("upload_parts", schema=None) as batch_op:
        batch_op.alter_column("md5", existing_type=sa.String(length=32), nullable=False)
