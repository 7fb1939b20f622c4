"""Model code a user uploads never runs in the server process: a developer's ``score.py``
runs, for a baseline, an evaluation and scoring alike, in a model worker that holds no
secret and is confined by the kernel. The model below looks for everything it could use
to become admin and reports what it found in its predictions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pandas as pd
import pytest

from modelyard import Client, ModelyardWarning, Settings
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import server_process

PROBE = """import os
import socket
import tempfile

FOUND = {}


def _probe(name, attempt):
    try:
        attempt()
        FOUND[name] = "open"
    except OSError:
        FOUND[name] = "denied"


def _read(path):
    with open(path, "rb") as fh:
        return fh.read(64)


def _parent_of(pid):
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def _connect():
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()


def init():
    secrets = ("MODELYARD_ADMIN_TOKEN", "AWS_SECRET_ACCESS_KEY")
    leaked = [k for k, v in os.environ.items() if k in secrets or v in (TOKEN, "s3cr3t")]
    FOUND["environment"] = "leaks" if leaked else "clean"
    server = os.getppid()
    _probe("server-environ", lambda: _read(f"/proc/{server}/environ"))
    _probe("supervisor-environ", lambda: _read(f"/proc/{_parent_of(server)}/environ"))
    _probe("server-memory", lambda: _read(f"/proc/{server}/mem"))
    _probe("database", lambda: _read(DATABASE))
    _probe("artifacts", lambda: os.listdir(ARTIFACTS))
    _probe("operator-home", lambda: _read(CREDENTIALS))
    _probe("server-port", _connect)
    _probe("signal-server", lambda: os.kill(server, 0))
    _probe("scratch", lambda: tempfile.TemporaryFile().close())


def run(data):
    found = ";".join(f"{k}={v}" for k, v in sorted(FOUND.items()))
    return ["probe:" + found] * len(data)
"""

CONFINED = {
    "environment": "clean",
    "server-environ": "denied",
    "supervisor-environ": "denied",
    "server-memory": "denied",
    "database": "denied",
    "artifacts": "denied",
    "operator-home": "denied",
    "server-port": "denied",
    "signal-server": "denied",
    "scratch": "open",  # its own scratch folder: the one place it may write
}


def findings(text: str) -> dict[str, str]:
    found = re.search(r"probe:([a-z=;-]+)", text)
    assert found, text[:2000]
    return dict(pair.split("=") for pair in found.group(1).split(";"))


def test_a_developers_model_code_finds_no_secret_and_reaches_nothing(
    tmp_path: Path, invoice_frame: pd.DataFrame
) -> None:
    home = tmp_path / "home"
    operator = tmp_path / "operator"  # the server's HOME, with cloud credentials in it
    (operator / ".aws").mkdir(parents=True)
    (operator / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = s3cr3t\n")
    settings = Settings(home=home)
    with Client(settings=settings) as local:
        local.register_dataset("invoices", invoice_frame)
        local.create_user("dev")
        local.grant("dev", "sandbox", "developer")
        developer = local.create_token("laptop", user="dev").secret
    env = {
        "MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN,
        "AWS_SECRET_ACCESS_KEY": "s3cr3t",
        "HOME": str(operator),
    }
    with server_process(home, env=env, workers=1) as running:
        port = int(running.url.rsplit(":", 1)[1])
        probe = tmp_path / "probe"
        probe.mkdir()
        constants = {
            "TOKEN": ADMIN_TOKEN,
            "PORT": port,
            "DATABASE": str(home / "modelyard.db"),
            "ARTIFACTS": str(home / "artifacts"),
            "CREDENTIALS": str(operator / ".aws" / "credentials"),
        }
        header = "".join(f"{k} = {v!r}\n" for k, v in constants.items())
        (probe / "score.py").write_text(header + PROBE)

        with Client(tmp_path / "laptop", url=running.url, token=developer) as dev:
            with pytest.warns(ModelyardWarning, match="without a signature"):
                version = dev.register("probe", probe, datasets=["invoices:1"])
            # the baseline was computed on the server: its predictions are the findings
            baseline = dev.get_baseline(version.ref)
            assert findings(json.dumps(baseline)) == CONFINED
            evaluation = dev.evaluate(version.ref, "invoices:1", label="label")
            assert evaluation.metrics["accuracy"] == 0.0  # it ran, and learned nothing

        with Client(tmp_path / "ops", url=running.url, token=ADMIN_TOKEN) as admin:
            key = admin.create_deployment("probe", [version.ref]).new_keys["primary"]
        rows = invoice_frame.drop(columns="label").head(2).to_dict(orient="records")
        answer = httpx.post(
            f"{running.url}/v1/deployments/probe/predict",
            json={"inputs": rows},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert findings(answer.text) == CONFINED
        err = running.stop()
    assert "model code runs in model workers confined by Landlock" in err, err[-2000:]
    assert "s3cr3t" not in err and ADMIN_TOKEN not in err
