"""Imports: each import of images as a row the admin page lists, and the instances already imported.

``imports`` holds one import (files, DICOMweb, or one association to the DICOM receiver): its kind,
its source without PHI, its status, its counts and the items skipped or rejected with the reason.
``import_instances`` maps a keyed hash of a DICOM instance's SOP Instance UID to the study it
became, so a re-run of a DICOMweb import skips it without retrieving it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("import_kind", "files", "dicomweb", "receiver"), nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("status", _enum("import_status", "running", "done", "failed"), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("recognised", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imports_status"), ["status"], unique=False)
    op.create_table(
        "import_instances",
        sa.Column("instance_key", sa.String(length=64), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
            name=op.f("fk_import_instances_import_id_imports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_import_instances_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_key", name=op.f("pk_import_instances")),
    )
    with op.batch_alter_table("import_instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_instances_study_id"), ["study_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_instances_study_id"))
    op.drop_table("import_instances")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imports_status"))
    op.drop_table("imports")
