"""``modelyard predict`` and ``Client.predict_file``: embedded and through a server, the
same results as online scoring; invalid rows set aside with reasons; a threshold stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import Client, InvalidInput
from tests.serving.conftest import ADMIN_TOKEN, Served, records
from tests.support.live import live_server

EXE = str(Path(sys.executable).parent / "modelyard")


def with_bad_rows(x: pd.DataFrame) -> pd.DataFrame:
    bad = x.head(50).copy()
    bad["amount"] = bad["amount"].astype(object)
    bad.loc[3, "amount"] = "lots"
    bad.loc[7, "terms_days"] = np.nan  # required integer
    return bad


@pytest.fixture(scope="module")
def remote_url(served_once: Served) -> Iterator[str]:
    """A real HTTP server on ``served_once``'s home."""
    with live_server(served_once.settings) as url:
        yield url


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_embedded_and_remote_give_the_online_answers(
    served_once: Served, remote_url: str, tmp_path: Path, suffix: str
) -> None:
    s = served_once
    x = s.x.head(30)
    source = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        x.to_csv(source, index=False)
    elif suffix == ".parquet":
        x.to_parquet(source)
    elif suffix == ".json":
        source.write_text(json.dumps(records(x)))
    else:
        source.write_text("".join(json.dumps(r) + "\n" for r in records(x)))
    online = s.http.post(
        "/v1/deployments/pay/predict",
        json={"dataframe_split": x.to_dict("split") | {"index": None}},
    ).json()
    want = np.array(online["probabilities"])
    with Client(tmp_path / "laptop", url=remote_url, token=ADMIN_TOKEN) as remote:
        far = remote.predict_file("pay", source, tmp_path / f"remote{suffix}")
    near = s.client.predict_file("pay", source, tmp_path / f"local{suffix}")
    for result in (near, far):
        out = read(result.output)
        assert len(out) == 30 and result.rejected == 0 and result.errors is None
        assert out["prediction"].tolist() == online["predictions"]
        probs = out[[f"probability_{c}" for c in online["classes"]]].to_numpy(dtype=float)
        assert np.array_equal(probs, want)
        assert set(out["model_version"]) == {"payments:1"}


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=path.suffix == ".jsonl", precise_float=True)


def test_invalid_rows_go_aside_and_a_threshold_stops(served: Served, tmp_path: Path) -> None:
    s = served
    source = tmp_path / "rows.csv"
    with_bad_rows(s.x).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    with pytest.raises(InvalidInput, match="2 failed validation, more than the allowed 1.00%"):
        s.client.predict_file("pay", source, out, max_error_rate=0.01)
    assert not out.exists()  # a stopped job leaves no output, only the reasons
    result = s.client.predict_file("pay", source, out, max_error_rate=0.1)
    assert (result.rows, result.scored, result.rejected) == (50, 48, 2)
    errors = pd.read_csv(result.errors)  # type: ignore[arg-type]
    assert errors["row"].tolist() == [3, 7]
    assert errors["error"].tolist() == [
        "'amount' expects float",
        "'terms_days' is required (integer)",
    ]
    scored = pd.read_csv(out)
    good = s.x.head(50).drop(index=[3, 7])
    assert scored["prediction"].tolist() == s.v1.predict(good).tolist()


def test_the_cli_with_a_progress_bar_and_one_line_errors(served: Served, tmp_path: Path) -> None:
    s = served
    source = tmp_path / "rows.parquet"
    s.x.to_parquet(source)
    env = {**os.environ, "MODELYARD_HOME": str(s.settings.home)}
    run = subprocess.run(
        [EXE, "predict", "pay", "-i", str(source), "-o", str(tmp_path / "o.parquet")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"scored {len(s.x)} of {len(s.x)} rows with payments:1" in " ".join(run.stdout.split())
    assert "scoring rows" in run.stderr  # the progress bar
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == len(s.x)
    for args, message in [
        (
            ["--input", "missing.csv", "--output", "o.csv"],
            "error: input file 'missing.csv' does not exist",
        ),
        (
            ["--input", str(source), "--output", "o.txt"],
            "error: output 'o.txt': use a .csv, .parquet, .json or .jsonl file",
        ),
        (
            ["--input", str(source), "--output", "o.csv", "--variant", "x:1"],
            "error: 'x:1' is not served by 'pay' (variants: payments:1)",
        ),
    ]:
        bad = subprocess.run(
            [EXE, "predict", "pay", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert bad.returncode == 1
        assert bad.stderr.strip().splitlines()[-1] == message


def test_non_finite_and_oversized_numbers_in_a_file_are_invalid_rows(
    served: Served, tmp_path: Path
) -> None:
    rows = served.x.head(10).astype({"amount": object, "terms_days": object})
    rows.loc[2, "amount"] = "inf"
    rows.loc[4, "amount"] = "-Infinity"
    rows.loc[6, "terms_days"] = str(2**70)
    source = tmp_path / "rows.csv"
    rows.to_csv(source, index=False)
    result = served.client.predict_file("pay", source, tmp_path / "out.csv", max_error_rate=0.5)
    assert (result.rows, result.scored, result.rejected) == (10, 7, 3)
    errors = pd.read_csv(result.errors)  # type: ignore[arg-type]
    assert errors["row"].tolist() == [2, 4, 6]
    assert errors["error"].tolist() == ["'amount' expects float"] * 2 + [
        "'terms_days' expects integer"
    ]
