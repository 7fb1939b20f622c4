"""Two installations side by side: one embedded, one behind a live server on loopback,
each used through the same ``Client`` API by the same admin user ``alice``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from tests.support.live import live_server


@dataclass(frozen=True)
class World:
    """What the cases share: a trained model, its training frame and a dataset file."""

    model: LogisticRegression
    frame: pd.DataFrame  # a, b (features) and y (label)
    dataset: Path  # the same rows as CSV

    @property
    def jobs(self) -> Path:
        """Where batch jobs of both installations may read and write (``features.csv``)."""
        return self.dataset.parent

    @property
    def features(self) -> pd.DataFrame:
        return self.frame[["a", "b"]]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"a": rng.normal(0, 1, 200), "b": rng.normal(5, 2, 200)})
    frame["y"] = np.where(frame["a"] + rng.normal(0, 0.5, 200) > 0, "late", "on_time")
    model = LogisticRegression().fit(frame[["a", "b"]], frame["y"])
    path = tmp_path_factory.mktemp("world") / "invoices.csv"
    frame.to_csv(path, index=False)
    frame[["a", "b"]].head(20).to_csv(path.parent / "features.csv", index=False)
    return World(model, frame, path)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[tuple[Client, Client]]:
    """(embedded, remote): two fresh installations, the second behind a real server."""
    root = tmp_path_factory.mktemp("pair")
    jobs = str(world.jobs)
    embedded = Client(settings=Settings(home=root / "embedded", actor="alice", job_roots=jobs))
    server = Settings(home=root / "server", actor="alice", job_roots=jobs)
    with Client(settings=server) as admin:
        admin.create_user("alice", is_admin=True)
        secret = admin.create_token("contract", user="alice").secret
    try:
        with live_server(server) as url:
            remote = Settings(home=root / "client", url=url, token=SecretStr(secret))
            with Client(settings=remote) as client:
                yield embedded, client
    finally:
        embedded.close()
