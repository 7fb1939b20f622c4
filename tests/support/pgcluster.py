"""A throwaway PostgreSQL cluster for the test session.

Uses Debian's server binaries (``/usr/lib/postgresql/<ver>/bin``, highest version first,
else ``initdb`` on ``PATH``); ``make system-deps`` installs them. The cluster lives in a
fresh temporary directory, listens on a free loopback port (and a Unix socket in that
directory), trusts every local connection and trades durability for speed. ``stop()``
kills it and removes the directory.

PostgreSQL refuses to run as root: under root the directory is handed to the
``postgres`` system user and the server binaries run through ``runuser -u postgres``.

Run ``python tests/support/pgcluster.py`` to get a cluster for manual work; Ctrl-C stops it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SPEED_SETTINGS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (highest Debian version first)."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run `make system-deps` "
        "to install Debian's postgresql package"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One PostgreSQL server in a temporary directory; ``start()``, use ``url``, ``stop()``."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.dir: Path | None = None
        self.port: int | None = None
        self._as_root = os.geteuid() == 0

    # -- process control ---------------------------------------------------------------
    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log = ""
            if self.dir is not None and (self.dir / "postgres.log").exists():
                log = (self.dir / "postgres.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(
                f"{tool} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout}"
                + (f"\n--- server log ---\n{log}" if log else "")
            )

    def start(self) -> None:
        if self.dir is not None:
            raise RuntimeError("cluster already started")
        base = Path(tempfile.mkdtemp(prefix="modelyard-pg-"))
        self.dir = base
        try:
            if self._as_root:
                pg = pwd.getpwnam("postgres")
                os.chown(base, pg.pw_uid, pg.pw_gid)
            data = base / "data"
            self._run(
                "initdb", "-D", str(data), "--auth=trust", "-U", "postgres",
                "--no-sync", "-E", "UTF8",
            )  # fmt: skip
            for attempt in range(3):
                # Another process may take the port between choosing and binding: retry.
                self.port = free_port()
                options = f"-k {base} -h 127.0.0.1 -p {self.port} -F {SPEED_SETTINGS}"
                try:
                    self._run(
                        "pg_ctl", "-w", "-D", str(data), "-l", str(base / "postgres.log"),
                        "-o", options, "start",
                    )  # fmt: skip
                    break
                except RuntimeError as e:
                    if attempt == 2 or "could not bind" not in str(e):
                        raise
        except BaseException:
            self._cleanup()
            raise

    def stop(self) -> None:
        """Stop the server at once (no checkpoint) and remove its directory."""
        if self.dir is None:
            return
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                with contextlib.suppress(OSError, ValueError):
                    self.thaw()  # a frozen server cannot act on the stop signal
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            self._cleanup()

    # -- faults ------------------------------------------------------------------------
    def _processes(self) -> list[int]:
        """The postmaster and its children."""
        assert self.dir is not None
        postmaster = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        """Stop every server process (SIGSTOP): connections stay open, nothing answers."""
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._processes():
            os.kill(pid, signal.SIGCONT)

    def halt(self) -> None:
        """Stop the server, keeping its data (``resume()`` starts it on the same port)."""
        assert self.dir is not None
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        assert self.dir is not None
        options = f"-k {self.dir} -h 127.0.0.1 -p {self.port} -F {SPEED_SETTINGS}"
        self._run(
            "pg_ctl", "-w", "-D", str(self.dir / "data"), "-l", str(self.dir / "postgres.log"),
            "-o", options, "start",
        )  # fmt: skip

    def _cleanup(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        self.port = None

    # -- connections -------------------------------------------------------------------
    def url_for(self, database: str) -> str:
        if self.port is None:
            raise RuntimeError("cluster not started")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database."""
        return self.url_for("postgres")

    def _execute(self, sql: str) -> None:
        import psycopg

        if self.port is None:
            raise RuntimeError("cluster not started")
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    @staticmethod
    def _check_name(name: str) -> str:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"invalid database name {name!r}")
        return name

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        self._execute(f'CREATE DATABASE "{self._check_name(name)}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting anyone still connected to it."""
        self._execute(f'DROP DATABASE IF EXISTS "{self._check_name(name)}" WITH (FORCE)')


@contextlib.contextmanager
def running_cluster() -> Iterator[PgCluster]:
    """A started cluster, always stopped (and its directory removed) on exit."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def main() -> None:
    import time

    with running_cluster() as cluster:
        print(cluster.url, flush=True)
        print("Ctrl-C stops the cluster and removes its data.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
