"""Alembic migrations of the review database (run them with ``chestx db upgrade``)."""
