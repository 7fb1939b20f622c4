"""The MLflow half of ``benchmarks/serving.py``: save the fitted pipeline as an MLflow model.

Runs inside ``.bench/mlflow-venv`` (``harness.references.MLFLOW``); it imports nothing from
modelyard. Its config names the fitted pipeline as a joblib file written by ``serving.py``
(same scikit-learn version, checked here), an example frame as Parquet, and the folder to
save into. It saves the pipeline with ``mlflow.sklearn.save_model`` (signature inferred
from the example, as a user would; in MLflow 3's default skops format, trusting the one
type it asks about: the gradient boosting's ``TreePredictor``), loads it back as a pyfunc
model to check it predicts what the pipeline predicts, and reports. ``serving.py`` then
serves the folder with ``mlflow models serve``. Config and result: ``harness.sides``.
"""

from __future__ import annotations

import json
import platform
import time
from typing import Any

from harness.log import log
from harness.sides import side_main

TRUSTED = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def run(cfg: dict[str, Any]) -> dict[str, Any]:
    import joblib
    import numpy as np
    import pandas as pd
    import sklearn

    t0 = time.perf_counter()
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    import_s = time.perf_counter() - t0
    if sklearn.__version__ != cfg["sklearn_version"]:
        raise SystemExit(
            f"scikit-learn {sklearn.__version__} here, {cfg['sklearn_version']} in the project: "
            "the pickled pipeline must be loaded by the version that wrote it"
        )
    model = joblib.load(cfg["model_path"])
    example = pd.read_parquet(cfg["example_path"])
    t0 = time.perf_counter()
    signature = infer_signature(example, model.predict(example))
    mlflow.sklearn.save_model(
        model,
        cfg["save_dir"],
        signature=signature,
        input_example=example.head(5),
        # MLflow 3's default format (skops) asks to trust the booster's tree type by name
        skops_trusted_types=TRUSTED,
    )
    save_s = time.perf_counter() - t0
    loaded = mlflow.pyfunc.load_model(cfg["save_dir"])
    same = bool(np.array_equal(np.asarray(loaded.predict(example)), model.predict(example)))
    if not same:
        raise SystemExit("the saved MLflow model does not predict what the pipeline predicts")
    log(f"mlflow {mlflow.__version__}: saved the pipeline in {save_s:.1f} s")
    return {
        "mlflow_version": mlflow.__version__,
        "sklearn_version": sklearn.__version__,
        "pandas_version": pd.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "import_s": import_s,
        "save_s": save_s,
        "serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        "skops_trusted_types": TRUSTED,
        "pyfunc_predicts_same": same,
        "signature_inputs": json.loads(signature.inputs.to_json()),
    }


if __name__ == "__main__":
    raise SystemExit(side_main(__doc__, run, "mlflow"))
