"""The MLflow client half of ``benchmarks/server.py``: registrations over HTTP.

Runs inside ``.bench/mlflow-venv`` (``harness.references.MLFLOW``), against an ``mlflow
server`` that ``server.py`` started and stops; it imports nothing from modelyard. It
registers inputs of one kind (``harness.kinds``: a model file, or a folder) through the
tracking server with 1 client and then with ``clients`` concurrent clients (threads,
``harness.clients``), in one of the variants of ``harness.kinds.MLFLOW_VARIANTS``:
``log_artifact`` / ``log_artifacts`` is the upload of ``mlflow_side.py``
(``harness.registration.register_mlflow``, an ``MlflowClient`` per thread); ``log_model``
is ``harness.kinds.register_file_mlflow`` (the fluent API, whose active run is per
thread). With ``--serve-artifacts`` the client uploads the files to the server over HTTP.
Config and result: ``harness.sides``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from harness.clients import Register, run_clients, split_batches
from harness.kinds import build_inputs, register_file_mlflow
from harness.log import log
from harness.memory import RssSampler
from harness.registration import register_mlflow
from harness.sides import side_main


def phase(
    url: str,
    server_pid: int,
    model: str,
    batches: list[list[Path]],
    warm: list[Path],
    reg: Register,
) -> dict[str, Any]:
    """One phase (``harness.clients.run_clients``), its versions then checked gap-free."""
    from mlflow import MlflowClient

    def open_client(i: int) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext(MlflowClient(tracking_uri=url, registry_uri=url))

    with RssSampler(server_pid) as sampler:
        result = run_clients(open_client, reg, model, batches, warm, server_pid, sampler)
    n = result["n"]
    versions = MlflowClient(tracking_uri=url, registry_uri=url).search_model_versions(
        f"name = '{model}'", max_results=n + 100
    )
    numbers = sorted(int(v.version) for v in versions)
    if numbers != list(range(1, n + 1)):
        raise SystemExit(f"MLflow {model}: expected versions 1..{n}, found {len(numbers)}")
    return {**result, "versions_gap_free": True}


def registration(variant: str, url: str, exp_id: str) -> Register:
    """How one client registers one input in ``variant``."""
    if variant != "log_model":

        def upload(client: Any, name: str, path: Path, seq: int) -> None:
            register_mlflow(client, exp_id, name, path, seq)

        return upload
    import mlflow
    from mlflow.utils.logging_utils import disable_logging

    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    first = [True]

    def log_model(client: Any, name: str, path: Path, seq: int) -> None:
        register_file_mlflow(exp_id, name, path, seq)
        if first[0]:  # its messages shown once, not on each registration
            first[0] = False
            disable_logging()  # "Created version ..."
            # the output schema is a long (class labels): a hint on each signature inference
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")

    return log_model


def run(cfg: dict[str, Any]) -> dict[str, Any]:
    work = Path(cfg["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    url = str(cfg["url"])
    server_pid = int(cfg["server_pid"])
    n_seq, clients, per_client = int(cfg["n"]), int(cfg["clients"]), int(cfg["per_client"])

    t0 = time.perf_counter()
    import mlflow
    from mlflow import MlflowClient

    import_s = time.perf_counter() - t0
    # one INFO line per create_model_version ("Waiting up to 300 seconds...") otherwise
    logging.getLogger("mlflow.store.model_registry.abstract_store").setLevel(logging.WARNING)
    log(f"mlflow {mlflow.__version__} imported in {import_s:.1f} s")
    kind, variant = str(cfg["kind"]), str(cfg["variant"])
    packages = Path(cfg["packages_dir"])
    # built once for the run that needs the most, reused by every server run (each server
    # starts empty); a run with fewer registrations takes the first ones
    build = int(cfg["build"])
    total = 1 + clients + n_seq + clients * per_client
    if (packages / "built.json").is_file():
        inputs = [Path(p) for p in json.loads((packages / "built.json").read_text())]
    else:
        shutil.rmtree(packages, ignore_errors=True)
        payload = int(cfg["payload_bytes"])
        inputs = build_inputs(packages, kind, build, payload_bytes=payload, mlflow=True)
        (packages / "built.json").write_text(json.dumps([str(p) for p in inputs]))
    if len(inputs) < total:
        raise SystemExit(f"{packages}: {len(inputs)} inputs built, {total} needed")
    parts = split_batches(inputs[:total], clients, n_seq, per_client)

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    # no artifact_location: the server's default root, mlflow-artifacts:/ when it proxies
    # artifacts (uploads go through it), else its local folder (clients write there)
    exp_id = client.create_experiment("bench")
    artifact_location = client.get_experiment(exp_id).artifact_location
    for name in ("warmup", "bench-1", f"bench-{clients}"):
        client.create_registered_model(name)
    reg = registration(variant, url, exp_id)
    return {
        "kind": kind,
        "variant": variant,
        "mlflow_version": mlflow.__version__,
        "python_version": platform.python_version(),
        "import_s": import_s,
        "artifact_location": artifact_location,
        "sequential": phase(url, server_pid, "bench-1", parts["seq"], parts["seq_warm"], reg),
        "concurrent": phase(
            url, server_pid, f"bench-{clients}", parts["par"], parts["par_warm"], reg
        ),
    }


if __name__ == "__main__":
    raise SystemExit(side_main(__doc__, run, "mlflow"))
