"""Alembic migrations of the job engine's tables."""
