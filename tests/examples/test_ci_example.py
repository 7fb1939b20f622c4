"""The CI example (``examples/ci/``) as its workflow runs it: against a live two-worker
server, with a token that holds exactly the roles the workflow documents, each run trains
a new model and ``modelyard apply`` registers it, deploys it to the sandbox and passes its
smoke test on the first try, ten runs in a row."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import joblib
import pytest

from modelyard import Client, Settings
from tests.monitoring.conftest import FEATURES, invoices
from tests.services.test_promotions import pipeline
from tests.serving.conftest import ADMIN_TOKEN
from tests.support.live import EXE, server_process

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ci"
#: The roles the workflow says its token needs (checked against its text below).
ROLES = {"sandbox": ["developer", "deployer"], "production": ["deployer"]}
RUNS = 10


def train(repo: Path, seed: int) -> None:
    """What the workflow's ``python train.py`` writes: the data and a new model."""
    (repo / "data").mkdir(exist_ok=True)
    (repo / "build").mkdir(exist_ok=True)
    data = invoices(1500, seed=1)
    data.to_parquet(repo / "data" / "train.parquet")
    invoices(400, seed=2).to_parquet(repo / "data" / "holdout.parquet")
    invoices(40, seed=3)[FEATURES].to_csv(repo / "data" / "smoke.csv", index=False)
    sample = data.sample(frac=0.9, random_state=seed)  # a new model each run
    model = pipeline(8).fit(sample[FEATURES], sample["label"])
    joblib.dump(model, repo / "build" / "model.joblib")
    data[FEATURES].head(20).to_csv(repo / "build" / "example.csv", index=False)


@pytest.mark.slow
def test_the_ci_example_deploys_each_new_model_and_its_smoke_test_passes(
    tmp_path: Path,
) -> None:
    workflow = (EXAMPLE / "github-actions.yml").read_text()
    assert "developer and deployer in sandbox and deployer in\n      # production" in workflow
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(EXAMPLE / "modelyard.yaml", repo / "modelyard.yaml")
    settings = Settings(home=tmp_path / "server-home")
    env = {"MODELYARD_ADMIN_TOKEN": ADMIN_TOKEN}
    with server_process(settings.home, workers=2, env=env) as server:
        with Client(tmp_path / "admin", url=server.url, token=ADMIN_TOKEN) as admin:
            admin.create_user("ci")
            for environment, roles in ROLES.items():
                for role in roles:
                    admin.grant("ci", environment, role)
            token = admin.create_token("github", user="ci").secret
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
        run_env |= {"MODELYARD_URL": server.url, "MODELYARD_TOKEN": token}
        for run in range(1, RUNS + 1):
            train(repo, seed=run)
            done = subprocess.run(
                [EXE, "apply", str(repo / "modelyard.yaml")],
                capture_output=True, text=True, env=run_env, timeout=300, check=False,
            )  # fmt: skip
            shown = f"run {run}:\n{done.stdout}{done.stderr}"
            assert done.returncode == 0, shown
            assert f"registered sandbox/payments:{run}" in done.stdout, shown
            assert "✓ sandbox smoke test" in done.stdout, shown
            assert f"rows scored by payments:{run}\n" in done.stdout, shown
        err = server.stop()
    assert "Traceback" not in err, err[-3000:]
