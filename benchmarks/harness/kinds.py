"""The kinds of registration ``server.py`` measures: what a user hands the registry.

- ``file``: a bare model file, ``model.pkl``: a scikit-learn ``LogisticRegression`` fitted
  on its own random data and carrying ``payload_bytes`` random bytes as an attribute (its
  "weights", as large as the other kinds'), pickled with joblib, next to an
  ``example.csv`` of 5 rows: modelyard's client needs an input example for a bare model
  file, and packages it at registration (finds its flavor, unpickles it to check it,
  copies it, loads the copy, infers the signature from the example, pins the
  requirements, writes the manifest).
- ``scorepy``: a folder with ``score.py`` and a random ``weights.bin``, no manifest:
  modelyard's client packages it at registration (copies it, checks and imports the
  script, pins the requirements of its imports, writes the manifest).
- ``packaged``: the same folder with modelyard's manifest written beforehand
  (``registration.make_package``): nothing to build at registration.

Every input is distinct (content deduplication does not help) and built before the clock
starts; what modelyard's client does with it at registration is timed (the user pays it).
MLflow's side of a folder uploads its files (``log_artifacts``), so its ``scorepy`` and
``packaged`` inputs are the same folders (without modelyard's manifest). For a model file
MLflow has two variants (``MLFLOW_VARIANTS``): ``log_model``, the same work as modelyard's
(``register_file_mlflow``: a servable version with a signature and pinned requirements),
and ``log_artifact``, an upload of the file only (not servable), kept for reference. Imports
modelyard, scikit-learn or MLflow only inside the function that needs them: MLflow's side
uses this module from its own venv.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.clients import Register
from harness.log import log
from harness.registration import PAYLOAD_BYTES, build_packages, register

KINDS = ("file", "scorepy", "packaged")
# what MLflow's side does with an input of each kind; the first is the one judged
MLFLOW_VARIANTS = {
    "file": ("log_model", "log_artifact"),
    "scorepy": ("log_artifacts",),
    "packaged": ("log_artifacts",),
}
MODEL_FILE = "model.pkl"
EXAMPLE_FILE = "example.csv"
FEATURES = ("x0", "x1", "x2", "x3")
TRAIN_ROWS = 64
EXAMPLE_ROWS = 5


def kind_list(text: str) -> list[str]:
    """``"file,packaged"`` → ``["file", "packaged"]``, in ``KINDS`` order (argparse type)."""
    import argparse

    names = {k.strip() for k in text.split(",") if k.strip()}
    if not names or names - set(KINDS):
        raise argparse.ArgumentTypeError(f"a comma-separated list of {', '.join(KINDS)}")
    return [k for k in KINDS if k in names]


def write_model_file(folder: Path, payload_bytes: int) -> Path:
    """A new ``folder`` with a distinct pickled scikit-learn model (``MODEL_FILE``) and its
    input example (``EXAMPLE_FILE``); the model file's path."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    folder.mkdir(parents=True)
    rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))
    values = rng.normal(size=(TRAIN_ROWS, len(FEATURES)))
    y = (values[:, 0] + rng.normal(scale=0.5, size=TRAIN_ROWS) > 0).astype(int)
    y[:2] = (0, 1)  # both classes, whatever the draw
    x = pd.DataFrame(values, columns=list(FEATURES))
    model = LogisticRegression().fit(x, y)
    model.payload_ = np.frombuffer(os.urandom(payload_bytes), dtype=np.uint8)
    path = folder / MODEL_FILE
    joblib.dump(model, path)
    x.head(EXAMPLE_ROWS).to_csv(folder / EXAMPLE_FILE, index=False)
    return path


def build_inputs(
    folder: Path, kind: str, count: int, *, payload_bytes: int = PAYLOAD_BYTES, mlflow: bool = False
) -> list[Path]:
    """``count`` distinct inputs of ``kind`` under ``folder`` (``0000``, ``0001``, ...): the
    model files for ``file``, the folders otherwise; for ``mlflow``, no manifest."""
    if kind == "file":
        log(f"building {count} model files of {payload_bytes} B of weights")
        return [write_model_file(folder / f"{i:04d}", payload_bytes) for i in range(count)]
    if kind not in KINDS:
        raise ValueError(f"unknown registration kind {kind!r}")
    manifest = kind == "packaged" and not mlflow
    return build_packages(folder, count, payload_bytes=payload_bytes, manifest=manifest)


def mlflow_inputs(kind: str) -> str:
    """The name of the inputs MLflow's side builds for ``kind``: ``file`` or ``folder``
    (``scorepy`` and ``packaged`` are the same work for MLflow, built once)."""
    return "file" if kind == "file" else "folder"


def register_file(client: Any, model: str, path: Path, seq: int) -> Any:
    """One modelyard registration of a bare model file, with its input example."""
    return register(client, model, path, seq, input_example=path.with_name(EXAMPLE_FILE))


def registration(kind: str) -> Register:
    """How modelyard's client registers one input of ``kind``."""
    return register_file if kind == "file" else register


def register_file_mlflow(exp_id: str, model: str, path: Path, seq: int) -> None:
    """One MLflow registration of a bare model file that gives what modelyard's gives (a
    servable version with a signature and pinned requirements), as MLflow's docs have a user
    do it: load the file and its example, then in a run log the 2 metrics and 2 tags and
    ``mlflow.sklearn.log_model`` with the example and ``registered_model_name`` (MLflow
    infers the signature by predicting on the example and the pip requirements by loading
    the saved model in a subprocess, writes the MLmodel, uploads, registers). The fluent API
    keeps the active run per thread; the tracking and registry URIs are set beforehand."""
    import joblib
    import mlflow
    import mlflow.sklearn
    import pandas as pd

    sk_model = joblib.load(path)
    example = pd.read_csv(path.with_name(EXAMPLE_FILE))
    with mlflow.start_run(experiment_id=exp_id):
        mlflow.log_metrics({"accuracy": 0.9, "f1": 0.8})
        mlflow.set_tags({"team": "risk", "seq": str(seq)})
        mlflow.sklearn.log_model(
            sk_model, name="model", input_example=example, registered_model_name=model
        )
