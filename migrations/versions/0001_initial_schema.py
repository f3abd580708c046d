"""Initial schema: the review database and the insert-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:43:38.954541
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is insert-only. Triggers (not just application code) refuse UPDATE and DELETE,
# so neither a bug nor a hand-typed SQL statement can rewrite history.
#
# Step verdicts, the hottest write, are audited by a trigger too: the verdict and its audit row
# are one INSERT statement from the application's side. The actor is the reviewer.
_VERDICT_FIELDS = (
    "id",
    "step_id",
    "reviewer_id",
    "verdict",
    "corrected_text",
    "comment",
    "request_id",
    "created_at",
)
_VERDICT_JSON = ", ".join(f"'{f}', NEW.{f}" for f in _VERDICT_FIELDS)
_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER step_verdicts_audit AFTER INSERT ON step_verdicts BEGIN
       INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after)
       VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), 'user:' || NEW.reviewer_id, 'insert', 'step_verdicts',
               CAST(NEW.id AS TEXT), NULL, json_object({_VERDICT_JSON})); END""",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
]
_PG_TRIGGERS = [
    f"""CREATE FUNCTION step_verdicts_audit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after)
         VALUES (now() AT TIME ZONE 'UTC', 'user:' || NEW.reviewer_id, 'insert', 'step_verdicts',
                 NEW.id::text, NULL, json_build_object({_VERDICT_JSON}));
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER step_verdicts_audit AFTER INSERT ON step_verdicts
       FOR EACH ROW EXECUTE FUNCTION step_verdicts_audit()""",
    """CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()""",
]


def _create_audit_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for ddl in _PG_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(ddl)


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse()")
        op.execute("DROP TRIGGER IF EXISTS step_verdicts_audit ON step_verdicts")
        op.execute("DROP FUNCTION IF EXISTS step_verdicts_audit()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute("DROP TRIGGER IF EXISTS step_verdicts_audit")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.String(length=255), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("patient_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("study_pseudonym", sa.String(length=64), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=True),
        sa.Column("view", sa.String(length=32), nullable=True),
        sa.Column("body_part", sa.String(length=64), nullable=True),
        sa.Column("acquisition_date", sa.Date(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bits_stored", sa.Integer(), nullable=True),
        sa.Column("photometric", sa.String(length=16), nullable=True),
        sa.Column("window_presets", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
        sa.UniqueConstraint("image_sha256", name=op.f("uq_studies_image_sha256")),
    )
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_studies_patient_pseudonym"), ["patient_pseudonym"], unique=False)

    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "sft",
                "prm",
                "rl",
                "eval",
                "loop",
                name="run_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="run_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("parent_run_id", sa.Integer(), nullable=True),
        sa.Column("base_model_version_id", sa.Integer(), nullable=True),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("log_path", sa.String(length=512), nullable=True),
        sa.Column("checkpoint", sa.String(length=512), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_run_id"], ["training_runs.id"], name=op.f("fk_training_runs_parent_run_id_training_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "reviewer",
                "educator",
                "researcher",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("prior_study_id", sa.Integer(), nullable=True),
        sa.Column(
            "task_type",
            sa.Enum(
                "binary",
                "single_choice",
                "multiple_choice",
                "open_findings",
                "temporal",
                name="task_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("reference_answer", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "verified",
                "archived",
                name="case_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("required_reviews", sa.Integer(), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prior_study_id"],
            ["studies.id"],
            name=op.f("fk_cases_prior_study_id_studies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_cases_study_id_studies"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("external_id", name=op.f("uq_cases_external_id")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_worklist", ["status", sa.desc("priority"), "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_study_id"), ["study_id"], unique=False)

    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("base_model", sa.String(length=512), nullable=False),
        sa.Column("adapter_path", sa.String(length=512), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "candidate",
                "promoted",
                "retired",
                "rejected",
                name="model_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("promoted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["model_versions.id"], name=op.f("fk_model_versions_parent_id_model_versions")
        ),
        sa.ForeignKeyConstraint(
            ["training_run_id"],
            ["training_runs.id"],
            name=op.f("fk_model_versions_training_run_id_training_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("name", name=op.f("uq_model_versions_name")),
    )
    op.create_table(
        "case_locks",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_locks_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_case_locks_reviewer_id_users")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_locks")),
    )
    with op.batch_alter_table("case_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_locks_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_locks_reviewer_id"), ["reviewer_id"], unique=False)

    op.create_table(
        "chains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "model",
                "endpoint",
                "report",
                "imported",
                "demo",
                name="chain_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source_detail", sa.String(length=512), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("raw_output", sa.Text(), nullable=False),
        sa.Column("final_answer", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "complete",
                "incomplete",
                "malformed",
                name="chain_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("generation_params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_chains_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_chains_model_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chains")),
    )
    with op.batch_alter_table("chains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chains_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chains_model_version_id"), ["model_version_id"], unique=False)

    op.create_table(
        "chain_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column(
            "answer_verdict",
            sa.Enum(
                "agree",
                "disagree",
                name="answer_verdict",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("corrected_answer", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("time_spent_s", sa.Float(), nullable=False),
        sa.Column("is_adjudication", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chain_id"], ["chains.id"], name=op.f("fk_chain_reviews_chain_id_chains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_chain_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_reviews")),
        sa.UniqueConstraint("chain_id", "reviewer_id", name=op.f("uq_chain_reviews_chain_id_reviewer_id")),
    )
    with op.batch_alter_table("chain_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_reviews_chain_id"), ["chain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_reviews_reviewer_id"), ["reviewer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_reviews_submitted_at"), ["submitted_at"], unique=False)

    op.create_table(
        "steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("model", "added", name="step_kind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("inserted_after", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_steps_author_id_users")),
        sa.ForeignKeyConstraint(
            ["chain_id"], ["chains.id"], name=op.f("fk_steps_chain_id_chains"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("chain_id", "position", name=op.f("uq_steps_chain_id_position")),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steps_chain_id"), ["chain_id"], unique=False)

    op.create_table(
        "step_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum(
                "accept",
                "correct",
                "reject",
                name="verdict",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("corrected_text", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_step_verdicts_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_step_verdicts_step_id_steps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_verdicts")),
        sa.UniqueConstraint("request_id", name=op.f("uq_step_verdicts_request_id")),
    )
    with op.batch_alter_table("step_verdicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_verdicts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_step_verdicts_reviewer_id"), ["reviewer_id"], unique=False)
        batch_op.create_index(
            "ix_step_verdicts_step_reviewer", ["step_id", "reviewer_id", "id"], unique=False
        )

    _create_audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table("step_verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_step_verdicts_step_reviewer")
        batch_op.drop_index(batch_op.f("ix_step_verdicts_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_step_verdicts_created_at"))

    op.drop_table("step_verdicts")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_chain_id"))

    op.drop_table("steps")
    with op.batch_alter_table("chain_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_reviews_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_chain_reviews_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_chain_reviews_chain_id"))

    op.drop_table("chain_reviews")
    with op.batch_alter_table("chains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chains_model_version_id"))
        batch_op.drop_index(batch_op.f("ix_chains_case_id"))

    op.drop_table("chains")
    with op.batch_alter_table("case_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_locks_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_case_locks_expires_at"))

    op.drop_table("case_locks")
    op.drop_table("model_versions")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))

    op.drop_table("login_sessions")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_study_id"))
        batch_op.drop_index("ix_cases_worklist")

    op.drop_table("cases")
    op.drop_table("users")
    op.drop_table("training_runs")
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_studies_patient_pseudonym"))

    op.drop_table("studies")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
