"""A model trained with an older scikit-learn runs in an environment of its own, built with
uv from its pins, beside models served in the server's environment: answers equal the old
environment's own, no request fails through updates between the two, and pins that cannot
be built fail the revision in one line while the previous one keeps serving."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
import sklearn
import yaml

from modelyard import Client, NotReady, Settings
from modelyard.runtimes.environments import Indexes, uv_binary
from tests.runtimes import older_pipeline
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import EXE, server_process

REPO = Path(__file__).resolve().parents[2]
OLD_SKLEARN = "scikit-learn==1.5.2"
CLIENTS = 16

pytestmark = pytest.mark.xdist_group("environments")


@pytest.fixture(scope="module")
def older_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with scikit-learn 1.5.2 and modelyard (its SDK logs the
    model), built with uv from the indexes pip uses here."""
    folder = tmp_path_factory.mktemp("older") / "venv"
    uv = uv_binary()
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(folder)], check=True)
    python = folder / "bin" / "python"
    install = [uv, "pip", "install", "-q", "--python", str(python), *Indexes().arguments()]
    subprocess.run([*install, OLD_SKLEARN, "-e", str(REPO)], check=True, timeout=900)
    return python


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A two-worker server and its home."""
    home = tmp_path_factory.mktemp("server") / "home"
    env = {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN, "MODELYARD_POLL_SECONDS": "0.5"}
    with server_process(home, env=env) as running:
        yield running.url, home
        err = running.stop()
    assert "Traceback" not in err, err[-3000:]


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELYARD_URL": url, "MODELYARD_TOKEN": ADMIN_TOKEN}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def score(http: httpx.Client, deployment: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    r = http.post(f"/v1/deployments/{deployment}/predict", json={"inputs": rows}, timeout=60)
    assert r.status_code == 200, r.text
    return dict(r.json())


def proba(answer: dict[str, Any], classes: list[str]) -> np.ndarray:
    """The answer's probabilities, columns in the order of ``classes``."""
    order = [answer["classes"].index(c) for c in classes]
    return np.array(answer["probabilities"])[:, order]


@pytest.mark.slow
def test_an_older_scikit_learn_model_serves_its_own_answers_beside_in_process_ones(
    older_python: Path, served: tuple[str, Path], tmp_path: Path
) -> None:
    server, home = served
    out = tmp_path / "older.json"
    subprocess.run(
        [str(older_python), older_pipeline.__file__, server, ADMIN_TOKEN, str(out)],
        check=True,
        timeout=300,
    )
    older = json.loads(out.read_text())
    assert older["sklearn"] == "1.5.2" and older["version"] == "sandbox/payments:1"
    x, _ = older_pipeline.frame()
    current = older_pipeline.pipeline()
    with Client(url=server, token=ADMIN_TOKEN) as c:
        c.log_model(current, "payments", input_example=x.head(20))

        # before any deploy: what differs, and where each will run
        checked = cli(server, "models", "check", "payments:1", "--json")
        assert checked.returncode == 0, checked.stderr
        found = json.loads(checked.stdout)
        assert found["runs"] == "environment" and not found["built"]
        assert {"requirement": OLD_SKLEARN, "server": sklearn.__version__} in found["differences"]
        assert c.check_version("payments:2").runs == "server"

        c.create_deployment("older", ["payments:1"])
        c.create_deployment("current", ["payments:2"])
        c.wait_deployment("older", timeout=600)  # the first build may download wheels
        c.wait_deployment("current")
        built = c.check_version("payments:1")
        assert built.built and built.environment is not None
    # its worker runs on that environment's interpreter
    assert any(str(p.cmdline()[:1]).find(built.environment) > 0 for p in _descendants())

    keys = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server, headers=keys) as http:
        answer = score(http, "older", older["rows"])
        assert answer["model_version"] == "payments:1"
        assert answer["predictions"] == older["labels"]
        served = proba(answer, older["classes"])
        assert np.abs(served - np.array(older["proba"])).max() <= 1e-12
        rows = pd.DataFrame(older["rows"])
        answer = score(http, "current", older["rows"])
        assert answer["predictions"] == current.predict(rows).tolist()
        assert np.abs(proba(answer, older["classes"]) - current.predict_proba(rows)).max() <= 1e-12

    failures, versions = _updates_under_load(server, older["rows"][:1])
    assert failures == [], failures[:5]
    assert {"payments:1", "payments:2"} <= versions

    # embedded batch scoring on the same home follows the same rule
    with Client(settings=Settings(home=home)) as local:
        output = local.score_frame("older", "payments:1", pd.DataFrame(older["rows"]))
    assert output.predictions.tolist() == older["labels"]
    assert np.abs(output.probabilities - np.array(older["proba"])).max() <= 1e-12


