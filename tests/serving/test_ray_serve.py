"""``modelyard serve --follow SERVER --ray ADDRESS``: deployments served as a Ray Serve
application on a real Ray cluster on loopback (started and stopped here): two replicas
answer as the server does, and an update under 16 concurrent clients fails no request.
An address nothing answers on, and options that do not go together, are one line each."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin, records
from tests.support.live import EXE, free_port
from tests.support.ray import on_a_ray_cluster

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


def test_ray_serve_replicas_answer_as_the_server_through_an_update(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> None:
    settings = Settings(home=tmp_path / "home", actor="alice")
    x = invoice_frame.drop(columns="label")
    bootstrap_admin(settings)
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=x)
        c.log_model(models[1], "payments", input_example=x)
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
        c.create_user("ray")
        c.grant("ray", "sandbox", "scorer")
        scorer = c.create_token("replicas", user="ray").secret
    env = {
        **os.environ,
        "SCENARIO_HOME": str(settings.home),
        "SCENARIO_ADMIN": ADMIN_TOKEN,
        "SCENARIO_SCORER": scorer,
        "SCENARIO_KEY": key,
        "SCENARIO_ROWS": json.dumps(records(x.head(20))),
        "PYTHONPATH": str(ROOT),
    }
    done = on_a_ray_cluster(f"{sys.executable} -m tests.serving.ray_serve_scenario", env)
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["replicas"] == {"RUNNING": 2}  # once the command says it serves
    assert seen["ready"] == 200
    ray_before, server_before = seen["before"]
    assert ray_before == server_before and ray_before["model_version"] == "payments:1"
    assert ray_before["predictions"] == models[0].predict(x.head(20)).tolist()
    update = seen["update"]
    assert update["failed"] == 0, update["failures"]
    assert update["versions"]["payments:1"] > 0 and update["versions"]["payments:2"] > 0
    ray_after, server_after = seen["after"]
    assert ray_after == server_after and ray_after["model_version"] == "payments:2"
    assert seen["exit"] == 0, seen["stderr"]
    assert any("2 to 2 replicas" in line for line in seen["said"]), seen["said"]


def test_serve_on_ray_refuses_what_cannot_run_in_a_line(tmp_path: Path) -> None:
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home"), "MODELYARD_TOKEN": "x"}
    follow = ["--follow", "http://127.0.0.1:9"]
    with socket.socket() as listening:  # a Ray address that answers
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        ray = f"127.0.0.1:{listening.getsockname()[1]}"
        for args, says in [
            (["--ray", f"127.0.0.1:{free_port()}"], "cannot reach the Ray cluster at 127.0.0.1:"),
            (["--ray", "nowhere"], "invalid Ray address 'nowhere': expected HOST:PORT"),
            (["--ray", ray, "--workers", "2"], "--workers is for worker processes"),
            (["--ray", ray, "--replicas", "0"], "--replicas must be at least 1"),
            (["--ray", ray, "--replicas", "3", "--max-replicas", "2"], "--max-replicas 2"),
            (["--replicas", "2"], "--replicas and --max-replicas are for --ray"),
            (["--ray", ray], "cannot reach http://127.0.0.1:9"),  # the server followed
        ]:
            command = [EXE, "serve", *follow, *args]
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=60, check=False
            )
            assert done.returncode == 1, done.stderr
            (line,) = done.stderr.strip().splitlines()
            assert line.startswith(f"error: {says}"), line
