"""The same rows through every protocol, and through batch scoring, give exactly the
in-process predict / predict_proba results."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from tests.serving.conftest import Served, records


def auth(s: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {s.keys['primary']}"}


def test_same_answers_everywhere(served_once: Served, tmp_path: Path) -> None:
    s = served_once
    x = s.x.head(40)
    want_labels = s.v1.predict(x)
    want_proba = s.v1.predict_proba(x)
    h = auth(s)
    base = "/v1/deployments/pay"

    native = s.http.post(f"{base}/predict", json={"inputs": records(x)}, headers=h)
    assert native.status_code == 200, native.text
    body = native.json()
    assert body["predictions"] == want_labels.tolist()
    assert np.array_equal(np.array(body["probabilities"]), want_proba)
    assert body["classes"] == s.v1.classes_.tolist()
    assert body["model_version"] == "payments:1"
    assert body["request_id"] == native.headers["x-request-id"]
    assert native.headers["modelyard-model-version"] == "payments:1"

    split = {"columns": list(x.columns), "data": x.to_numpy().tolist()}
    as_split = s.http.post(f"{base}/predict", json={"dataframe_split": split}, headers=h).json()
    assert as_split["predictions"] == want_labels.tolist()
    assert np.array_equal(np.array(as_split["probabilities"]), want_proba)

    csv = s.http.post(
        f"{base}/predict",
        content=x.to_csv(index=False),
        headers={**h, "content-type": "text/csv"},
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.text))
    assert table["prediction"].tolist() == want_labels.tolist()
    probs = table[[f"probability_{c}" for c in s.v1.classes_]].to_numpy()
    assert np.array_equal(probs, want_proba)

    mlflow_bodies = [
        {"dataframe_split": split},
        {"dataframe_records": records(x)},
        {"instances": records(x)},
        {"inputs": {c: x[c].tolist() for c in x.columns}},
    ]
    for payload in mlflow_bodies:
        r = s.http.post(f"{base}/invocations", json=payload, headers=h)
        assert r.status_code == 200, (payload.keys(), r.text)
        assert r.json() == {"predictions": want_labels.tolist()}
        assert r.headers["modelyard-model-version"] == "payments:1"

    tensors = [
        {
            "name": c,
            "shape": [len(x)],
            "datatype": "BYTES" if x[c].dtype == object else "FP64",
            "data": x[c].tolist(),
        }
        for c in x.columns
    ]
    v2 = s.http.post("/v2/models/pay/infer", json={"id": "abc", "inputs": tensors}, headers=h)
    assert v2.status_code == 200, v2.text
    out = {o["name"]: o for o in v2.json()["outputs"]}
    assert v2.json()["id"] == "abc" and v2.json()["model_version"] == "payments:1"
    assert out["predict"]["data"] == want_labels.tolist()
    assert out["predict_proba"]["shape"] == [len(x), 3]
    assert np.array_equal(np.array(out["predict_proba"]["data"]).reshape(-1, 3), want_proba)

    source = tmp_path / "rows.parquet"
    x.to_parquet(source)
    result = s.client.predict_file("pay", source, tmp_path / "scored.parquet")
    scored = pd.read_parquet(result.output)
    assert result.scored == len(x) and result.rejected == 0
    assert scored["prediction"].tolist() == want_labels.tolist()
    assert np.array_equal(scored[[f"probability_{c}" for c in s.v1.classes_]], want_proba)
    assert set(scored["model_version"]) == {"payments:1"}


def test_v2_metadata_and_health(served_once: Served) -> None:
    s = served_once
    h = auth(s)
    assert s.http.get("/v2/health/live").json() == {"live": True}
    assert s.http.get("/v2/health/ready").json() == {"ready": True}
    assert s.http.get("/v2/models/pay/ready", headers=h).json() == {"name": "pay", "ready": True}
    meta = s.http.get("/v2/models/pay", headers=h).json()
    assert meta["versions"] == ["payments:1"]
    kinds = {t["name"]: t["datatype"] for t in meta["inputs"]}
    assert kinds == {
        "amount": "FP64",
        "terms_days": "INT64",
        "late_share": "FP64",
        "group": "BYTES",
        "currency": "BYTES",
    }
    # a key of another deployment learns nothing of a name; a signed-in user learns it is unknown
    assert s.http.get("/v2/models/nope/ready", headers=h).status_code == 401
    assert s.http.get("/v2/models/nope/ready").status_code == 404  # the admin's token
    ready = s.http.get("/readyz").json()
    assert ready["checks"]["deployments"] == "ok"


def test_request_id_from_the_caller_is_kept(served_once: Served) -> None:
    s = served_once
    r = s.http.post(
        "/v1/deployments/pay/predict",
        json={"inputs": records(s.x.head(1))},
        headers={**auth(s), "x-request-id": "order-42"},
    )
    assert r.json()["request_id"] == "order-42" == r.headers["x-request-id"]
