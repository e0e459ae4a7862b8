"""Alembic migrations of the Orbit app's tables."""
