"""The Open Inference Protocol with real clients at their defaults: ``tritonclient.http``
(binary tensors by default, and JSON ones) and KServe's ``InferenceRESTClient`` (JSON,
and binary) read the same answers; an error reaches them as the protocol's
``{"error": "<message>"}``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import kserve
import numpy as np
import orjson
import pandas as pd
import pytest
import tritonclient.http as triton
from sklearn.pipeline import Pipeline
from tritonclient.utils import InferenceServerException

from modelyard import Client, Settings
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin
from tests.support.live import live_server


@pytest.fixture
def server(
    tmp_path: Path, invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> Iterator[tuple[str, str]]:
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    bootstrap_admin(settings)
    with Client(settings=settings) as c:
        c.log_model(models[0], "payments", input_example=invoice_frame.drop(columns="label"))
        key = c.create_deployment("pay", ["payments:1"]).new_keys["primary"]
    with live_server(settings) as url:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        waited = httpx.post(f"{url}/api/v1/deployments/pay/wait", headers=admin, timeout=60)
        assert waited.status_code == 200, waited.text
        yield url, key


def tensors(x: pd.DataFrame, *, binary: bool) -> list[triton.InferInput]:
    inputs = []
    for name in x.columns:
        values = x[name].to_numpy()
        if values.dtype.kind == "f":
            datatype, array = "FP64", values.astype(np.float64)
        elif values.dtype.kind in "iu":
            datatype, array = "INT64", values.astype(np.int64)
        else:
            datatype, array = "BYTES", values.astype(np.object_)
        tensor = triton.InferInput(name, [len(x)], datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs


def test_tritonclient_at_its_defaults_and_with_json_tensors(
    server: tuple[str, str], invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> None:
    url, key = server
    auth = {"Authorization": f"Bearer {key}"}  # copied per call: tritonclient adds to it
    x = invoice_frame.drop(columns="label").head(7)
    expected, proba = models[0].predict(x), models[0].predict_proba(x)
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    try:
        binary = client.infer("pay", tensors(x, binary=True), headers=dict(auth))  # the defaults
        assert [v.decode() for v in binary.as_numpy("predict")] == list(expected)
        assert np.allclose(binary.as_numpy("predict_proba"), proba)
        assert binary.get_response()["outputs"][0]["parameters"]["binary_data_size"] > 0

        outputs = [
            triton.InferRequestedOutput("predict", binary_data=False),
            triton.InferRequestedOutput("predict_proba", binary_data=False),
        ]
        plain = client.infer("pay", tensors(x, binary=False), outputs=outputs, headers=dict(auth))
        assert "data" in plain.get_response()["outputs"][0]
        assert list(plain.as_numpy("predict")) == list(expected)
        assert np.allclose(plain.as_numpy("predict_proba"), proba)

        with pytest.raises(InferenceServerException) as refused:
            client.infer("pay", tensors(x, binary=True)[:-1], headers=dict(auth))
        assert refused.value.status() == "422"
        assert "currency" in str(refused.value)  # the client can show the server's message
        with pytest.raises(InferenceServerException, match="no-such"):
            client.infer("no-such", tensors(x, binary=True), headers=dict(auth))
    finally:
        client.close()


def test_kserves_client_at_its_defaults(
    server: tuple[str, str], invoice_frame: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> None:
    url, key = server
    x = invoice_frame.drop(columns="label").head(7)
    expected, proba = models[0].predict(x), models[0].predict_proba(x)

    def request(*, binary: bool, columns: list[str]) -> kserve.InferRequest:
        inputs = []
        for name in columns:
            values = x[name].to_numpy()
            kind = values.dtype.kind
            datatype = {"f": "FP64", "i": "INT64"}.get(kind, "BYTES")
            tensor = kserve.InferInput(name, [len(x)], datatype)
            array = values.astype(np.object_) if datatype == "BYTES" else values
            tensor.set_data_from_numpy(array, binary_data=binary)
            inputs.append(tensor)
        return kserve.InferRequest(model_name="pay", infer_inputs=inputs)

    async def calls() -> None:
        client = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", timeout=30))
        auth = {"Authorization": f"Bearer {key}"}
        try:
            for binary in (False, True):
                answer = await client.infer(
                    url, request(binary=binary, columns=list(x.columns)), "pay", dict(auth)
                )
                by_name = {o.name: o for o in answer.outputs}
                predicted = [
                    v.decode() if isinstance(v, bytes) else v
                    for v in by_name["predict"].as_numpy().tolist()
                ]
                assert predicted == list(expected)
                assert np.allclose(by_name["predict_proba"].as_numpy(), proba)
            with pytest.raises(httpx.HTTPStatusError) as refused:
                await client.infer(
                    url, request(binary=False, columns=list(x.columns)[:-1]), "pay", dict(auth)
                )
            assert refused.value.response.status_code == 422
            assert "currency" in refused.value.response.json()["error"]
        finally:
            await client.close()

    asyncio.run(calls())


def test_a_v2_body_is_json_whatever_its_content_type(
    server: tuple[str, str], invoice_frame: pd.DataFrame
) -> None:
    url, key = server
    x = invoice_frame.drop(columns="label").head(2)
    body = {
        "inputs": [
            {"name": c, "shape": [2], "datatype": "BYTES" if x[c].dtype == object else "FP64",
             "data": x[c].tolist()}
            for c in x.columns
        ]
    }  # fmt: skip
    for content_type in ("application/x-www-form-urlencoded", None):  # curl -d; none at all
        headers = {"Authorization": f"Bearer {key}"}
        if content_type:
            headers["content-type"] = content_type
        answer = httpx.post(
            f"{url}/v2/models/pay/infer", content=orjson.dumps(body), headers=headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["shape"] == [2]
