"""Bring a store's schema to the newest Alembic revision, once per process and store."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from modelyard.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, lock_dir: Path) -> None:
    """Upgrade to head unless already there; safe when many processes open a new store."""
    if current_revision(db) == head_revision():
        return
    with db.migration_lock(lock_dir):
        if current_revision(db) == head_revision():
            return
        cfg = _config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
