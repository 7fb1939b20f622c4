"""The schema comes from Alembic migrations, and they match the tables in code."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from modelyard import Settings
from modelyard.store import migrate
from modelyard.store.database import Database
from modelyard.store.tables import Base
from modelyard.store.unit import Store


def test_head_constant_matches_the_migrations_folder() -> None:
    assert migrate.head_revision() == migrate.HEAD


@pytest.mark.empty_store
def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db, settings.resolved_home)
        assert migrate.current_revision(db) == migrate.HEAD
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        migrate.upgrade(db, settings.resolved_home)  # idempotent
        with Store(db).read() as tx:
            assert [e.name for e in tx.registry.list_environments()] == ["production", "sandbox"]
    finally:
        db.dispose()
