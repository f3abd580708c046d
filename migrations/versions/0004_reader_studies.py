"""Reader studies: studies, their randomized assignments, and the append-only reads.

``reader_studies`` holds a study's frozen design; ``reader_study_assignments`` the randomization
(reader, case, chain shown, period, place, arm; ``served_at`` when the read was first shown);
``reader_study_reads`` one read per assignment, refused UPDATE and DELETE by triggers like the
audit log (see docs/READER_STUDIES.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Reads are evidence: neither a bug nor a hand-typed statement may rewrite or remove one.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER reader_study_reads_no_update BEFORE UPDATE ON reader_study_reads
       BEGIN SELECT RAISE(ABORT, 'reader_study_reads is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER reader_study_reads_no_delete BEFORE DELETE ON reader_study_reads
       BEGIN SELECT RAISE(ABORT, 'reader_study_reads is append-only: DELETE refused'); END""",
]
_PG_TRIGGERS = [
    """CREATE FUNCTION reader_study_reads_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'reader_study_reads is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER reader_study_reads_no_change BEFORE UPDATE OR DELETE ON reader_study_reads
       FOR EACH ROW EXECUTE FUNCTION reader_study_reads_refuse()""",
    """CREATE TRIGGER reader_study_reads_no_truncate BEFORE TRUNCATE ON reader_study_reads
       FOR EACH STATEMENT EXECUTE FUNCTION reader_study_reads_refuse()""",
]


def upgrade() -> None:
    op.create_table(
        "reader_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("washout_days", sa.Integer(), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_reader_studies_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_studies")),
        sa.UniqueConstraint("name", name=op.f("uq_reader_studies_name")),
    )
    op.create_table(
        "reader_study_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("served_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_reader_study_assignments_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["chain_id"], ["chains.id"], name=op.f("fk_reader_study_assignments_chain_id_chains"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["users.id"], name=op.f("fk_reader_study_assignments_reader_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["reader_studies.id"],
            name=op.f("fk_reader_study_assignments_study_id_reader_studies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_study_assignments")),
        sa.UniqueConstraint(
            "study_id", "reader_id", "case_id", "period",
            name=op.f("uq_reader_study_assignments_study_id_reader_id_case_id_period"),
        ),
        sa.UniqueConstraint(
            "study_id", "reader_id", "period", "sequence",
            name=op.f("uq_reader_study_assignments_study_id_reader_id_period_sequence"),
        ),
    )
    with op.batch_alter_table("reader_study_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reader_study_assignments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reader_study_assignments_reader_id"), ["reader_id"], unique=False)
    op.create_table(
        "reader_study_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("step_marks", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("confidence BETWEEN 1 AND 5", name=op.f("ck_reader_study_reads_confidence")),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["reader_study_assignments.id"],
            name=op.f("fk_reader_study_reads_assignment_id_reader_study_assignments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_study_reads")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_reader_study_reads_assignment_id")),
    )
    dialect = op.get_bind().dialect.name
    for ddl in _PG_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(ddl)


def downgrade() -> None:
    # Dropping a table drops its triggers (both databases); PostgreSQL keeps the function.
    op.drop_table("reader_study_reads")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS reader_study_reads_refuse()")
    with op.batch_alter_table("reader_study_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reader_study_assignments_reader_id"))
        batch_op.drop_index(batch_op.f("ix_reader_study_assignments_case_id"))
    op.drop_table("reader_study_assignments")
    op.drop_table("reader_studies")
