"""Engine, pragmas, session scopes and error translation for the metadata store."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.orm import Session

from modelyard.domain.errors import Conflict, ModelyardError, StorageUnavailable

_WRITE = "modelyard_write"


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<invalid url>"


class Database:
    """One engine per database URL; ``read()`` and ``write()`` give committed-or-rolled-back
    sessions. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so concurrent
    writers queue on the busy timeout instead of failing on a lock upgrade."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = sa.make_url(url)
        except exc.ArgumentError as e:
            raise StorageUnavailable(f"invalid database URL: {_redact(url)}") from e
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = sa.create_engine(url, **kwargs)
        except (ImportError, exc.ArgumentError, exc.NoSuchModuleError) as e:
            raise StorageUnavailable(f"cannot open database {_redact(url)}: {e}") from e
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})

    @property
    def display_url(self) -> str:
        return _redact(self.url)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._session(self.engine) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._session(self._write_engine) as session:
            yield session

    @contextlib.contextmanager
    def _session(self, bind: sa.Engine) -> Iterator[Session]:
        session = Session(bind=bind, expire_on_commit=False, autoflush=False)
        try:
            yield session
            session.commit()
        except exc.IntegrityError as e:
            session.rollback()
            raise Conflict(f"conflicting change: {first_line(e.orig)}") from e
        except exc.OperationalError as e:
            session.rollback()
            raise StorageUnavailable(f"database unavailable: {first_line(e.orig)}") from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextlib.contextmanager
    def migration_lock(self, lock_dir: Path) -> Iterator[None]:
        """Serialise schema upgrades between processes opening the same store."""
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(724061)"))
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(724061)"))
                    conn.commit()
            return
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / ".migrate.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()


def first_line(err: BaseException | None) -> str:
    return str(err).strip().splitlines()[0] if err is not None and str(err).strip() else "error"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA case_sensitive_like=ON")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def translate(e: Exception) -> ModelyardError:
    """Map a third-party database error raised outside a session scope."""
    if isinstance(e, exc.IntegrityError):
        return Conflict(f"conflicting change: {first_line(e.orig)}")
    return StorageUnavailable(f"database unavailable: {first_line(e)}")
