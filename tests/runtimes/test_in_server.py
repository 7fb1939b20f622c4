"""A self-contained ONNX graph runs in the server worker (no model worker, no fork server
started); one with a file beside it still runs in a model worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

from modelyard.flavors.package import write_manifest
from modelyard.runtimes.host import RemoteModel, WorkerHost
from modelyard.runtimes.local import LocalModel


def onnx_package(folder: Path, x: pd.DataFrame, y: np.ndarray, extra: bool = False) -> Path:
    folder.mkdir()
    model = LogisticRegression().fit(x.to_numpy(np.float32), y)
    (folder / "model.onnx").write_bytes(
        to_onnx(model, x.to_numpy(np.float32)[:1], options={"zipmap": False}).SerializeToString()
    )
    if extra:
        (folder / "weights.bin").write_bytes(b"\0" * 16)
    signature = {"inputs": [{"name": c, "type": "float"} for c in x.columns]}
    write_manifest(folder, flavor="onnx", entrypoint="model.onnx", signature=signature)  # type: ignore[arg-type]
    return folder


def test_a_self_contained_graph_runs_in_the_server_worker(tmp_path: Path) -> None:
    from modelyard.flavors.package import read_manifest

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (x.a + x.b > 0).astype(int).to_numpy()
    alone = onnx_package(tmp_path / "alone", x, y)
    beside = onnx_package(tmp_path / "beside", x, y, extra=True)
    host = WorkerHost(tmp_path / "workers", tmp_path / "packages", [tmp_path / "home"])
    try:
        model = host.load("sandbox", alone, read_manifest(alone))
        assert isinstance(model, LocalModel) and host._forks == {}
        assert (np.asarray(model.predict(x)) == y).mean() > 0.9  # it learnt the rule
        other = host.load("sandbox", beside, read_manifest(beside))
        assert isinstance(other, RemoteModel) and list(host._forks) == [""]
        assert np.abs(np.asarray(other.predict_proba(x)) - model.predict_proba(x)).max() < 1e-6
    finally:
        host.close()
