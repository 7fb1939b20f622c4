"""An edge export, as a device uses it: a fresh virtual environment installs it offline
(its own wheels only), ``modelyard serve DIR`` answers as the server does, scores 1,000
requests with the server stopped, and ``edge sync`` sends every scored row to the server's
monitoring once, however often it runs. A tampered export does not start. The container
build context (``modelyard image``) installs the same lock and its entrypoint serves.

No OCI image builder runs on this machine (no Docker engine, no buildah, no kaniko), so
the image itself is not built here: its context's install and entrypoint are run instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard import Client
from modelyard.runtimes.environments import uv_binary
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import EXE, free_port, server_process, wait_ready
from tests.support.processes import process_group

DEPLOYMENT = "payments-edge"
OFFLINE_REQUESTS = 1_000
SERVER_ENV = {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN, "MODELYARD_POLL_SECONDS": "0.5"}


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELYARD_URL": url, "MODELYARD_TOKEN": ADMIN_TOKEN}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def fresh_venv(folder: Path, export: Path) -> Path:
    """A virtual environment with nothing but what the export's requirements name, from
    the export's wheels only (no index)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [uv_binary(), "pip", "install", "-q", "--python", str(python), "--no-index",
         "--find-links", str(export / "wheels"), "-r", str(export / "requirements.txt")],
        check=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))},
    )  # fmt: skip
    return folder / "bin" / "modelyard"


def predict(http: httpx.Client, rows: pd.DataFrame, path: str) -> dict[str, Any]:
    r = http.post(path, json={"inputs": rows.to_dict(orient="records")}, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_an_edge_export_serves_offline_and_sends_its_rows_back_once(
    tmp_path: Path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> None:
    home, export, context = tmp_path / "server", tmp_path / "export", tmp_path / "image"
    rows = payments_frame.drop(columns="label").head(50)
    # -- on the server: a deployment, its export and its image context -------------------
    with server_process(home, workers=1, env=SERVER_ENV) as server:
        with Client(url=server.url, token=ADMIN_TOKEN) as c:
            c.log_model(trained_model, "payments", input_example=rows.head())
            key = c.create_deployment(DEPLOYMENT, ["payments:1"]).new_keys["primary"]
            public_key = c.create_key("edge").public_key
            c.wait_deployment(DEPLOYMENT, timeout=60)
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=auth) as http:
            on_server = predict(http, rows, f"/v1/deployments/{DEPLOYMENT}/predict")
        made = cli(server.url, "export", DEPLOYMENT, "--edge", "-o", str(export), "-k", "edge")
        assert made.returncode == 0, made.stderr
        imaged = cli(server.url, "image", DEPLOYMENT, "-o", str(context), "-k", "edge")
        assert imaged.returncode == 0, imaged.stderr
        refused = cli(server.url, "export", DEPLOYMENT, "--edge", "-o", str(export), "-k", "edge")
        assert refused.returncode == 1
        assert refused.stderr.strip() == f"error: {export} exists and is not an empty folder"
    # -- on the device, with the server stopped ------------------------------------------
    modelyard = fresh_venv(tmp_path / "venv", export)
    device_env = {
        "PATH": f"{modelyard.parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MODELYARD_HOME": str(tmp_path / "device"),
    }
    tampered = tmp_path / "tampered"
    shutil.copytree(export, tampered, copy_function=os.link)  # 183 MB: linked, not copied
    (tampered / "requirements.txt").unlink()
    (tampered / "requirements.txt").write_text("evil==1.0\n")
    started = subprocess.run(
        [str(modelyard), "serve", str(tampered)], capture_output=True, text=True,
        env=device_env, timeout=120, check=False,
    )  # fmt: skip
    assert started.returncode == 1
    assert started.stderr.strip() == (
        f"error: the export in {tampered} was changed: requirements.txt does not match its "
        "signature"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(modelyard), "serve", str(export), "--port", str(port), "--trust", public_key]
    with process_group(command, env=device_env, stderr=subprocess.PIPE) as device:
        wait_ready(url, device)
        with httpx.Client(base_url=url, headers=auth) as http:
            on_device = predict(http, rows, f"/v1/deployments/{DEPLOYMENT}/predict")
            assert on_device["predictions"] == on_server["predictions"]
            assert on_device["model_version"] == on_server["model_version"] == "payments:1"
            np.testing.assert_allclose(
                on_device["probabilities"], on_server["probabilities"], rtol=0, atol=1e-12
            )
            split = {"columns": list(rows.columns), "data": rows.head(3).values.tolist()}
            mlflow = http.post("/invocations", json={"dataframe_split": split})
            assert mlflow.json() == {"predictions": on_server["predictions"][:3]}
            assert http.get("/ping").status_code == 200
            one_row = [{"inputs": [r]} for r in rows.to_dict(orient="records")]

            def offline(i: int) -> int:
                path = f"/v1/deployments/{DEPLOYMENT}/predict"
                return http.post(path, json=one_row[i % len(one_row)]).status_code

            with ThreadPoolExecutor(4) as pool:
                statuses = list(pool.map(offline, range(OFFLINE_REQUESTS)))
            assert statuses == [200] * OFFLINE_REQUESTS
        device.send_signal(signal.SIGINT)  # a graceful stop writes every collected row
        _, err = device.communicate(timeout=60)
        assert "Application shutdown complete" in err and "Traceback" not in err, err[-2000:]
    scored = len(rows) + 3 + OFFLINE_REQUESTS
    # -- the image context: the same lock, and its entrypoint serves -----------------------
    dockerfile = (context / "Dockerfile").read_text()
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-slim" in dockerfile
    assert "\nUSER modelyard\n" in dockerfile and "useradd" in dockerfile
    assert "/readyz" in dockerfile.partition("HEALTHCHECK")[2].splitlines()[1]
    entrypoint = json.loads(dockerfile.partition("\nENTRYPOINT ")[2].splitlines()[0])
    assert entrypoint == ["modelyard", "serve", "/srv/export"]
    assert "--no-index --find-links /srv/export/wheels" in dockerfile
    lock = (context / "export" / "requirements.txt").read_text()
    assert lock == (export / "requirements.txt").read_text()
    port = free_port()
    args = [str(context / "export"), "--port", str(port)]
    with process_group([entrypoint[0], *entrypoint[1:2], *args], env=device_env,
                       stderr=subprocess.PIPE) as contained:  # fmt: skip
        wait_ready(f"http://127.0.0.1:{port}", contained)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth) as http:
            answer = predict(http, rows.head(5), f"/v1/deployments/{DEPLOYMENT}/predict")
        assert answer["predictions"] == on_server["predictions"][:5]
    # -- back online: every row scored on the device reaches monitoring once ---------------
    with server_process(home, workers=1, env=SERVER_ENV) as server:
        first = cli(server.url, "edge", "sync", str(export), "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["rows"] == scored
        again = cli(server.url, "edge", "sync", str(export), "--json")
        assert json.loads(again.stdout) == {"sent": 0, "skipped": json.loads(first.stdout)["sent"],
                                            "rows": 0}  # fmt: skip
        shutil.rmtree(export / ".sync")  # the device lost its record: the server still knows
        lost = cli(server.url, "edge", "sync", str(export), "--json")
        assert json.loads(lost.stdout)["rows"] == 0
        with Client(url=server.url, token=ADMIN_TOKEN) as c:
            # the device's rows, and the 50 the server scored itself before the export
            assert c.monitor(DEPLOYMENT, since="1h")["rows"] == scored + len(rows)
