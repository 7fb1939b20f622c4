"""`make run`: seed a live system with the payment-prediction flow, then keep serving it.

On a fresh home (``MODELYARD_HOME``, default ``./.modelyard``), through modelyard's public
SDK against a real server on 127.0.0.1:

generate data → check → train → register the datasets and the model (with its baseline)
→ evaluate on the holdout → deploy to ``payments-sandbox`` → smoke test → promotion
request by ``dana`` → approval by ``alex`` (another user) → the ``payments`` production
deployment → a day of scored invoices with a drift episode (small businesses pay worse,
amounts grow) and feedback → alert rules evaluated: they fire → the nightly batch job on
the open invoices (collected, a dataset version, a BI table) → the per-customer view.

Then the server keeps running at http://127.0.0.1:8600/ (the admin token is printed). A
second run finds the seeded home and only starts the server. ``--seed-only`` stops the
server after seeding (tests and CI).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.payment_predictions.data import FEATURES, customers, drifted, invoices
from examples.payment_predictions.pipeline import finance_view, generate, split, train
from examples.payment_predictions.report import render, report

from modelyard import Client, Settings

STATE = "demo.json"
REQUEST_ROWS = 25
KEYS = ["invoice_id", "customer_id", "due_date"]


@contextlib.contextmanager
def server(home: Path, port: int, token: str) -> Iterator[subprocess.Popen[bytes]]:
    """``modelyard server`` for ``home``, ready; stopped on the way out, however we leave."""
    exe = Path(sys.executable).with_name("modelyard")
    env = {
        **os.environ,
        "MODELYARD_HOME": str(home),
        "MODELYARD_ADMIN_TOKEN": token,
        "MODELYARD_ALERT_SECONDS": "5",
        # the one database batch jobs may append to: the finance team's BI tables
        "MODELYARD_JOB_DATABASES": json.dumps({"bi": f"sqlite:///{home / 'bi.db'}"}),
    }
    process = subprocess.Popen(
        [str(exe), "server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start on port {port} (is the port in use?)")
            time.sleep(0.2)
        yield process
    finally:
        # SIGTERM, not SIGINT: after a Ctrl-C that reached the server too, a second SIGINT
        # would make uvicorn skip the graceful stop (and the flush of collected data)
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def client(url: str, token: str, home: Path) -> Client:
    return Client(settings=Settings(home=home / "client", url=url, token=token))


def step(text: str) -> None:
    print(f"• {text}", flush=True)


def seed(home: Path, url: str, token: str) -> dict[str, Any]:
    admin = client(url, token, home)
    step("generating customers and invoices; checking and training the model")
    data = generate()
    train_set, test_set = split(data)
    open_set = data[~data["settled"]]
    model = train(train_set)
    training = admin.register_dataset("payment-invoices", train_set, description="training split")
    holdout = admin.register_dataset("payment-holdout", test_set, description="latest settled")
    version = admin.log_model(
        model,
        "payments",
        input_example=test_set[FEATURES].head(50),
        tags={"team": "finance", "label": "payment_bucket", "late_days": "30"},
        params={"algorithm": "HistGradientBoosting", "max_iter": 150},
        datasets=[training.ref],
        description="Predicts on time / late / very late for open invoices.",
    )
    evaluation = admin.evaluate(version.ref, holdout.ref)
    print(render(report(evaluation.metrics, evaluation.details)))
    admin.set_alias("payments", "champion", version.version)

    step("users: dana (sandbox developer) and alex (production approver)")
    tokens = {}
    for user, grants in (
        ("dana", [("sandbox", "developer")]),
        ("alex", [("production", "approver")]),
    ):
        admin.create_user(user)
        for env, role in grants:
            admin.grant(user, env, role)
        tokens[user] = admin.create_token("demo", user=user).secret
    admin.set_gates(
        "production", evaluation="payment-holdout", thresholds=["f1_macro >= 0.5"], approvals=1
    )

    step("sandbox deployment and smoke test")
    keys = {"keys": KEYS}  # ride along, never given to the model
    admin.create_deployment("payments-sandbox", [version.ref], options=keys)
    smoke = home / "open-invoices.parquet"
    open_set[[*KEYS, *FEATURES]].astype({"due_date": str}).to_parquet(smoke)
    open_set[FEATURES].head(3).to_csv(smoke.with_suffix(".csv"), index=False)
    scored = admin.predict_file(
        "payments-sandbox", smoke, home / "open-invoices.scored.parquet", explain=3
    )
    print(f"  smoke test: {scored.scored} of {scored.rows} open invoices scored, top factors")

    step("promotion: requested by dana, approved by alex")
    dana, alex = client(url, tokens["dana"], home), client(url, tokens["alex"], home)
    request = dana.promote(version.ref, to="production", note="first release")
    done = alex.approve(request.id, comment="evaluation and gates look right")
    print(f"  request {done.id}: {done.state} as {done.result}")
    # outcomes count 30 days after the due date (the "very late" line); amounts make money
    finance = {**keys, "maturity_column": "due_date", "maturity_days": 30}
    production = admin.create_deployment(
        "payments",
        [done.result or ""],
        environment="production",
        options={**finance, "amount_column": "amount"},
    )
    key = production.new_keys["primary"]

    step("a day of invoices scored in production, the last third from a drifting quarter")
    cust = customers()
    normal = invoices(cust, n=1600, seed=31, start=pd.Timestamp("2026-03-01"), days=90)
    # invoices of their own: the open ones (scored by the nightly job below) are others
    normal = normal.assign(invoice_id=lambda f: "P-" + f.invoice_id)
    today = pd.Timestamp.now().normalize()
    recent = today - pd.Timedelta(days=90)  # its newest invoices are not due yet
    later = drifted(cust, n=800, start=recent).assign(invoice_id=lambda f: "Q-" + f.invoice_id)
    day = pd.concat([normal, later], ignore_index=True)
    score(url, key, day)
    time.sleep(1.5)  # the collector writes every second
    # outcomes arrive by invoice, week after week as invoices are paid: each labels that
    # invoice's latest score; those paid after today are not known yet
    known = day[day.payment_date <= today]
    weeks = known.groupby(known.payment_date.dt.to_period("W"))
    accepted = 0
    for _, week in weeks:
        found = admin.send_feedback(
            "payments",
            [
                {"invoice_id": i, "actual": a}
                for i, a in zip(week.invoice_id, week.label, strict=True)
            ],
            key="invoice_id",
        )
        accepted += found.accepted
    print(f"  outcomes: {accepted} over {len(weeks)} weeks, joined by invoice_id")
    admin.create_alert_rule(
        "payments", "feature-drift", "drift_share", 0.15, window="1h", every="5m"
    )
    admin.create_alert_rule(
        "payments", "accuracy-drop", "accuracy", 0.65, op="<", window="1h", every="5m"
    )
    outcomes = admin.evaluate_alerts("payments")
    summary = admin.monitor("payments", since="1h")
    section = summary["variants"][0]
    print(f"  drifted features: {', '.join(section['drifted_features']) or 'none'}")
    live = summary["summary"]
    print(
        f"  live accuracy {live['accuracy']:.1%} on {live['feedback_rows']} matured rows with "
        f"feedback; {summary['pending']} rows wait for their invoices to mature"
    )
    for o in outcomes:
        print(f"  alert {o['rule']}: value {o['value']:.3f} -> {o['change'] or 'no change'}")
    by_group = admin.monitor("payments", since="1h", by="customer_group", store=False)
    for part in by_group["segments"]:
        accuracy = part["summary"]["accuracy"]
        shown = "-" if accuracy is None else f"{accuracy:.1%}"
        print(f"  segment {part['value']:<15} rows {part['rows']:>5}  accuracy {shown:>6}")

    step("the nightly job: open invoices scored in production, into a dataset and a BI table")
    jobs = home / "jobs"  # where jobs may read and write (MODELYARD_JOB_ROOTS)
    jobs.mkdir(exist_ok=True)
    open_set[[*KEYS, *FEATURES]].astype({"due_date": str}).to_parquet(jobs / "open.parquet")
    tonight = (today + pd.Timedelta(days=1, hours=2)).isoformat()
    admin.create_job(
        "open-invoices",
        "payments",
        str(jobs / "open.parquet"),
        str(jobs / "scored" / "{date}.parquet"),
        every="1d",
        start=tonight,
        table="bi:invoice_predictions",
        explain=3,
    )
    run = admin.run_job("open-invoices")  # once now; then every night at 02:00
    print(
        f"  run {run.number}: {run.scored} open invoices scored with their top factors -> "
        f"{run.output}, dataset {run.dataset}, {run.table_rows} rows in bi:invoice_predictions"
    )

    step("what the finance team reads: buckets and top factors, money per customer")
    out = pd.read_parquet(run.output or "")
    classes = [c.removeprefix("probability_") for c in out.columns if c.startswith("probability_")]
    per_invoice, per_customer = finance_view(open_set, out, classes)
    per_invoice.to_csv(home / "open-invoices.buckets.csv", index=False)
    per_customer.to_csv(home / "customers.expected.csv")
    print(per_customer.head(5).to_string())
    first = per_invoice.iloc[0]
    print(
        f"  invoice {first.invoice_id}: "
        + ", ".join(f"{first[f'factor_{k}']} {first[f'contribution_{k}']:+.3f}" for k in (1, 2, 3))
    )
    money = admin.money("payments", since="1h")
    matured = money["matured"]
    if matured is not None:
        print(f"  money in production, {matured['rows']} matured invoices (expected / realized):")
        for bucket in money["classes"]:
            print(
                f"    {bucket:<10} {matured['expected'][bucket]:>14,.2f} "
                f"{matured['realized'][bucket]:>14,.2f}"
            )
    for c in (admin, dana, alex):
        c.close()
    return {"production_key": key, "drifted": section["drifted_features"]}


def score(url: str, key: str, frame: pd.DataFrame) -> None:
    """Score ``frame`` through the production deployment, ``REQUEST_ROWS`` per request,
    with its invoice and customer ids (echoed back, kept with the collected rows)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
        for start in range(0, len(frame), REQUEST_ROWS):
            part = frame.iloc[start : start + REQUEST_ROWS]
            body = part[[*KEYS, *FEATURES]].to_json(orient="records", date_format="iso")
            r = http.post(
                "/v1/deployments/payments/predict",
                content=f'{{"inputs": {body}}}',
                headers={"content-type": "application/json"},
            )
            r.raise_for_status()
            assert r.json()["keys"]["invoice_id"] == part.invoice_id.tolist()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument("--seed-only", action="store_true", help="stop the server after seeding")
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) would end Python without unwinding, and leave the server running
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    home = Settings().resolved_home
    home.mkdir(parents=True, exist_ok=True)
    state_file = home / STATE
    url = f"http://127.0.0.1:{args.port}"
    started = time.monotonic()
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    token = state["admin_token"] if state else "myd_" + secrets.token_urlsafe(32)
    with server(home, args.port, token) as process:
        if state:
            took = time.monotonic() - started
            print(f"the home {home} is seeded already: serving it ({took:.1f} s)")
        else:
            state = {"admin_token": token, **seed(home, url, token)}
            fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(state, out)
            print(f"seeded in {time.monotonic() - started:.1f} s")
        print(f"\nmodelyard is serving {url}/  (API docs {url}/docs, metrics {url}/metrics)")
        print(f"admin token: {token}")
        print(f"  export MODELYARD_URL={url} MODELYARD_TOKEN={token}")
        print("  .venv/bin/modelyard monitor payments --since 1h ; .venv/bin/modelyard alerts list")
        if not args.seed_only:
            with contextlib.suppress(KeyboardInterrupt):
                process.wait()


if __name__ == "__main__":
    main()
