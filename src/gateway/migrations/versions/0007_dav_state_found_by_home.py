"""WebDAV locks and properties found by home and URL hash, not by the URL

A percent-encoded URL of a 4,096-byte path is longer than the 4,096 characters the
columns held and than a PostgreSQL index entry may be (a LOCK there was a 500). URLs
become text without an index; locks and properties are found by ``home`` (the
account's name, the URL's first component) and properties by the SHA-256 of their URL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 16:10:00.000000
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _home(url: str) -> str:
    return url.lstrip("/").split("/", 1)[0][:63]


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("dav_locks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home", sa.String(length=63), nullable=True))
        batch_op.drop_index("ix_dav_locks_root")
        batch_op.alter_column("root", type_=sa.Text(), existing_nullable=False)
    locks = connection.execute(sa.text("SELECT token, root FROM dav_locks")).all()
    for token, root in locks:
        connection.execute(
            sa.text("UPDATE dav_locks SET home = :home WHERE token = :token"),
            {"home": _home(root), "token": token},
        )
    with op.batch_alter_table("dav_locks", schema=None) as batch_op:
        batch_op.alter_column("home", existing_type=sa.String(length=63), nullable=False)
        batch_op.create_index("ix_dav_locks_home", ["home"], unique=False)

    op.create_table(
        "dav_properties_v2",
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("home", sa.String(length=63), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("url_key", "name", name="pk_dav_properties_v2"),
    )
    rows = connection.execute(sa.text("SELECT url, name, value FROM dav_properties")).all()
    for url, name, value in rows:
        connection.execute(
            sa.text(
                "INSERT INTO dav_properties_v2 (url_key, name, url, home, value)"
                " VALUES (:key, :name, :url, :home, :value)"
            ),
            {
                "key": hashlib.sha256(url.encode()).hexdigest(),
                "name": name,
                "url": url,
                "home": _home(url),
                "value": value,
            },
        )
    op.drop_table("dav_properties")
    op.rename_table("dav_properties_v2", "dav_properties")
    op.create_index("ix_dav_properties_home", "dav_properties", ["home"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("revision 0007 cannot be undone")
