"""``modelyard server`` as an operator starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.live import free_port

EXE = str(Path(sys.executable).parent / "modelyard")


def test_first_start_prints_the_admin_token_once(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home")}
    env.pop("MODELYARD_ADMIN_TOKEN", None)
    proc = subprocess.Popen(
        [EXE, "server", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        token = ""
        deadline = time.monotonic() + 60
        while not token and time.monotonic() < deadline:
            line = proc.stdout.readline().strip()
            if line.startswith("myd_"):
                token = line
        assert token, "no token printed"
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        me = httpx.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["name"] == "admin" and me.json()["is_admin"] is True
        assert httpx.get(f"{url}/api/v1/models").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert "Traceback" not in output
    assert token not in output  # printed once only: the rest of the output never repeats it
    # a second start prints no token
    proc = subprocess.Popen(
        [EXE, "server", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    assert "myd_" not in proc.communicate(timeout=30)[0]


def test_auth_can_be_off_only_on_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home"), "MODELYARD_AUTH": "false"}
    out = subprocess.run(
        [EXE, "server", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "error: refusing to serve 0.0.0.0 with MODELYARD_AUTH=false: authentication can be "
        "disabled only on a loopback address (127.0.0.1, ::1)"
    )
