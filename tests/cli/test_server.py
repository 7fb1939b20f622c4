"""``modelyard server`` as an operator starts it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.support.live import EXE, free_port, wait_ready
from tests.support.processes import process_group


def test_first_start_prints_the_admin_token_once(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODELYARD_HOME": str(tmp_path / "home")}
    env.pop("MODELYARD_ADMIN_TOKEN", None)
    command = [EXE, "server", "--port", str(port)]
    with process_group(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        token = ""
        while not token and proc.poll() is None:
            line = proc.stdout.readline().strip()
            if line.startswith("myd_"):
                token = line
        assert token, "no token printed"
        wait_ready(url, proc)
        me = httpx.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["name"] == "admin" and me.json()["is_admin"] is True
        assert httpx.get(f"{url}/api/v1/models").status_code == 401
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert "Traceback" not in output
    assert token not in output  # printed once only: the rest of the output never repeats it
    # a second start prints no token
    with process_group(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        wait_ready(url, proc)
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert "Application startup complete" in output and "myd_" not in output


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
