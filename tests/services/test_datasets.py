"""Datasets: versions, schema, profile, lineage and baselines, embedded and remote, on
SQLite and PostgreSQL; bad input changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, InvalidInput, InvalidName, NotFound, PermissionDenied
from modelyard.domain.auth import Principal, Role
from modelyard.services.container import Services


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 500.0, n),
            "terms_days": rng.integers(10, 90, n),
            "group": rng.choice(["retail", "public"], n),
        }
    )
    data.loc[data.index[:10], "amount"] = np.nan
    data["label"] = np.where(data["terms_days"] > 45, "late", "on_time")
    return data


def state(yard: Client) -> tuple[int, list[str]]:
    events = yard.audit(limit=1000)
    return len(events), [f"{d.ref}" for d in yard.list_datasets()]


def test_files_and_frames_become_numbered_versions(yard: Client, tmp_path: Path) -> None:
    data = frame(2000)
    csv = tmp_path / "invoices.csv"
    data.to_csv(csv, index=False)
    parquet = tmp_path / "invoices.parquet"
    data.to_parquet(parquet, index=False)

    first = yard.register_dataset("invoices", csv, description="march")
    second = yard.register_dataset("invoices", parquet)
    third = yard.register_dataset("invoices", data.head(100))
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert (first.format, second.format, third.format) == ("csv", "parquet", "parquet")
    # the digest is the file's own sha256: anyone can check what was stored
    assert first.digest == "sha256:" + hashlib.sha256(csv.read_bytes()).hexdigest()
    assert first.rows == 2000 and third.rows == 100
    assert {c.name: c.type for c in first.columns} == {
        "amount": "float",
        "terms_days": "integer",
        "group": "string",
        "label": "string",
    }
    amount = first.profile["features"]["amount"]
    assert amount["kind"] == "numerical"
    assert amount["null_rate"] == pytest.approx(10 / 2000)
    assert amount["min"] == pytest.approx(data["amount"].min())
    assert amount["max"] == pytest.approx(data["amount"].max())
    group = first.profile["features"]["group"]
    assert group["top"] == data["group"].value_counts().to_dict()

    assert [d.version for d in yard.list_dataset_versions("invoices")] == [1, 2, 3]
    assert yard.get_dataset("invoices").version == 3  # no version: the latest
    assert [d.ref for d in yard.list_datasets()] == ["sandbox/invoices:3"]
    back = yard.load_dataset("invoices:2")
    pd.testing.assert_frame_equal(back, data, check_dtype=False)
    actions = [e.action for e in yard.audit(limit=1000)]
    assert actions.count("dataset.registered") == 3


def test_bad_input_is_refused_and_changes_nothing(yard: Client, tmp_path: Path) -> None:
    yard.register_dataset("invoices", frame(50))
    before = state(yard)
    text = tmp_path / "notes.txt"
    text.write_text("a,b\n1,2\n")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    empty = tmp_path / "empty.csv"
    empty.write_text("amount,group\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    cases = [
        (InvalidInput, "expected a .csv or .parquet", lambda: yard.register_dataset("x", text)),
        (InvalidInput, "cannot read 'broken.parquet'", lambda: yard.register_dataset("x", broken)),
        (InvalidInput, "has no rows", lambda: yard.register_dataset("x", empty)),
        (
            InvalidInput,
            "cannot read 'ragged.csv' as csv",
            lambda: yard.register_dataset("x", ragged),
        ),
        (InvalidInput, "no such file", lambda: yard.register_dataset("x", tmp_path / "nope.csv")),
        (InvalidName, "invalid dataset name", lambda: yard.register_dataset("bad name", frame(5))),
        (InvalidName, "not a version", lambda: yard.register_dataset("invoices:1", frame(5))),
        (
            NotFound,
            "unknown environment 'staging'",
            lambda: yard.register_dataset("staging/x", frame(5)),
        ),
        (
            NotFound,
            "dataset version sandbox/invoices:7 does not exist",
            lambda: yard.get_dataset("invoices:7"),
        ),
        (NotFound, "dataset sandbox/nope does not exist", lambda: yard.get_dataset("nope")),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=message):
            call()
    assert state(yard) == before
    assert not yard.doctor().findings


def test_lineage_names_exact_versions_and_stores_the_baseline(yard: Client) -> None:
    data = frame(3000)
    x, y = data[["amount", "terms_days"]].fillna(0), data["label"]
    model = LogisticRegression(max_iter=500).fit(x, y)
    yard.register_dataset("invoices", data.fillna(0))
    holdout = yard.register_dataset("holdout", data.fillna(0).tail(500))

    v = yard.log_model(
        model, "payments", input_example=x.head(), datasets=["invoices"], eval_datasets=["holdout"]
    )
    assert v.lineage.datasets == ("sandbox/holdout:1", "sandbox/invoices:1")
    assert yard.get_dataset("invoices:1").used_by == ("sandbox/payments:1 (training)",)
    assert yard.get_dataset(holdout.ref).used_by == ("sandbox/payments:1 (evaluation)",)

    baseline = yard.get_baseline("payments:1")
    assert baseline["dataset"] == "sandbox/invoices:1" and baseline["rows"] == 3000
    # only the model's input columns, profiled; and its predictions on every row
    assert set(baseline["features"]) == {"amount", "terms_days"}
    predicted = pd.Series(model.predict(x)).value_counts().to_dict()
    assert baseline["predictions"]["prediction"]["counts"] == predicted
    assert baseline["features"]["amount"]["count"] == 3000

    # an SDK frame becomes a dataset of its own, so the baseline has lineage too
    v2 = yard.log_model(model, "payments", input_example=x.head(), baseline=data.fillna(0))
    assert v2.lineage.datasets == ("sandbox/payments-training:1",)
    assert yard.get_baseline("payments:2")["rows"] == 3000


def test_registering_against_a_missing_or_unfit_dataset_changes_nothing(yard: Client) -> None:
    data = frame(200).fillna(0)
    x = data[["amount", "terms_days"]]
    model = LogisticRegression(max_iter=500).fit(x, data["label"])
    yard.register_dataset("other", data[["group"]])
    before = state(yard)
    with pytest.raises(NotFound, match="dataset sandbox/invoices does not exist"):
        yard.log_model(model, "payments", input_example=x.head(), datasets=["invoices"])
    with pytest.raises(InvalidInput, match="lacks the model's input column"):
        yard.log_model(model, "payments", input_example=x.head(), datasets=["other:1"])
    assert state(yard) == before
    assert yard.list_models() == []
    with pytest.raises(NotFound):
        yard.get_baseline("payments:1")


def test_doctor_checks_dataset_files(client: Client, services: Services) -> None:
    d = client.register_dataset("invoices", frame(100))
    assert not client.doctor().findings
    stored = services.artifacts.path(d.digest)
    table = pq.read_table(stored)
    Path(stored).chmod(0o644)
    pq.write_table(table.slice(0, 50), stored)  # same name, other bytes
    codes = {f.kind for f in client.doctor().findings}
    assert "dataset_corrupt" in codes


def test_production_data_reaches_the_sandbox_dropped_and_masked(yard: Client) -> None:
    data = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c1", None, "c3"],
            "email": ["a@x", "b@x", "a@x", "d@x", "e@x"],
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    source = yard.register_dataset("production/invoices", data)
    before = state(yard)
    for kwargs, message in [
        ({"drop": ["phone"]}, "no column 'phone' to drop or mask"),
        ({"drop": ["email"], "mask": ["email"]}, "both dropped and masked"),
        ({"drop": ["customer_id", "email", "amount"]}, "every column would be dropped"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            yard.snapshot_dataset("invoices", dataset=source.ref, **kwargs)  # type: ignore[arg-type]
    assert state(yard) == before

    copy = yard.snapshot_dataset(
        "invoices", dataset=source.ref, drop=["email"], mask=["customer_id"]
    )
    assert copy.ref == "sandbox/invoices:1" and copy.source == "dataset:production/invoices:1"
    assert "dropped email" in copy.description and "masked customer_id" in copy.description
    frame = yard.load_dataset(copy.ref)
    assert list(frame.columns) == ["customer_id", "amount"]
    ids = frame["customer_id"].tolist()
    assert ids[0] == ids[2] != ids[1] and pd.isna(ids[3])
    assert all(i.startswith("h_") and len(i) == 22 for i in ids if isinstance(i, str))
    assert "c1" not in ids
    again = yard.snapshot_dataset("invoices", dataset=source.ref, mask=["customer_id"])
    same = yard.load_dataset(again.ref)["customer_id"].tolist()
    assert same[:3] == ids[:3] and same[4] == ids[4]  # the same key, the same hashes


def test_copying_needs_read_at_the_source_and_register_at_the_target(
    client: Client, services: Services
) -> None:
    client.register_dataset("production/invoices", frame(20))
    sandbox_only = Principal("dev", roles={"sandbox": frozenset({Role.DEVELOPER})})
    with pytest.raises(PermissionDenied, match="may not read in 'production'"):
        services.bind(sandbox_only).datasets.snapshot("x", "production/invoices:1")
    reader = Principal(
        "ops",
        roles={"production": frozenset({Role.VIEWER}), "sandbox": frozenset({Role.VIEWER})},
    )
    with pytest.raises(PermissionDenied, match="may not register in 'sandbox'"):
        services.bind(reader).datasets.snapshot("x", "production/invoices:1")
    assert [d.ref for d in client.list_datasets()] == ["production/invoices:1"]
