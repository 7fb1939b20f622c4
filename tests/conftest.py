"""Shared fixtures: a fresh home per test, on SQLite and on a real PostgreSQL server.

The PostgreSQL cluster is started once per test session by the controlling pytest
process (workers inherit its URL through ``MODELYARD_TEST_PG_URL``) and stopped at exit.
"""

from __future__ import annotations

import os

# One native thread per test process, set before numpy and scikit-learn load: two xdist
# workers on two cores each spreading OpenMP's spin-waiting threads over every core
# thrash (measured on 2 cores: the promotions fixture 1.6 s alone, up to 49 s in the suite).
# Servers the tests start inherit it.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
# Tests send bad credentials on purpose, hundreds per app (every route, tests/api): the
# brake on guessing would answer them 429. Its own test sets a limit (tests/api/test_brake.py).
os.environ.setdefault("MODELYARD_AUTH_FAILURES_PER_MINUTE", "1000000")
# the webhook receivers of the tests listen on loopback, which a server refuses otherwise
os.environ.setdefault("MODELYARD_WEBHOOK_ALLOW", "127.0.0.0/8")

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from modelyard.flavors.package import write_manifest
from modelyard.services.container import Services
from modelyard.store import migrate
from modelyard.store.database import Database
from tests.support.pgcluster import PgCluster
from tests.support.receiver import Receiver
from tests.support.s3server import S3Server

PG_ENV = "MODELYARD_TEST_PG_URL"
CLUSTER = pytest.StashKey[PgCluster]()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or os.environ.get(PG_ENV):
        return
    cluster = PgCluster()
    cluster.start()
    config.stash[CLUSTER] = cluster
    os.environ[PG_ENV] = cluster.url


def pytest_unconfigure(config: pytest.Config) -> None:
    cluster = config.stash.get(CLUSTER, None)
    if cluster is not None:
        cluster.stop()
        del config.stash[CLUSTER]
        os.environ.pop(PG_ENV, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (tens of seconds each) run first: two workers then end
    together instead of one running a long test alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _psycopg_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    with psycopg.connect(_psycopg_url(os.environ[PG_ENV]), autocommit=True) as conn:
        conn.execute(sql)


def _create_database(template: str | None = None) -> str:
    """A new database on the session's server (a copy of ``template``); its name."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_url(name: str) -> str:
    return sa.make_url(os.environ[PG_ENV]).set(database=name).render_as_string(False)


def _migrate(url: str, lock_dir: Path) -> None:
    db = Database(url)
    try:
        migrate.upgrade(db, lock_dir)
    finally:
        db.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server."""
    name = _create_database()
    yield _database_url(name)
    _drop_database(name)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A local S3-compatible server (moto) on 127.0.0.1 for the test session."""
    server = S3Server()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# A store migrated to head once per test process and backend, copied for each test
# (migrating every test's store anew cost 0.1-0.3 s a test, a minute of the suite).
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated to head."""
    lock_dir = tmp_path_factory.getbasetemp()
    template = lock_dir / "template.db"
    _migrate(f"sqlite:///{template}", lock_dir)
    return template


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to head."""
    name = _create_database()
    _migrate(_database_url(name), tmp_path_factory.getbasetemp())
    yield name
    _drop_database(name)


@pytest.fixture
def settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """Settings of a fresh home; the metadata store is SQLite or PostgreSQL per ``backend``,
    migrated to head (empty, for tests marked ``empty_store``)."""
    home = tmp_path / "home"
    if request.node.get_closest_marker("empty_store"):
        db_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
        yield Settings(home=home, db_url=db_url, actor="alice")
        return
    if backend == "sqlite":
        home.mkdir(parents=True)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), home / "modelyard.db")
        yield Settings(home=home, actor="alice")
        return
    name = _create_database(template=request.getfixturevalue("pg_template"))
    yield Settings(home=home, db_url=_database_url(name), actor="alice")
    _drop_database(name)


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with Client(settings=settings) as c:
        yield c


@pytest.fixture(params=["embedded", pytest.param("remote", marks=pytest.mark.remote)])
def yard(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Client]:
    """The same ``Client`` API embedded, or against a live server on loopback (as user
    ``alice``, an installation admin, so results read the same both ways)."""
    if request.param == "embedded":
        with Client(settings=settings) as c:
            yield c
        return
    from pydantic import SecretStr

    from tests.support.live import live_server

    with Client(settings=settings) as c:
        c.create_user("alice", is_admin=True)
        secret = c.create_token("tests", user="alice").secret
    with live_server(settings) as url:
        remote = Settings(home=tmp_path / "client-home", url=url, token=SecretStr(secret))
        with Client(settings=remote) as c:
            yield c


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The installation's shared services, for tests of rules at the service layer."""
    found = Services.open(settings)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[Client]:
    with Client(settings=Settings(home=tmp_path / "home", actor="alice")) as c:
        yield c


@pytest.fixture(scope="session")
def payments_frame() -> pd.DataFrame:
    """A small, learnable table of invoices with a three-way label."""
    rng = np.random.default_rng(7)
    n = 300
    amount = rng.gamma(2.0, 500.0, n)
    days = rng.integers(10, 90, n)
    history = rng.uniform(0, 1, n)
    score = history * 2 - amount / 2000 + rng.normal(0, 0.3, n)
    label = np.where(score > 0.8, "on_time", np.where(score > 0.2, "late", "very_late"))
    return pd.DataFrame(
        {"amount": amount, "terms_days": days, "late_share": history, "label": label}
    )


@pytest.fixture(scope="session")
def trained_model(payments_frame: pd.DataFrame) -> LogisticRegression:
    x = payments_frame.drop(columns="label")
    return LogisticRegression(max_iter=500).fit(x, payments_frame["label"])


@pytest.fixture
def make_package(tmp_path: Path) -> Callable[..., Path]:
    """Build a package folder (python flavor, ``score.py``) with ``size`` bytes of payload."""
    counter = iter(range(1_000_000))

    def make(size: int = 1024, *, seed: int | None = None) -> Path:
        folder = tmp_path / f"pkg-{next(counter)}"
        folder.mkdir()
        (folder / "score.py").write_text(
            "def init():\n    pass\n\n\ndef run(data):\n    return [0] * len(data)\n"
        )
        rng = np.random.default_rng(seed)
        (folder / "weights.bin").write_bytes(rng.bytes(size))
        write_manifest(folder, flavor="python", entrypoint="score.py")
        return folder

    return make


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback, stopped after the test."""
    r = Receiver()
    r.up()
    try:
        yield r
    finally:
        r.down()
