"""Submitted reviews are final: amendments reopen them; a chain can be judged unusable.

``chain_reviews.reopened_at`` marks a review its reviewer is amending (it does not count until
submitted again); ``answer_verdict`` gains ``unusable`` (a chain that cannot be verified).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "answer_verdict"  # named ck_chain_reviews_answer_verdict by the naming convention
_OLD = ("agree", "disagree")
_NEW = (*_OLD, "unusable")


def _in(values: tuple[str, ...]) -> str:
    return "answer_verdict IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("chain_reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f(f"ck_chain_reviews_{_CHECK}"), type_="check")
        batch_op.create_check_constraint(_CHECK, _in(_NEW))


def downgrade() -> None:
    bind = op.get_bind()
    unusable = bind.scalar(sa.text("SELECT count(*) FROM chain_reviews WHERE answer_verdict = 'unusable'"))
    if unusable:
        raise RuntimeError(
            f"{unusable} reviews mark a chain unusable, which revision 0002 cannot store; "
            "nothing was changed"
        )
    with op.batch_alter_table("chain_reviews", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_chain_reviews_{_CHECK}"), type_="check")
        batch_op.create_check_constraint(_CHECK, _in(_OLD))
        batch_op.drop_column("reopened_at")
