"""Bring a store's schema to the newest Alembic revision, once per process and store.

Opening an up-to-date store reads one row (``alembic_version``) and imports no Alembic;
``HEAD`` names the newest revision (a test keeps it equal to the migrations folder's).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc

from modelyard.domain.errors import StorageUnavailable
from modelyard.store.database import Database, first_line

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0015"


def head_revision() -> str | None:
    """The newest revision in the migrations folder (reads every migration script)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except (exc.OperationalError, exc.ProgrammingError):  # no table yet: a new store
        return None


def upgrade(db: Database, lock_dir: Path) -> None:
    """Upgrade to head unless already there; safe when many processes open a new store.
    A database that cannot be reached is one line (``StorageUnavailable``), not the
    driver's traceback."""
    try:
        with db.engine.connect():
            pass
    except exc.DBAPIError as e:
        raise StorageUnavailable(
            f"cannot reach the database {db.display_url}: {first_line(e.orig)}"
        ) from None
    if current_revision(db) == HEAD:
        return
    from alembic import command
    from alembic.config import Config

    with db.migration_lock(lock_dir):
        if current_revision(db) == HEAD:
            return
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
