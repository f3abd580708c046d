"""Active learning on steps (issue 17): PRM scores per step, why each case is where it is, and
settings every replica shares.

``app_settings`` holds what an admin changes at run time (the worklist's prioritization strategy,
step hints for everyone); ``user_preferences`` a reviewer's own step-hints toggle;
``step_scores`` the PRM's P(correct) of each open model step; ``case_priorities`` the strategy,
score and reason behind each case's ``cases.priority`` (and the priority it had by hand).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STRATEGIES = ("fifo", "lowest", "uncertain", "disagreement")


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("step_hints", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_preferences")),
    )
    op.create_table(
        "step_scores",
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("p_correct", sa.Float(), nullable=False),
        sa.Column("prm", sa.String(length=128), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_step_scores_step_id_steps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("step_id", name=op.f("pk_step_scores")),
    )
    op.create_table(
        "case_priorities",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column(
            "strategy",
            sa.Enum(
                *STRATEGIES, name="priority_strategy", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("prm", sa.String(length=128), nullable=True),
        sa.Column("base_priority", sa.Integer(), nullable=False),
        sa.Column("written_priority", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_priorities_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["chain_id"], ["chains.id"], name=op.f("fk_case_priorities_chain_id_chains"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_priorities")),
    )
    with op.batch_alter_table("case_priorities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_priorities_chain_id"), ["chain_id"], unique=False)


def downgrade() -> None:
    # Scores and reasons are recomputed by `chestx prioritize`; the cases keep their priorities.
    with op.batch_alter_table("case_priorities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_priorities_chain_id"))
    op.drop_table("case_priorities")
    op.drop_table("step_scores")
    op.drop_table("user_preferences")
    op.drop_table("app_settings")
