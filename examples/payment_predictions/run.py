"""`make run`: the registry part of the payment-prediction flow, on the local home.

Generates customers and invoices, trains a model that predicts whether an invoice will be
paid on time, late or very late, registers it in `sandbox/payments` with its metrics and
input example, makes it the champion if it beats the current one, and shows it.
Everything goes through modelyard's public SDK and CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.payment_predictions.data import FEATURES, customers, invoices

from modelyard import Client

CATEGORICAL = ["customer_group", "region", "currency"]


def train() -> tuple[Pipeline, dict[str, float], object, object]:
    data = invoices(customers())
    data = data.sort_values("invoice_date")
    cut = int(len(data) * 0.8)
    train_set, test_set = data.iloc[:cut], data.iloc[cut:]
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)], remainder="passthrough"
    )
    model = Pipeline(
        [("prep", pre), ("clf", HistGradientBoostingClassifier(max_iter=150, random_state=0))]
    )
    model.fit(train_set[FEATURES], train_set["label"])
    predicted = model.predict(test_set[FEATURES])
    naive = test_set["label"].value_counts().index[0]
    metrics = {
        "accuracy": float(accuracy_score(test_set["label"], predicted)),
        "f1_macro": float(f1_score(test_set["label"], predicted, average="macro")),
        "naive_accuracy": float((test_set["label"] == naive).mean()),
    }
    return model, metrics, train_set, test_set


def deploy(client: Client, test_set: object) -> None:
    """Serve the champion as the `payments` deployment (a new revision when it changed),
    then score the held-out invoices as a batch job, as `modelyard predict` does."""
    names = {d.name for d in client.list_deployments()}
    if "payments" in names:
        current = client.get_deployment("payments").revision.live[0].name
        champion = client.get_version("payments@champion")
        if current != f"payments:{champion.version}":
            d = client.update_deployment("payments", ["payments@champion"])
            served = d.revision.live[0].name
            print(f"deployment payments: revision {d.revision.number} serves {served}")
    else:
        d = client.create_deployment("payments", ["payments@champion"])
        print(f"deployment payments serves {d.revision.live[0].name}; scoring keys (shown once):")
        for slot, secret in d.new_keys.items():
            print(f"  {slot}: {secret}")
    batch = client.settings.resolved_home / "open-invoices.parquet"
    test_set[FEATURES].to_parquet(batch)  # type: ignore[attr-defined]
    test_set[FEATURES].head(3).to_csv(batch.with_suffix(".csv"), index=False)  # type: ignore[attr-defined]
    result = client.predict_file("payments", batch, batch.with_name("open-invoices.scored.parquet"))
    print(f"batch: scored {result.scored} invoices with {result.model_version} -> {result.output}")


def main() -> None:
    print("training the payment-outcome model on generated invoices...")
    model, metrics, train_set, test_set = train()
    print("  " + ", ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
    with Client() as client:
        training = client.register_dataset(
            "payment-invoices", train_set, description="generated invoices, training split"
        )
        print(f"registered dataset {training.ref} ({training.rows} rows)")
        version = client.log_model(
            model,
            "payments",
            input_example=test_set[FEATURES].head(50),
            metrics=metrics,
            tags={"team": "finance", "label": "payment_bucket", "late_days": "30"},
            params={"algorithm": "HistGradientBoosting", "max_iter": 150},
            datasets=[training.ref],
            description="Predicts on time / late / very late for open invoices.",
        )
        print(f"registered {version.ref}  ({version.package_digest[:19]}...)")
        model_info = client.get_model("payments")
        champion = model_info.aliases.get("champion")
        best = (
            client.get_version(f"payments:{champion}").metrics.get("f1_macro", 0)
            if champion
            else -1.0
        )
        if metrics["f1_macro"] >= best:
            client.set_alias("payments", "champion", version.version)
            print(f"payments@champion -> {version.version}")
        loaded = client.load_model("sandbox/payments@champion")
        open_invoices = test_set[FEATURES].tail(5)
        print("predictions for five open invoices:", list(loaded.predict(open_invoices)))
        deploy(client, test_set)
    cli = [sys.executable, "-m", "modelyard.cli.app"]
    subprocess.run([*cli, "models", "show", "payments@champion"], check=True)
    subprocess.run(
        [
            *cli,
            "models",
            "search",
            "metrics.f1_macro > 0.4",
            "--order-by",
            "metrics.f1_macro DESC",
            "-n",
            "5",
        ],
        check=True,
    )
    print(
        "\nnext: `.venv/bin/modelyard models --help`, `.venv/bin/modelyard audit`, "
        "`.venv/bin/modelyard doctor`"
    )
    print(
        "serve it: `MODELYARD_AUTH=false .venv/bin/modelyard server`, then score three "
        "invoices:\n  curl -s localhost:8600/v1/deployments/payments/predict "
        "-H 'content-type: text/csv' --data-binary @.modelyard/open-invoices.csv"
    )


if __name__ == "__main__":
    main()
