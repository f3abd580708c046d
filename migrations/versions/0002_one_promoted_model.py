"""At most one promoted model version, as a partial unique index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("status = 'promoted'")


def upgrade() -> None:
    op.create_index(
        "uq_model_versions_one_promoted",
        "model_versions",
        ["status"],
        unique=True,
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_model_versions_one_promoted", table_name="model_versions")
