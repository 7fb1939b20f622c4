"""What ``test_ray_serve`` runs beside a Ray cluster, inside the cluster's network
namespace (nothing outside it can reach the cluster, or the server the replicas follow).

A ``modelyard server`` for the home in ``SCENARIO_HOME``; ``modelyard serve --follow
SERVER --ray 127.0.0.1:6379 --replicas 2``; answers compared with the server's; 16 clients
scoring through Ray Serve while deployment ``pay`` moves from payments:1 to payments:2.
Prints one JSON line of what it saw."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from modelyard import Client
from tests.support.live import EXE, free_port, server_process
from tests.support.processes import process_group

CLIENTS = 16
PREDICT = "/v1/deployments/pay/predict"


def answer(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    reply = httpx.post(url + PREDICT, json=body, headers=headers, timeout=30).json()
    reply.pop("request_id", None)
    return dict(reply)


def announced(process: subprocess.Popen[str]) -> str:
    """The line ``modelyard serve --ray`` prints once Ray Serve runs every replica."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 300)
    assert ready, "modelyard serve --ray said nothing in 300 s"
    line = process.stdout.readline()
    assert line, process.communicate()[1][-3000:]
    return line.strip()


def replicas() -> dict[str, int]:
    import ray
    from ray import serve

    ray.init(address="127.0.0.1:6379", log_to_driver=False)
    try:
        status = serve.status().applications["modelyard"].deployments["scoring"]
        return {str(k): int(v) for k, v in status.replica_states.items()}
    finally:
        ray.shutdown()


def through_an_update(url: str, server: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    """16 clients score while the deployment moves to payments:2; they stop once every
    answer for two seconds came from payments:2."""
    failures: list[str] = []
    versions: Counter[str] = Counter()
    last_old = [time.monotonic()]
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            while not stop.is_set():
                try:
                    reply = http.post(PREDICT, json=body, timeout=30)
                except httpx.HTTPError as e:
                    failures.append(repr(e))
                    continue
                if reply.status_code != 200:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")
                    continue
                version = reply.json()["model_version"]
                versions[version] += 1
                if version != "payments:2":
                    last_old[0] = time.monotonic()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        with Client(url=server, token=os.environ["SCENARIO_ADMIN"]) as admin:
            admin.update_deployment("pay", ["payments:2"])
        deadline = time.monotonic() + 120
        while time.monotonic() - last_old[0] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return {"failures": failures[:5], "failed": len(failures), "versions": dict(versions)}


def main() -> None:
    home = Path(os.environ["SCENARIO_HOME"])
    key = os.environ["SCENARIO_KEY"]
    body = {"inputs": json.loads(os.environ["SCENARIO_ROWS"])}
    headers = {"Authorization": f"Bearer {key}"}
    seen: dict[str, Any] = {}
    with server_process(home, workers=1, env={"MODELYARD_POLL_SECONDS": "0.2"}) as server:
        port = free_port()
        command = [
            EXE, "serve", "--follow", server.url, "--ray", "127.0.0.1:6379",
            "--replicas", "2", "--port", str(port),
        ]  # fmt: skip
        env = {
            **os.environ,
            "MODELYARD_HOME": str(home.parent / "replicas"),
            "MODELYARD_TOKEN": os.environ["SCENARIO_SCORER"],
            "MODELYARD_POLL_SECONDS": "0.2",
        }
        with process_group(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as serving:
            url = f"http://127.0.0.1:{port}"
            started = time.monotonic()
            said = announced(serving)
            seen["ready_seconds"] = round(time.monotonic() - started, 1)
            seen["ready"] = httpx.get(url + "/readyz", timeout=5).status_code
            seen["replicas"] = replicas()
            seen["before"] = [answer(url, body, headers), answer(server.url, body, headers)]
            seen["update"] = through_an_update(url, server.url, body, key)
            seen["after"] = [answer(url, body, headers), answer(server.url, body, headers)]
            serving.send_signal(signal.SIGTERM)
            out, err = serving.communicate(timeout=60)
            seen["exit"] = serving.returncode
            seen["said"] = [said, *out.strip().splitlines()]
            seen["stderr"] = err[-2000:]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
