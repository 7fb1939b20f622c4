"""Key columns (``--key invoice_id``): accepted by every protocol and in batch files,
never given to the model (one that raises on a column it was not fitted on scores every
request), echoed in input order, and kept with the collected rows."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from modelyard import InvalidInput
from tests.serving.conftest import KEYED_FEATURES as FEATURES
from tests.serving.conftest import KEYS, Keyed, records
from tests.serving.test_collection import collected
from tests.support.live import EXE


def test_every_protocol_echoes_the_keys_in_input_order_and_collects_them(keyed: Keyed) -> None:
    http, x, ids = keyed.http, keyed.x, keyed.ids
    expected = keyed.model.predict(x).tolist()
    rows = records(pd.concat([ids, x], axis=1))
    route = "/v1/deployments/pay"

    native = http.post(f"{route}/predict", json={"inputs": rows}).json()
    assert native["keys"] == {k: ids[k].tolist() for k in KEYS}
    assert native["predictions"] == expected

    table = pd.concat([x, ids], axis=1).to_csv(index=False)  # keys last: any place will do
    answer = http.post(f"{route}/predict", content=table, headers={"content-type": "text/csv"})
    assert answer.status_code == 200, answer.text
    read = list(csv.reader(io.StringIO(answer.text)))
    assert read[0][:3] == [*KEYS, "prediction"]
    assert [r[:3] for r in read[1:]] == [
        [i, c, p] for i, c, p in zip(ids.invoice_id, ids.customer_id, expected, strict=True)
    ]

    split = {"columns": [*ids.columns, *x.columns], "data": pd.concat([ids, x], axis=1).values}
    body = {"dataframe_split": {**split, "data": split["data"].tolist()}}
    mlflow = http.post(f"{route}/invocations", json=body).json()
    assert mlflow == {"predictions": expected, "keys": {k: ids[k].tolist() for k in KEYS}}

    given = [*((n, "FP64", x[n]) for n in FEATURES), ("invoice_id", "BYTES", ids.invoice_id)]
    tensors = [
        {"name": n, "shape": [len(x)], "datatype": kind, "data": values.tolist()}
        for n, kind, values in given
    ]
    v2 = http.post("/v2/models/pay/infer", json={"inputs": tensors}).json()
    outputs = {o["name"]: o["data"] for o in v2["outputs"]}
    assert outputs["predict"] == expected
    assert outputs["invoice_id"] == ids.invoice_id.tolist()
    assert outputs["customer_id"] == [""] * len(x)  # not sent: an empty string in BYTES

    without = http.post(f"{route}/predict", json={"inputs": records(x.head(2))}).json()
    assert without["keys"] == {"invoice_id": [None, None], "customer_id": [None, None]}

    keyed.http.__exit__(None, None, None)  # a graceful stop writes every collected row
    found = collected(keyed.settings.home, "pay")
    assert len(found) == 4 * len(x) + 2
    first = found[found.request_id == native_id(found, ids)]
    assert first["key.invoice_id"].tolist() == ids.invoice_id.tolist()
    assert first["key.customer_id"].tolist() == ids.customer_id.tolist()
    assert not [c for c in found.columns if c.startswith("in.") and c[3:] in KEYS]


def native_id(found: pd.DataFrame, ids: pd.DataFrame) -> str:
    """The request id of the first request (the native JSON one), by its rows' keys."""
    full = found.groupby("request_id")["key.customer_id"].apply(lambda s: s.notna().all())
    first = found[found.request_id.isin(full[full].index)].sort_values("time")
    return str(first.request_id.iloc[0])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_batch_outputs_keep_the_keys_in_input_order(
    keyed: Keyed, tmp_path: Path, kind: str
) -> None:
    frame = pd.concat([keyed.ids, keyed.x], axis=1).iloc[::-1]  # not in the ids' order
    source = tmp_path / f"in.{kind}"
    frame.to_csv(source, index=False) if kind == "csv" else frame.to_parquet(source)
    done = keyed.client.predict_file("pay", source, tmp_path / "out.parquet")
    assert done.rejected == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out.invoice_id.tolist() == frame.invoice_id.tolist()  # "00011", not 11
    assert out.prediction.tolist() == keyed.model.predict(frame[FEATURES]).tolist()


def test_a_key_the_model_takes_is_refused_and_nothing_changes(keyed: Keyed) -> None:
    c = keyed.client
    with pytest.raises(InvalidInput, match="key column 'amount' is an input of sandbox/payments:1"):
        c.update_deployment("pay", options={"keys": ["invoice_id", "amount"]})
    assert c.get_deployment("pay").revision.number == 1
    env = {**os.environ, "MODELYARD_HOME": str(keyed.settings.home)}
    for args, says in [
        (
            ["--key", "terms_days"],
            "error: key column 'terms_days' is an input of sandbox/payments:1: a key is "
            "never given to the model",
        ),
        (["--key", "a,b"], "error: invalid key column 'a,b': 1 to 128 characters, no comma"),
        (["--key", "x", "--key", "x"], "error: a key column is named twice"),
    ]:
        done = subprocess.run(
            [EXE, "deployments", "update", "pay", *args],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [says]
    assert c.get_deployment("pay").revision.number == 1
    moved = subprocess.run(
        [EXE, "deployments", "update", "pay", "--key", "invoice_id", "--wait", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert [line.split() for line in moved.stdout.splitlines() if "key columns" in line] == [
        ["key", "columns", "invoice_id"]
    ]
    assert c.get_deployment("pay").revision.options.keys == ("invoice_id",)