def _descendants() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.cmdline()
            found.append(child)
    return found


def _updates_under_load(url: str, rows: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """16 clients score ``older`` while it moves to the in-process version and back."""
    failures: list[str] = []
    versions: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        keys = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with httpx.Client(base_url=url, headers=keys) as http:
            while not stop.is_set():
                try:
                    body = {"inputs": rows}
                    r = http.post("/v1/deployments/older/predict", json=body, timeout=30)
                    ok, seen = r.status_code == 200, r.json().get("model_version")
                    text = f"{r.status_code} {r.text[:200]}"
                except httpx.HTTPError as e:
                    ok, seen, text = False, None, type(e).__name__
                with lock:
                    if ok:
                        versions.add(str(seen))
                    else:
                        failures.append(text)

    threads = [threading.Thread(target=load) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        with Client(url=url, token=ADMIN_TOKEN) as c:
            for target in ("payments:2", "payments:1"):
                time.sleep(1.0)
                c.update_deployment("older", [target])
                c.wait_deployment("older", timeout=120)
            time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    return failures, versions


def _with_requirements(url: str, tmp_path: Path, name: str, requirements: list[str]) -> str:
    """A version of ``name`` whose package pins ``requirements`` (a downloaded package with
    its manifest edited), registered; returns its ref."""
    with Client(url=url, token=ADMIN_TOKEN) as c:
        x, _ = older_pipeline.frame()
        c.log_model(older_pipeline.pipeline(), name, input_example=x.head(20))
        folder = c.download_model(f"{name}:1", tmp_path / name)
        manifest = folder / "modelyard.yaml"
        data = yaml.safe_load(manifest.read_text())
        data["requirements"] = requirements
        manifest.write_text(yaml.safe_dump(data))
        return c.register(name, folder).ref


@pytest.mark.slow
def test_pins_that_cannot_be_built_fail_the_revision_in_one_line(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    server, _ = served
    missing = _with_requirements(server, tmp_path, "nowhere", ["scikit-learn==9.9.9"])
    checked = cli(server, "models", "check", missing)
    assert checked.returncode == 1
    assert "scikit-learn==9.9.9" in checked.stdout and "cannot be built" in checked.stdout

    unknown = _with_requirements(server, tmp_path, "unknown", ["scikit-learnzz==1.0"])
    with Client(url=server, token=ADMIN_TOKEN) as c:
        found = c.check_version(unknown)
        assert found.problem is not None and "scikit-learnzz" in found.problem
        assert "\n" not in found.problem

        c.create_deployment("kept", ["nowhere:1"])
        c.wait_deployment("kept")
        c.update_deployment("kept", [missing])
        with pytest.raises(NotReady) as refused:
            c.wait_deployment("kept", timeout=120)
        assert "scikit-learn==9.9.9" in str(refused.value) and "\n" not in str(refused.value)
    keys = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server, headers=keys) as http:
        rows = older_pipeline.frame(3)[0].to_dict(orient="records")
        assert score(http, "kept", rows)["model_version"] == "nowhere:1"  # the previous one


def test_a_requirement_that_is_not_one_is_refused_at_registration(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    server, _ = served
    with Client(url=server, token=ADMIN_TOKEN) as c:
        x, _ = older_pipeline.frame()
        c.log_model(older_pipeline.pipeline(), "malformed", input_example=x.head(20))
        folder = c.download_model("malformed:1", tmp_path / "malformed")
    manifest = folder / "modelyard.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["requirements"] = ["scikit-learn=>=1.5"]
    manifest.write_text(yaml.safe_dump(data))
    refused = cli(server, "models", "register", "malformed", str(folder))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "scikit-learn=>=1.5" in refused.stderr
    assert "Traceback" not in refused.stderr
    with Client(url=server, token=ADMIN_TOKEN) as c:
        assert [v.version for v in c.list_versions("malformed")] == [1]
