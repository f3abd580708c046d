"""Failed logins in the database: the login throttle shared by every app replica.

``login_failures`` holds one row per failed login (the name as typed, the client address, when);
the app counts a (name, address)'s recent rows before checking a password, prunes old rows and
clears a pair's rows after a success. Before this the counts lived in each process.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_key", ["username", "address", "failed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_failed_at"), ["failed_at"], unique=False)


def downgrade() -> None:
    # Only recent failures live here (a minute's worth): dropping them loses nothing that matters.
    op.drop_table("login_failures")
