"""The registration workload both tools do, the same in every registry benchmark: a package
of a ``score.py`` and a random ``weights.bin`` (distinct, so content deduplication does not
help), registered with 2 tags and 2 metrics. Imports modelyard or MLflow only inside the
function that needs it: MLflow's sides use this module from their own venv."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from harness.log import log

SCORE_PY = "def init():\n    pass\n\ndef run(data):\n    return [0] * len(data)\n"
PAYLOAD_BYTES = 1 << 20  # 1 MiB per registration


def write_files(folder: Path, payload_bytes: int) -> Path:
    """``score.py`` and ``payload_bytes`` random bytes of ``weights.bin`` in a new folder."""
    folder.mkdir(parents=True)
    (folder / "score.py").write_text(SCORE_PY)
    (folder / "weights.bin").write_bytes(os.urandom(payload_bytes))
    return folder


def make_package(folder: Path, payload_bytes: int) -> Path:
    """``write_files`` plus modelyard's manifest: a package ``client.register`` takes."""
    from modelyard.flavors.package import write_manifest

    write_files(folder, payload_bytes)
    write_manifest(folder, flavor="python", entrypoint="score.py")
    return folder


def build_packages(
    folder: Path, count: int, *, payload_bytes: int = PAYLOAD_BYTES, manifest: bool = True
) -> list[Path]:
    """``count`` packages under ``folder`` (``0000``, ``0001``, ...); without ``manifest``,
    the files only (MLflow's side)."""
    log(f"building {count} packages of {payload_bytes} B")
    make = make_package if manifest else write_files
    return [make(folder / f"{i:04d}", payload_bytes) for i in range(count)]


def register(
    client: Any, model: str, folder: Path, seq: int, *, input_example: Path | None = None
) -> Any:
    """One modelyard registration of ``folder`` (or a model file, with its
    ``input_example``) into ``model``; the new version."""
    return client.register(
        model,
        folder,
        input_example=input_example,
        tags={"team": "risk", "seq": str(seq)},
        metrics={"accuracy": 0.9, "f1": 0.8},
        git_commit=None,
    )


def register_mlflow(client: Any, exp_id: str, model: str, folder: Path, seq: int) -> None:
    """The same registration with an ``MlflowClient``: ``create_run``, ``log_artifacts``
    (every file of ``folder``; ``log_artifact`` when ``folder`` is a single file),
    ``log_batch`` (2 tags + 2 metrics), ``set_terminated``, ``create_model_version``."""
    from mlflow.entities import Metric, RunTag

    run = client.create_run(exp_id)
    run_id = run.info.run_id
    if folder.is_file():
        client.log_artifact(run_id, str(folder), artifact_path="model")
    else:
        client.log_artifacts(run_id, str(folder), artifact_path="model")
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("accuracy", 0.9, now, 0), Metric("f1", 0.8, now, 0)],
        tags=[RunTag("team", "risk"), RunTag("seq", str(seq))],
    )
    client.set_terminated(run_id)
    client.create_model_version(
        model, source=f"runs:/{run_id}/model", run_id=run_id, tags={"team": "risk", "seq": str(seq)}
    )
