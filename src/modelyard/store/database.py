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
from modelyard.store.watch import Deadline, Outage

_WRITE = "modelyard_write"


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<invalid url>"


class Database:
    """One engine per database URL; ``read()`` and ``write()`` give committed-or-rolled-back
    sessions. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so concurrent
    writers queue on the busy timeout instead of failing on a lock upgrade.

    On PostgreSQL, connecting gives up after ``timeout`` seconds (at most 5) and a
    statement after ``timeout`` seconds, also when the server is frozen rather than down
    (``Deadline``); ``outage`` tells whether the last call reached the database."""

    def __init__(self, url: str, *, echo: bool = False, timeout: float = 10.0) -> None:
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
        elif self.dialect == "postgresql":
            kwargs["connect_args"] = {
                "connect_timeout": max(1, round(min(timeout, 5))),
                "options": f"-c statement_timeout={round(timeout * 1000)}",
            }
            kwargs["pool_timeout"] = timeout  # waiting for a pooled connection, too
        else:
            kwargs["pool_pre_ping"] = True
        self.outage = Outage(_redact(url))
        self._deadline: Deadline | None = None
        try:
            self.engine = sa.create_engine(url, **kwargs)
        except (ImportError, exc.ArgumentError, exc.NoSuchModuleError) as e:
            raise StorageUnavailable(f"cannot open database {_redact(url)}: {e}") from e
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        elif self.dialect == "postgresql":
            self._deadline = _watch_statements(self.engine, Deadline(timeout))
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
        except (exc.OperationalError, exc.TimeoutError, exc.DisconnectionError) as e:
            # unreachable, frozen past the deadline, or every pooled connection busy
            why = first_line(getattr(e, "orig", None) or e)
            # a rollback on a dead connection can fail too (DBAPIError, or PendingRollbackError
            # when the connection was invalidated mid-transaction): the outage is the answer
            with contextlib.suppress(exc.SQLAlchemyError):
                session.rollback()
            self.outage.failed(why)
            raise StorageUnavailable(f"database unavailable: {why}") from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        self.outage.answered()

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
        if self._deadline is not None:
            self._deadline.stop()


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


def _watch_statements(engine: sa.Engine, deadline: Deadline) -> Deadline:
    """Every statement, commit and rollback on ``engine`` runs under ``deadline``, and a
    connection taken from the pool is pinged under it first (the engine's own pre-ping
    would wait forever on a frozen server)."""

    def arm(dbapi_connection: Any) -> None:
        deadline.arm(id(dbapi_connection), dbapi_connection.pgconn.socket)

    def disarm(dbapi_connection: Any) -> None:
        deadline.disarm(id(dbapi_connection))

    def before(conn: sa.Connection, *_: Any) -> None:
        arm(conn.connection.dbapi_connection)

    def after(conn: sa.Connection, *_: Any) -> None:
        disarm(conn.connection.dbapi_connection)

    def failed(context: sa.engine.ExceptionContext) -> None:
        if context.connection is not None and not context.connection.closed:
            with contextlib.suppress(Exception):
                disarm(context.connection.connection.dbapi_connection)

    def ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        arm(dbapi_connection)
        try:
            with dbapi_connection.cursor() as cur:
                cur.execute("SELECT 1")
        except Exception as e:  # the pool discards it and connects anew (3 attempts)
            raise exc.DisconnectionError(first_line(e)) from e
        finally:
            disarm(dbapi_connection)

    def resetting(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        arm(dbapi_connection)  # the rollback of a connection going back to the pool

    def returned(dbapi_connection: Any, _record: Any) -> None:
        disarm(dbapi_connection)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "commit", before)
    event.listen(engine, "rollback", before)
    event.listen(engine, "handle_error", failed)
    event.listen(engine.pool, "checkout", ping)
    event.listen(engine.pool, "reset", resetting)
    event.listen(engine.pool, "checkin", returned)
    return deadline


def translate(e: Exception) -> ModelyardError:
    """Map a third-party database error raised outside a session scope."""
    if isinstance(e, exc.IntegrityError):
        return Conflict(f"conflicting change: {first_line(e.orig)}")
    return StorageUnavailable(f"database unavailable: {first_line(e)}")
