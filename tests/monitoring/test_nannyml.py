"""Estimated performance against NannyML's CBPE, on the reference solution's drifting
quarter (``examples/payment_predictions/data.py``): amounts grow by half (the inputs move)
and small businesses pay much worse (their outcomes change for the same inputs).
modelyard's estimate (``monitoring.estimate``, what a report's ``estimated`` holds) is
within 1 point of NannyML's, computed in the same test by NannyML's own interpreter, on
both. Where only the inputs moved it is within 3 points of the realized accuracy; where
outcomes changed for the same inputs, no estimate from probabilities can see it (CBPE
assumes they do not), and both miss by as much: that is what matured labels are for."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from examples.payment_predictions.data import FEATURES, customers, drifted, invoices
from examples.payment_predictions.pipeline import split, train

from modelyard.monitoring.estimate import Rows, estimate

ROOT = Path(__file__).resolve().parents[2]
NANNYML = ROOT / ".nannyml-venv" / "bin" / "python"
SIDE = ROOT / "tests" / "support" / "nannyml_cbpe.py"


def frame(proba: np.ndarray, classes: list[str], actual: pd.Series | None) -> pd.DataFrame:
    found = pd.DataFrame({f"p_{c}": proba[:, j] for j, c in enumerate(classes)})
    found["y_pred"] = np.asarray(classes)[proba.argmax(axis=1)]
    if actual is not None:
        found["y_true"] = actual.to_numpy()
    return found


def estimates(
    tmp_path: Path, trained: tuple[Any, pd.DataFrame], concept_drift: bool
) -> tuple[float, float, float, int]:
    """Realized accuracy, modelyard's estimate and NannyML's, and the rows, on the drifting
    quarter's settled invoices."""
    model, test_set = trained
    cust = customers()
    classes = [str(c) for c in model.classes_]
    worse = "small_business" if concept_drift else None
    later = drifted(cust, n=16_000, worse_group=worse)
    later = later[later["label"].notna()].reset_index(drop=True)

    reference_proba = model.predict_proba(test_set[FEATURES])
    proba = model.predict_proba(later[FEATURES])
    codes = {c: j for j, c in enumerate(classes)}
    found = estimate(
        Rows(proba, proba.argmax(axis=1)),
        Rows(
            reference_proba,
            reference_proba.argmax(axis=1),
            test_set["label"].map(codes).to_numpy(),
        ),
    )
    assert found is not None and found["trusted"], found
    realized = float((np.asarray(classes)[proba.argmax(axis=1)] == later["label"]).mean())
    frame(reference_proba, classes, test_set["label"]).to_parquet(tmp_path / "reference.pq")
    frame(proba, classes, None).to_parquet(tmp_path / "analysis.pq")
    done = subprocess.run(
        [str(NANNYML), str(SIDE), str(tmp_path / "reference.pq"), str(tmp_path / "analysis.pq")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"concept drift {concept_drift}, {len(later)} rows: realized {realized:.4f}, "
        f"modelyard {found['accuracy']:.4f}, NannyML {theirs['accuracy']:.4f}"
    )
    return realized, float(found["accuracy"]), float(theirs["accuracy"]), len(later)


@pytest.mark.slow
def test_the_estimate_agrees_with_nannyml_on_the_drifting_quarter(tmp_path: Path) -> None:
    assert NANNYML.exists(), "make test installs NannyML in .nannyml-venv"
    history = invoices(customers(), 6000)
    train_set, test_set = split(history[history["label"].notna()])
    trained = (train(train_set), test_set)
    realized, ours, theirs, rows = estimates(tmp_path, trained, concept_drift=False)
    assert rows >= 10_000
    assert ours == pytest.approx(realized, abs=0.03)
    assert ours == pytest.approx(theirs, abs=0.01)
    realized, ours, theirs, rows = estimates(tmp_path, trained, concept_drift=True)
    assert rows >= 10_000
    assert ours == pytest.approx(theirs, abs=0.01)
    assert ours - realized > 0.05 and theirs - realized > 0.05  # neither can see it
