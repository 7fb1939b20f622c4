"""A real Ray cluster on loopback for the tests of ``--engine ray`` and ``serve --ray``."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

BIN = Path(sys.executable).parent


def on_a_ray_cluster(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` beside a real Ray cluster (``ray start --head``, 3 CPUs), in network
    and process namespaces of their own: Ray binds its servers to every interface and
    rewrites 127.0.0.1 to the machine's address (its documented behaviour), so only a
    network namespace with nothing but loopback keeps the cluster on 127.0.0.1; leaving
    the namespace ends every Ray process (``ray stop`` would stop every cluster here)."""
    temp = f"/tmp/ray-{uuid.uuid4().hex[:8]}"  # short: Ray's socket paths are long
    ray = " ".join([
        str(BIN / "ray"), "start", "--head", "--port=6379", "--num-cpus=3",
        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
    ])  # fmt: skip
    try:
        return subprocess.run(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--net",
                "--pid",
                "--fork",
                "--mount-proc",
                "sh",
                "-ec",
                f"ip link set lo up\n{ray} >/dev/null\n{script}",
            ],
            env={**env, "RAY_AUTH_MODE": "disabled"},  # no token on a loopback-only cluster
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        subprocess.run(["rm", "-rf", temp], check=False)
