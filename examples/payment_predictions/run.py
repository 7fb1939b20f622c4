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

import pandas as pd
from sklearn.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.payment_predictions.data import FEATURES
from examples.payment_predictions.pipeline import finance_view, generate, split, train
from examples.payment_predictions.report import render, report

from modelyard import Client


def train_and_split() -> tuple[Pipeline, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    data = generate()
    train_set, test_set = split(data)
    return train(train_set), train_set, test_set, data[~data["settled"]]


def deploy(client: Client, open_set: pd.DataFrame) -> None:
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
    open_set[FEATURES].to_parquet(batch)
    open_set[FEATURES].head(3).to_csv(batch.with_suffix(".csv"), index=False)
    scored = batch.with_name("open-invoices.scored.parquet")
    result = client.predict_file("payments", batch, scored)
    print(f"batch: scored {result.scored} open invoices with {result.model_version} -> {scored}")
    out = pd.read_parquet(scored)
    classes = [c.removeprefix("probability_") for c in out.columns if c.startswith("probability_")]
    probabilities = out[[f"probability_{c}" for c in classes]].to_numpy()
    per_invoice, per_customer = finance_view(open_set, probabilities, classes)
    home = client.settings.resolved_home
    per_invoice.to_csv(home / "open-invoices.buckets.csv", index=False)
    per_customer.to_csv(home / "customers.expected.csv")
    target = home / "customers.expected.csv"
    print(f"per customer: open balance and expected amount per bucket -> {target}")
    print(per_customer.head(5).to_string())


def main() -> None:
    print("training the payment-outcome model on generated invoices...")
    model, train_set, test_set, open_set = train_and_split()
    with Client() as client:
        training = client.register_dataset(
            "payment-invoices", train_set, description="generated invoices, training split"
        )
        holdout = client.register_dataset(
            "payment-holdout", test_set, description="the latest settled invoices, held out"
        )
        print(f"registered datasets {training.ref} ({training.rows} rows), {holdout.ref}")
        version = client.log_model(
            model,
            "payments",
            input_example=test_set[FEATURES].head(50),
            tags={"team": "finance", "label": "payment_bucket", "late_days": "30"},
            params={"algorithm": "HistGradientBoosting", "max_iter": 150},
            datasets=[training.ref],
            description="Predicts on time / late / very late for open invoices.",
        )
        print(f"registered {version.ref}  ({version.package_digest[:19]}...)")
        evaluation = client.evaluate(version.ref, holdout.ref)
        metrics = evaluation.metrics
        print(
            render(
                report(metrics, evaluation.details, model, test_set[FEATURES], test_set["label"])
            )
        )
        champion = client.get_model("payments").aliases.get("champion")
        earlier = client.evaluations(f"payments:{champion}") if champion else []
        best = earlier[-1].metrics["f1_macro"] if earlier else -1.0
        if metrics["f1_macro"] >= best:
            client.set_alias("payments", "champion", version.version)
            print(f"payments@champion -> {version.version}")
        deploy(client, open_set)
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
