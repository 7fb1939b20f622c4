"""Waiting for a rollout: after an update, ``wait_deployment`` returns once every worker of
a real two-worker server serves the new revision, so the first request pinned to the new
version succeeds; a revision that fails to load in the workers is reported at once."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard import Client, InvalidInput, ModelyardWarning, NotReady, Settings
from tests.serving.conftest import ADMIN_TOKEN, records
from tests.support.live import EXE, ServerProcess, server_process

# Loads where it is registered (the tests' own package is importable there), fails on the
# server, whose model workers see only the installed packages.
FAILING = """def init():
    import tests.serving  # noqa: F401


def run(data):
    return [0] * len(data)
"""


@pytest.fixture
def server(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> Iterator[tuple[ServerProcess, Settings, str]]:
    settings = Settings(home=tmp_path / "home", actor="alice")
    x = invoice_frame.drop(columns="label")
    failing = tmp_path / "failing"
    failing.mkdir()
    (failing / "score.py").write_text(FAILING)
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=x)
        c.log_model(models[1], "payments", input_example=x)
        with pytest.warns(ModelyardWarning, match="without a signature"):
            c.register("payments", failing)
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    # a slow poll: without waiting, a request right after an update meets the old revision
    env = {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN, "MODELYARD_POLL_SECONDS": "1.5"}
    with server_process(settings.home, env=env) as running:
        yield running, settings, key
        err = running.stop()
    assert "Traceback" not in err, err[-3000:]


def pinned(url: str, key: str, variant: str, body: dict[str, object], n: int) -> list[int]:
    headers = {"Authorization": f"Bearer {key}", "modelyard-variant": variant}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        return [http.post("/v1/deployments/pay/predict", json=body).status_code for _ in range(n)]


@pytest.mark.slow
def test_an_update_can_wait_until_every_worker_serves_it(
    server: tuple[ServerProcess, Settings, str], invoice_frame: pd.DataFrame, tmp_path: Path
) -> None:
    running, settings, key = server
    body = {"inputs": records(invoice_frame.drop(columns="label").head(2))}
    with Client(tmp_path / "laptop", url=running.url, token=ADMIN_TOKEN) as remote:
        assert remote.wait_deployment("pay", timeout=30).workers == 2
        revision = remote.update_deployment("pay", ["payments:2"]).revision.number
        rollout = remote.wait_deployment("pay", revision=revision, timeout=30)
        assert (rollout.deployment, rollout.revision, rollout.workers) == ("pay", 2, 2)
        assert pinned(running.url, key, "payments:2", body, 20) == [200] * 20

    with Client(settings=settings) as embedded:  # the same store, read directly
        embedded.update_deployment("pay", ["payments:1"])
        assert embedded.wait_deployment("pay", timeout=30).workers == 2
    assert pinned(running.url, key, "payments:1", body, 20) == [200] * 20

    env = {"MODELYARD_URL": running.url, "MODELYARD_TOKEN": ADMIN_TOKEN}
    cli = subprocess.run(
        [EXE, "deployments", "update", "pay", "-m", "payments:2", "--wait", "30"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "pay: revision 4 is served by every server worker (2)" in cli.stdout
    assert pinned(running.url, key, "payments:2", body, 20) == [200] * 20


@pytest.mark.slow
def test_a_revision_that_fails_to_load_is_reported_without_waiting_out_the_timeout(
    server: tuple[ServerProcess, Settings, str], invoice_frame: pd.DataFrame, tmp_path: Path
) -> None:
    running, _, key = server
    body = {"inputs": records(invoice_frame.drop(columns="label").head(2))}
    with Client(tmp_path / "laptop", url=running.url, token=ADMIN_TOKEN) as remote:
        remote.update_deployment("pay", ["payments:3"])
        started = time.monotonic()
        with pytest.raises(
            NotReady, match=r"^deployment 'pay': worker .*revision 2 failed to load"
        ):
            remote.wait_deployment("pay", timeout=120)
        assert time.monotonic() - started < 60
        with pytest.raises(InvalidInput, match="has revisions 1 to 2, not 3"):
            remote.wait_deployment("pay", revision=3)
    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {key}"}) as http:
        answer = http.post("/v1/deployments/pay/predict", json=body, timeout=30)
    assert answer.status_code == 200  # the previous revision keeps serving
    assert answer.json()["model_version"] == "payments:1"
