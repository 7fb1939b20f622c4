"""A migrated, empty store on SQLite and on PostgreSQL, for the repositories' own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelyard import Settings
from modelyard.store import migrate
from modelyard.store.database import Database
from modelyard.store.unit import Store


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db, settings.resolved_home)
        yield Store(db)
    finally:
        db.dispose()
