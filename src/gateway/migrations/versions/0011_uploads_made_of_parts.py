"""uploads made of parts: a multipart id per write, its parts recorded

Resumable uploads now keep their bytes as parts of a multipart upload of the region's
store (plus a tail object) instead of one pending file; sessions left unfinished by
an earlier version cannot continue, so they are expired here and recovery gives their
quota back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("multipart_id", sa.String(length=1024), nullable=True))
    op.create_table(
        "upload_parts",
        sa.Column("reservation_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("etag", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_upload_parts_reservation_id_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reservation_id", "number", name=op.f("pk_upload_parts")),
    )
    op.execute(
        "UPDATE reservations SET expires_at = 0 WHERE id IN "
        "(SELECT reservation_id FROM upload_sessions WHERE NOT completed)"
    )
    op.execute("UPDATE upload_sessions SET expires_at = 0 WHERE NOT completed")


def downgrade() -> None:
    op.drop_table("upload_parts")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_column("multipart_id")
