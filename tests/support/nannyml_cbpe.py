"""NannyML's CBPE on two Parquet files, run by NannyML's own interpreter
(``.nannyml-venv``, made by ``make test``): ``python nannyml_cbpe.py REFERENCE ANALYSIS``
prints ``{"accuracy": …, "f1_macro": …}`` estimated for the whole analysis period (one
chunk). Both files hold ``y_pred``, ``p_<class>`` per class; the reference ``y_true``."""

import json
import os
import sys

os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # no analytics calls from a test

import nannyml as nml
import pandas as pd


def main() -> None:
    reference, analysis = (pd.read_parquet(path) for path in sys.argv[1:3])
    classes = sorted(c.removeprefix("p_") for c in reference.columns if c.startswith("p_"))
    estimator = nml.CBPE(
        y_pred_proba={c: f"p_{c}" for c in classes},
        y_pred="y_pred",
        y_true="y_true",
        problem_type="classification_multiclass",
        metrics=["accuracy", "f1"],
        chunk_number=1,
    )
    estimator.fit(reference)
    found = estimator.estimate(analysis).filter(period="analysis").to_df()
    print(
        json.dumps(
            {
                "accuracy": float(found[("accuracy", "value")].iloc[0]),
                "f1_macro": float(found[("f1", "value")].iloc[0]),
            }
        )
    )


if __name__ == "__main__":
    main()
