"""What an alert rule can watch: the signals of a monitoring report's summary."""

from __future__ import annotations

from types import MappingProxyType

SIGNALS = MappingProxyType(
    {
        "rows": "live rows scored in the window",
        "drift_share": "share of features that drifted (worst variant)",
        "drifted_features": "number of features that drifted (worst variant)",
        "feature_drift": "drift score of one feature (--feature)",
        "prediction_drift": "drift score of the predictions",
        "null_rate": "highest null rate of any feature",
        "type_error_rate": "highest share of values of the wrong type",
        "out_of_bounds_rate": "highest share outside the baseline's range or categories",
        "feedback_rows": "rows with feedback in the window",
        "accuracy": "accuracy on rows with feedback",
        "f1_macro": "macro F1 on rows with feedback",
        "mae": "mean absolute error on rows with feedback (regressors)",
        "rmse": "root mean squared error on rows with feedback (regressors)",
        "estimated_accuracy": "accuracy estimated from the probabilities, before labels "
        "arrive (when its calibration check passes)",
        "estimated_f1_macro": "macro F1 estimated the same way",
        "money_gap": "the money view's largest gap between expected and realized amount in a "
        "class, as a share of the matured amount (deployments with an amount column)",
    }
)
