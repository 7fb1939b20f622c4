"""Training data, the model, and the finance team's view of its predictions."""

from __future__ import annotations

import pandas as pd
from examples.payment_predictions.checks import check_training
from examples.payment_predictions.data import AS_OF, FEATURES, customers, invoices
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

CATEGORICAL = ["customer_group", "region", "currency"]


def generate(seed: int = 11, late_days: int = 30) -> pd.DataFrame:
    """Every invoice up to ``AS_OF``: settled ones with their bucket, open ones without."""
    return invoices(customers(), seed=seed, late_days=late_days, as_of=AS_OF)


def split(data: pd.DataFrame, holdout: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Settled invoices in time order: the last ``holdout`` share is for evaluation."""
    settled = data[data["settled"]].sort_values(["invoice_date", "invoice_id"])
    cut = int(len(settled) * (1 - holdout))
    return settled.iloc[:cut], settled.iloc[cut:]


def build_model(features: list[str], max_iter: int = 150) -> Pipeline:
    categorical = [c for c in CATEGORICAL if c in features]
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), categorical)], remainder="passthrough"
    )
    return Pipeline(
        [("prep", pre), ("clf", HistGradientBoostingClassifier(max_iter=max_iter, random_state=0))]
    )


def train(train_set: pd.DataFrame, features: list[str] = FEATURES) -> Pipeline:
    """The checks first (enough data, no leaking feature), then the fit."""
    check_training(train_set, features)
    return build_model(features).fit(train_set[features], train_set["label"])


def finance_view(
    open_invoices: pd.DataFrame, scored: pd.DataFrame, classes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per open invoice, the probability of each bucket and its top factors (joined by
    ``invoice_id``, which the deployment echoes with each scored row); per customer, the
    open balance and the amount expected in each bucket (the sum of amount x probability)."""
    factors = [c for c in scored.columns if c.startswith(("factor_", "contribution_"))]
    wanted = ["invoice_id", *(f"probability_{c}" for c in classes), *factors]
    per_invoice = open_invoices[["invoice_id", "customer_id", "amount", "due_date"]].merge(
        scored[wanted].rename(columns={f"probability_{c}": f"p_{c}" for c in classes}),
        on="invoice_id",
        how="inner",
        validate="one_to_one",
    )
    expected = {f"expected_{b}": per_invoice["amount"] * per_invoice[f"p_{b}"] for b in classes}
    per_customer = (
        per_invoice.assign(**expected)
        .groupby("customer_id")
        .agg(
            open_balance=("amount", "sum"),
            open_invoices=("invoice_id", "count"),
            **{k: (k, "sum") for k in expected},
        )
        .sort_values("open_balance", ascending=False)
        .round(2)
    )
    return per_invoice, per_customer
