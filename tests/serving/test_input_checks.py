"""Bad scoring input gets a 4xx naming what is wrong; load and model failures get a clear
status and a safe message. Never a 5xx for a caller's mistake, never a stack trace."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from modelyard import Client
from tests.serving.conftest import Served, records, wait_ready

URL = "/v1/deployments/pay/predict"


def post(s: Served, body: object, **headers: str) -> tuple[int, dict[str, object]]:
    auth = {"Authorization": f"Bearer {s.keys['primary']}", **headers}
    r = s.http.post(URL, json=body, headers=auth)
    return r.status_code, r.json()


def post_until(s: Served, body: object, wanted: int) -> tuple[int, dict[str, object]]:
    """Post until the answer is ``wanted`` (a new revision is loading) or 5 s passed."""
    deadline = time.monotonic() + 5
    while True:
        status, answer = post(s, body)
        if status == wanted or time.monotonic() > deadline:
            return status, answer
        time.sleep(0.05)


def error(body: dict[str, object]) -> dict[str, object]:
    found = body["error"]
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda r: r.pop("amount"), "amount", "missing column 'amount' (float)"),
        (lambda r: r.update(amount="abc"), "amount", "expects float, row 0 has 'abc'"),
        (lambda r: r.update(amount=[1, 2]), "amount", "(wrong type)"),
        (lambda r: r.update(terms_days=3.5), "terms_days", "expects integer"),
        (lambda r: r.update(group=7), "group", "expects string"),
        (lambda r: r.update(amount=None), "amount", "'amount' is required (float)"),
        (lambda r: r.update(colour="red"), "colour", "unexpected column 'colour'"),
        (lambda r: r.update(terms_days=2**70), "terms_days", "(beyond a 64-bit integer)"),
        (lambda r: r.update(amount="nan"), "amount", "'nan' (not a finite number)"),
        (lambda r: r.update(amount="inf"), "amount", "'inf' (not a finite number)"),
        (lambda r: r.update(amount="-Infinity"), "amount", "(not a finite number)"),
    ],
)
def test_input_that_does_not_fit_the_signature_is_422(
    served_once: Served, change: object, field: str, words: str
) -> None:
    row = records(served_once.x.head(1))[0]
    change(row)  # type: ignore[operator]
    status, body = post(served_once, {"inputs": [row]})
    assert status == 422
    assert words in str(error(body)["message"])
    assert error(body)["details"]["field"] == field  # type: ignore[index]


def test_numbers_sent_as_text_are_converted(served_once: Served) -> None:
    row = records(served_once.x.head(1))[0]
    want = served_once.v1.predict_proba(served_once.x.head(1)).tolist()
    row["amount"], row["terms_days"] = str(row["amount"]), str(row["terms_days"])
    status, body = post(served_once, {"inputs": [row]})
    assert status == 200
    assert body["probabilities"] == want


def test_unseen_category_follows_the_deployment_policy(served: Served) -> None:
    row = records(served.x.head(1))[0]
    row["currency"] = "CHF"
    assert post(served, {"inputs": [row]})[0] == 200  # default: allow (the encoder ignores it)
    served.client.update_deployment("pay", options={"unseen_categories": "reject"})
    status, body = post_until(served, {"inputs": [row]}, 422)
    assert status == 422
    message = str(error(body)["message"])
    assert "unseen category 'CHF'" in message and "EUR, GBP, USD" in message


def test_non_finite_numbers_are_refused_unless_the_deployment_allows_them(
    served: Served, tmp_path: Path
) -> None:
    row = records(served.x.head(1))[0]
    row["amount"] = "inf"
    assert post(served, {"inputs": [row]})[0] == 422  # the default: reject
    served.client.update_deployment("pay", options={"non_finite": "allow"})
    status, body = post_until(served, {"inputs": [row]}, 200)
    assert status == 200, body  # the model was given infinity
    assert served.client.get_deployment("pay").revision.options.non_finite == "allow"
    # batch scoring follows the same option: the row is scored, not marked invalid
    frame = served.x.head(3).copy()
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[frame.index[0], "amount"] = "inf"
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    done = served.client.predict_file("pay", source, tmp_path / "out.parquet")
    assert done.rejected == 0 and done.scored == 3


@pytest.mark.parametrize(
    ("content", "content_type", "status", "words"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b'{"rows": []}', "application/json", 400, "expected"),
        (b'{"inputs": []}', "application/json", 400, "non-empty list"),
        (b'{"inputs": [1]}', "application/json", 400, "inputs[0]"),
        (b"<xml/>", "application/xml", 415, "unsupported media type"),
        (b"amount\n", "text/csv", 400, "at least one data row"),
        (b"amount,group\n1\n", "text/csv", 400, "row 1 has 1 fields"),
    ],
)
def test_malformed_bodies(
    served_once: Served, content: bytes, content_type: str, status: int, words: str
) -> None:
    r = served_once.http.post(
        URL,
        content=content,
        headers={
            "Authorization": f"Bearer {served_once.keys['primary']}",
            "content-type": content_type,
        },
    )
    assert r.status_code == status
    assert words in r.json()["error"]["message"]


def test_oversized_body_is_413(served: Served) -> None:
    served.client.update_deployment("pay", options={"max_body_bytes": 2048})
    big = {"inputs": records(served.x.head(200))}
    deadline = time.monotonic() + 5
    while (code := post(served, big)[0]) != 413 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert code == 413
    assert post(served, {"inputs": records(served.x.head(1))})[0] == 200


def test_unknown_deployment_is_404(served_once: Served) -> None:
    r = served_once.http.post("/v1/deployments/nope/predict", json={"inputs": [{}]})
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "deployment 'nope' does not exist"


def script_model(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / f"script-{abs(hash(body))}"
    folder.mkdir()
    (folder / "score.py").write_text(
        "import time\n\ndef init():\n    pass\n\n\ndef run(data):\n" + body + "\n"
    )
    return folder


@pytest.fixture
def scripted(served: Served, tmp_path: Path) -> Client:
    c = served.client
    example = pd.DataFrame({"x": [1.0, 2.0]})
    c.register(
        "raiser",
        script_model(tmp_path, "    raise RuntimeError('secret /etc/path')"),
        input_example=example,
    )
    c.register(
        "sleeper",
        script_model(tmp_path, "    time.sleep(0.3)\n    return [0] * len(data)"),
        input_example=example,
    )
    return c


def test_a_model_that_raises_gets_a_safe_500(served: Served, scripted: Client) -> None:
    scripted.create_deployment("broken", ["raiser:1"])
    r = served.http.post("/v1/deployments/broken/predict", json={"inputs": [{"x": 1.0}]})
    assert r.status_code == 500
    assert r.json()["error"] == {
        "code": "model_error",
        "message": "the model failed to score the input (RuntimeError)",
        "details": {"request_id": r.headers["x-request-id"]},
    }
    assert "secret" not in r.text and "Traceback" not in r.text


def test_a_slow_model_times_out_with_504(served: Served, scripted: Client) -> None:
    scripted.create_deployment("slow", ["sleeper:1"], options={"timeout_ms": 50})
    r = served.http.post("/v1/deployments/slow/predict", json={"inputs": [{"x": 1.0}]})
    assert r.status_code == 504
    assert r.json()["error"]["code"] == "model_timeout"


def test_a_full_queue_sheds_load_with_503_and_retry_after(served: Served, scripted: Client) -> None:
    scripted.create_deployment("busy", ["sleeper:1"], options={"max_queue": 1})
    wait_ready(served.http)
    http: TestClient = served.http

    def call(_: int) -> tuple[int, str | None]:
        r = http.post("/v1/deployments/busy/predict", json={"inputs": [{"x": 1.0}]})
        return r.status_code, r.headers.get("retry-after")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(8)))
    statuses = [a[0] for a in answers]
    assert 200 in statuses and 503 in statuses, statuses
    assert set(statuses) <= {200, 503}
    assert all(retry == "1" for status, retry in answers if status == 503)


def test_a_fault_of_ours_is_a_counted_500_with_the_one_error_body(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What no input check foresaw still answers in the error shape, and /metrics counts it."""
    from modelyard.serving import protocols

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr(protocols, "native_body", broken)
    status, body = post(served, {"inputs": records(served.x.head(1))})
    assert status == 500
    assert error(body) == {"code": "internal", "message": "internal server error", "details": {}}
    metrics = served.http.get("/metrics").text
    assert (
        'modelyard_scoring_errors_total{code="internal",deployment="pay",status="500"} 1.0'
        in metrics
    )


