"""no WebDAV locks or dead properties outside an account's home

The root of the WebDAV tree is nobody's: a lock or dead property there reached into
every account (a Depth-infinity lock on ``/`` made every other account's writes 423).
Such rows can no longer be made; this removes those stored before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A home is /<username>: a root of one component that names an account, or below
    # one. Anything else (the root itself, names of no account) is removed.
    op.execute(
        sa.text(
            "DELETE FROM dav_locks WHERE root NOT IN (SELECT '/' || username FROM accounts)"
            " AND NOT EXISTS (SELECT 1 FROM accounts"
            " WHERE substr(dav_locks.root, 1, length(username) + 2) = '/' || username || '/')"
        )
    )
    op.execute(
        sa.text(
            "DELETE FROM dav_properties WHERE url NOT IN (SELECT '/' || username FROM accounts)"
            " AND NOT EXISTS (SELECT 1 FROM accounts"
            " WHERE substr(dav_properties.url, 1, length(username) + 2) = '/' || username || '/')"
        )
    )


def downgrade() -> None:
    pass
