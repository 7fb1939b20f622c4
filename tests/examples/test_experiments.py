"""``modelyard experiment run``: every feature subset x filter trained, recorded with its
data fingerprint and ranked; the best registered; nothing deployed touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from examples.payment_predictions.data import FEATURES
from examples.payment_predictions.pipeline import generate, split, train

from modelyard import Client, Settings
from tests.cli.conftest import Result, cli  # noqa: F401  (the fixture)

Cli = Callable[..., Result]
EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "payment_predictions" / "experiments.yaml"
)


def test_experiments_rank_runs_and_register_the_best(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    train_set, test_set = split(generate())
    with Client(settings=Settings(home=tmp_path / "home", actor="carol")) as c:
        c.register_dataset("payment-invoices", train_set.head(2000))
        c.register_dataset("payment-holdout", test_set.head(1000))
        model = train(train_set.head(2000))
        v = c.log_model(model, "payments", input_example=test_set[FEATURES].head(5))
        before = c.create_deployment("payments", [v.ref]).revision.number

    quick = tmp_path / "experiments.yaml"  # the example, with a quicker trainer
    quick.write_text(EXAMPLE.read_text() + "trainer_options: {max_iter: 10}\n")
    r = cli("experiment", "run", quick, "--register-best", "payments", "--json")
    assert r.code == 0, r.err
    found = r.json()
    runs = found["runs"]
    assert len(runs) == 12  # 3 feature subsets x 4 filters
    scores = [x["metrics"]["f1_macro"] for x in runs]
    assert scores == sorted(scores, reverse=True)
    by_name = {x["name"]: x for x in runs}
    assert by_name["all x everything"]["rows"] == 2000
    assert by_name["all x no-public-sector"]["rows"] < 2000
    assert found["registered"] == "sandbox/payments:2"

    recorded = cli(
        "experiment", "runs", "payment-features", "--rank-by", "f1_macro", "--json"
    ).json()
    assert [x["name"] for x in recorded] == [x["name"] for x in runs]
    prints = {x["name"]: x["data_fingerprint"] for x in recorded}
    assert prints["all x everything"] != prints["all x since-2025-04"]
    assert len({x["data_fingerprint"] for x in recorded}) == 12

    with Client(settings=Settings(home=tmp_path / "home")) as c:
        best = c.get_version("payments:2")
        assert best.tags == {"experiment": "payment-features", "run": runs[0]["name"]}
        assert c.get_deployment("payments").revision.number == before  # untouched
        assert [d.name for d in c.list_deployments()] == ["payments"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(quick.read_text().replace("min: {amount: 500}", "min: {amount_usd: 500}"))
    r = cli("experiment", "run", bad)
    assert r.code == 1 and "column 'amount_usd', which the dataset does not have" in r.err