def test_a_request_of_a_million_columns_is_refused_before_any_work(served_once: Served) -> None:
    """Bounded before it starts: a 1,000,000-column CSV header or a record of 1,500,000
    keys is one short 400, not seconds of a worker and a 10 MB error body."""
    auth = {"Authorization": f"Bearer {served_once.keys['primary']}"}
    header = ",".join(f"c{i}" for i in range(1_000_000))
    csv = served_once.http.post(
        URL,
        content=(header + "\n" + ",".join("1" * 1_000_000) + "\n").encode(),
        headers={**auth, "Content-Type": "text/csv"},
    )
    assert csv.status_code == 400 and len(csv.content) < 500, csv.text[:500]
    assert "at most 10000" in error(csv.json())["message"]
    wide = {f"k{i}": 0 for i in range(1_500_000)}
    status, body = post(served_once, {"inputs": [wide]})
    assert status == 400 and "1500000 columns" in error(body)["message"]
    assert len(str(body)) < 500


def test_an_error_lists_a_few_names_and_counts_the_rest(served_once: Served) -> None:
    row = records(served_once.x.head(1))[0]
    extra = {**row, **{f"surplus_{i}": 1 for i in range(500)}}
    status, body = post(served_once, {"inputs": [extra]})
    assert status == 422
    found = error(body)
    assert found["message"].startswith("unexpected column 'surplus_0' and 499 more")  # type: ignore[union-attr]
    details = found["details"]
    assert isinstance(details, dict)
    assert len(details["unexpected"]) == 20 and details["unexpected_count"] == 500
