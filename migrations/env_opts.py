"""Options shared by the Alembic environment and the schema tests."""

from __future__ import annotations

# Alembic cannot compare indexes with DESC columns (it reports them removed and added on every
# run); they are checked by name in tests/db/test_schema.py instead.
DESC_INDEXES = frozenset({"ix_cases_worklist"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    return not (type_ == "index" and name in DESC_INDEXES)
