"""The monitoring commands as a user runs them on a home a live app is scoring into:
datasets, monitor, feedback, alerts, snapshot; one-line errors with exit code 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tests.cli.conftest import Result, cli  # noqa: F401  (the fixture)
from tests.monitoring.conftest import FEATURES, Watched, invoices

Cli = Callable[..., Result]


def test_monitoring_from_the_command_line(cli: Cli, watched: Watched, tmp_path: Path) -> None:  # noqa: F811
    rows = invoices(3_000, seed=12)
    rows["amount"] *= 2
    answers = watched.score(rows, batch=1_000)
    watched.flush()

    r = cli("monitor", "pay")
    assert r.code == 0, r.err
    assert "3,000 live rows" in r.out and "DRIFT" in r.out and "no feedback" in r.out
    r = cli("monitor", "pay", "--since", "1h", "--json")
    report = r.json()
    assert report["rows"] == 3_000 and "amount" in report["variants"][0]["drifted_features"]

    labels = rows["label"].to_numpy()
    feedback = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "request_id": [answers[0][0]] * 500,
            "row": range(500),
            "actual": labels[:500],
        }
    ).to_csv(feedback, index=False)
    r = cli("feedback", "pay", feedback)
    assert r.code == 0 and "accepted 500" in r.out
    r = cli("monitor", "pay", "--json")
    assert r.json()["performance"]["rows"] == 500
    assert "accuracy" in cli("monitor", "pay").out
    history = cli("monitor", "pay", "--history", "--json").json()
    assert len(history) == 4 and history[0]["summary"]["feedback_rows"] == 500

    r = cli(
        "alerts",
        "add",
        "pay",
        "amount-drift",
        "--signal",
        "feature_drift",
        "--feature",
        "amount",
        "--threshold",
        "0.2",
        "--every",
        "1h",
    )
    assert r.code == 0, r.err
    assert "feature_drift(amount) > 0.2 over 1h" in r.out
    r = cli("alerts", "evaluate", "pay", "--json")
    # fired now, or a moment ago by the server's own scheduler: one alert either way
    assert [o["firing"] for o in r.json()] == [True]
    firing = cli("alerts", "list", "--firing", "--json").json()
    assert [a["rule"] for a in firing] == ["amount-drift"]
    assert "amount-drift" in cli("alerts", "list").out
    assert "amount-drift" in cli("alerts", "rules").out

    r = cli(
        "datasets",
        "snapshot",
        "retrain",
        "--from-deployment",
        "pay",
        "--since",
        "1h",
        "--with-feedback",
        "--json",
    )
    assert r.code == 0, r.err
    snap = r.json()
    assert snap["rows"] == 3_000 and [c["name"] for c in snap["columns"]] == [*FEATURES, "actual"]
    assert "retrain" in cli("datasets", "list").out
    out = tmp_path / "retrain.parquet"
    assert cli("datasets", "download", "retrain:1", "-o", out).code == 0
    assert pd.read_parquet(out)["actual"].notna().sum() == 500
    assert cli("alerts", "delete", "pay", "amount-drift").code == 0
    assert cli("alerts", "rules", "--json").json() == []

    errors = [
        (("monitor", "nope"), "deployment 'nope' does not exist"),
        (("monitor", "pay", "--since", "yesterday"), "invalid --since 'yesterday'"),
        (("feedback", "pay", tmp_path / "missing.csv"), "no such file"),
        (
            ("alerts", "add", "pay", "x", "--signal", "vibes", "--threshold", "1"),
            "unknown signal 'vibes'",
        ),
        (
            (
                "datasets",
                "snapshot",
                "x",
                "--from-deployment",
                "pay",
                "--since",
                "3h",
                "--until",
                "2h",
            ),
            "collected no",
        ),
        (("datasets", "show", "retrain:9"), "dataset version sandbox/retrain:9 does not exist"),
    ]
    no_actual = tmp_path / "no-actual.csv"
    pd.DataFrame({"request_id": ["a"]}).to_csv(no_actual, index=False)
    errors.append((("feedback", "pay", no_actual), "lacks column(s) actual"))
    for args, message in errors:
        r = cli(*args)
        assert r.code == 1, args
        assert r.err.startswith("error: ") and message in r.err, r.err
        assert r.err.count("\n") == 1 and "Traceback" not in r.err


def test_datasets_from_the_command_line(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    data = invoices(500, seed=13)
    path = tmp_path / "invoices.csv"
    data.to_csv(path, index=False)
    r = cli("datasets", "register", "invoices", path, "--json")
    assert r.code == 0, r.err
    assert r.json()["ref"] == "sandbox/invoices:1" and r.json()["rows"] == 500
    assert cli("datasets", "register", "invoices", path).code == 0
    shown = cli("datasets", "show", "invoices")
    assert "sandbox/invoices:2" in shown.out and "late_share" in shown.out and "nulls" in shown.out
    listed = cli("datasets", "versions", "invoices", "--json").json()
    assert [d["version"] for d in listed] == [1, 2]
    assert listed[0]["digest"] == listed[1]["digest"]  # same bytes, one stored object
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    r = cli("datasets", "register", "invoices", notes)
    assert r.code == 1 and "expected a .csv or .parquet file" in r.err
    assert len(cli("datasets", "versions", "invoices", "--json").json()) == 2
