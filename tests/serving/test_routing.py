"""Keys and tokens, weights and pinned variants, shadows, adaptive batching, metrics."""

from __future__ import annotations

import collections
import concurrent.futures
import re
import time

import numpy as np

from tests.serving.conftest import Served, records

URL = "/v1/deployments/pay/predict"


def as_(secret: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"} if secret else {"Authorization": ""}


def until(check: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_keys_and_tokens(served: Served) -> None:
    s = served
    body = {"inputs": records(s.x.head(1))}
    for slot in ("primary", "secondary"):
        assert s.http.post(URL, json=body, headers=as_(s.keys[slot])).status_code == 200
    assert s.http.post(URL, json=body, headers=as_(None)).status_code == 401
    assert s.http.post(URL, json=body, headers=as_("myk_wrong")).status_code == 401
    # a scoring key grants nothing else
    r = s.http.get("/api/v1/models", headers=as_(s.keys["primary"]))
    assert r.status_code == 401
    # rotation without downtime: the secondary changes, the primary keeps working
    fresh = s.client.regenerate_key("pay", "secondary").new_keys["secondary"]
    assert until(lambda: s.http.post(URL, json=body, headers=as_(fresh)).status_code == 200)
    assert s.http.post(URL, json=body, headers=as_(s.keys["secondary"])).status_code == 401
    assert s.http.post(URL, json=body, headers=as_(s.keys["primary"])).status_code == 200
    # tokens: a developer in sandbox may score there, a viewer may not
    s.client.create_user("dev")
    s.client.grant("dev", "sandbox", "developer")
    s.client.create_user("val")
    s.client.grant("val", "sandbox", "viewer")
    dev = s.client.create_token("t", user="dev").secret
    val = s.client.create_token("t", user="val").secret
    assert s.http.post(URL, json=body, headers=as_(dev)).status_code == 200
    denied = s.http.post(URL, json=body, headers=as_(val))
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "user 'val' may not score in 'sandbox'"


def test_weights_pins_and_versions_in_every_answer(served: Served) -> None:
    s = served
    s.client.update_deployment("pay", ["payments:1=50", "payments:2=50"])
    body = {"inputs": records(s.x.head(1))}
    assert until(
        lambda: s.http.post(URL, json=body).json().get("model_version") == "payments:2", 10
    )
    seen = collections.Counter(
        s.http.post(URL, json=body).json()["model_version"] for _ in range(200)
    )
    assert set(seen) == {"payments:1", "payments:2"}
    assert 60 < seen["payments:1"] < 140, seen  # 50/50 within a wide margin
    for name, model in (("payments:1", s.v1), ("payments:2", s.v2)):
        r = s.http.post(URL, json=body, headers={"modelyard-variant": name}).json()
        assert r["model_version"] == name
        assert r["probabilities"] == model.predict_proba(s.x.head(1)).tolist()
    wrong = s.http.post(URL, json=body, headers={"modelyard-variant": "payments:9"})
    assert wrong.status_code == 400
    assert "variants: payments:1, payments:2" in wrong.json()["error"]["message"]


def test_shadow_traffic_is_scored_but_never_answered(served: Served) -> None:
    s = served
    s.client.update_deployment("pay", ["payments:1"], shadows=["payments:2=50"])
    assert until(lambda: 'revision{deployment="pay"} 2.0' in s.http.get("/metrics").text, 10)
    rows = records(s.x.head(20))
    for row in rows * 5:
        r = s.http.post(URL, json={"inputs": [row]})
        assert r.json()["model_version"] == "payments:1"

    def compared() -> float:
        text = s.http.get("/metrics").text
        found = re.findall(
            r'modelyard_shadow_comparisons_total\{agreement="(\w+)",deployment="pay",'
            r'variant="payments:2"\} ([\d.]+)',
            text,
        )
        return sum(float(v) for _, v in found)

    assert until(lambda: compared() > 20)
    assert compared() < 100  # about half of the 100 requests were copied


def test_queued_requests_are_batched_and_split_back(served: Served) -> None:
    s = served
    s.client.update_deployment("pay", options={"max_wait_ms": 20})
    assert until(lambda: s.http.get("/v2/models/pay/ready").status_code == 200)
    time.sleep(0.5)
    x = s.x.head(64)
    want = s.v1.predict_proba(x)
    rows = records(x)

    def call(i: int) -> list[float]:
        r = s.http.post(URL, json={"inputs": [rows[i]]})
        assert r.status_code == 200
        return r.json()["probabilities"][0]  # type: ignore[no-any-return]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        got = list(pool.map(call, range(64)))
    assert np.array_equal(np.array(got), want)  # each caller got its own row back
    text = s.http.get("/metrics").text
    count = float(
        re.search(
            r'modelyard_batch_requests_count\{deployment="pay",variant="payments:1"\} ([\d.]+)',
            text,
        )[1]
    )  # type: ignore[index]
    total = float(
        re.search(
            r'modelyard_batch_requests_sum\{deployment="pay",variant="payments:1"\} ([\d.]+)', text
        )[1]
    )  # type: ignore[index]
    assert total >= 64 and count < total  # fewer model calls than requests
    assert 'modelyard_scoring_latency_seconds_bucket{deployment="pay"' in text
    assert 'modelyard_model_load_seconds{deployment="pay",variant="payments:1"}' in text


def test_deployments_share_a_loaded_model(served: Served) -> None:
    s = served
    s.client.create_deployment("pay-copy", ["payments:1"])
    body = {"inputs": records(s.x.head(1))}
    one = s.http.post(URL, json=body).json()
    other = s.http.post("/v1/deployments/pay-copy/predict", json=body).json()
    assert one["probabilities"] == other["probabilities"]
    runtime = s.http.app.state.runtime  # type: ignore[attr-defined]
    digest = s.client.get_version("payments:1").package_digest
    assert runtime.loaded_models == [digest]
