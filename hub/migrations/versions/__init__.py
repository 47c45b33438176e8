"""Alembic revisions, oldest first (this file only makes the folder ship as a package)."""
