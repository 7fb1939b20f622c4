"""Metadata persistence: SQLAlchemy tables, migrations, sessions and queries.

ORM rows never leave this package; callers get ``modelyard.domain`` entities.
"""
