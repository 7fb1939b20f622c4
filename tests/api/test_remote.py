"""The SDK and the CLI against a live server: packages travel streamed and verified."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard import Client, InvalidPackage, Settings
from modelyard.services.container import Services
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(home=tmp_path / "server-home")
    bootstrap(settings)
    with live_server(settings) as url:
        yield url, settings


def test_log_and_load_a_model_remotely(
    server: tuple[str, Settings],
    tmp_path: Path,
    trained_model: LogisticRegression,
    payments_frame: pd.DataFrame,
) -> None:
    url, _ = server
    x = payments_frame.drop(columns="label")
    with Client(tmp_path / "laptop", url=url, token=ADMIN_TOKEN) as remote:
        v = remote.log_model(trained_model, "payments", input_example=x.head(), metrics={"f1": 0.7})
        assert (v.ref, v.created_by) == ("sandbox/payments:1", "admin")
        again = remote.log_model(trained_model, "payments", input_example=x.head())
        assert again.package_digest == v.package_digest
        loaded = remote.load_model("payments@latest")
        assert np.array_equal(loaded.predict(x), trained_model.predict(x))
        assert np.array_equal(loaded.predict_proba(x), trained_model.predict_proba(x))
        assert remote.doctor().ok


def test_interrupted_upload_leaves_nothing_visible(
    server: tuple[str, Settings], make_package: Callable[..., Path]
) -> None:
    url, settings = server
    folder = make_package(256 * 1024)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=url, headers=auth) as http:
        begun = http.post(
            "/api/v1/packages", json={"manifest": (folder / "modelyard.yaml").read_text()}
        ).json()
        weights = next(d for d in begun["missing"])
        # half the bytes, then the client goes away: refused, nothing stored under the name
        r = http.put(
            f"/api/v1/packages/{begun['digest']}/files/{weights}",
            content=(folder / "weights.bin").read_bytes()[:1000],
        )
        assert r.status_code == 400
        assert "do not match" in r.json()["error"]["message"]
        r = http.post(
            "/api/v1/models/sandbox/payments/versions", json={"package_digest": begun["digest"]}
        )
        assert r.status_code == 400
        assert "incomplete" in r.json()["error"]["message"]
        assert http.get("/api/v1/models").json() == []
    with Client(settings=settings) as c:
        report = c.doctor()
        assert report.ok
        assert {f.kind for f in report.findings} == {"interrupted_registration"}


def test_uploaded_manifest_is_stored_byte_for_byte(
    server: tuple[str, Settings], tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    """A hand-written manifest keeps its comments and layout: the digest names those bytes."""
    url, settings = server
    folder = make_package(4096)
    manifest = folder / "modelyard.yaml"
    manifest.write_text("# written by hand\n" + manifest.read_text())
    with Client(tmp_path / "laptop", url=url, token=ADMIN_TOKEN) as remote:
        v = remote.register("payments", folder)
        assert remote.doctor().ok
    with Client(settings=settings) as c:
        assert c.doctor().ok
    services = Services.open(settings)
    try:
        stored = services.artifacts.get_bytes(v.package_digest)
    finally:
        services.close()
    assert stored == manifest.read_bytes()


def test_bad_upload_is_a_clear_error(server: tuple[str, Settings], tmp_path: Path) -> None:
    url, _ = server
    with Client(tmp_path / "laptop", url=url, token=ADMIN_TOKEN) as remote:
        bad = tmp_path / "bad"
        bad.mkdir()
        (bad / "modelyard.yaml").write_text("format_version: 1\nflavor: python\n")
        with pytest.raises(InvalidPackage):
            remote.register("payments", bad)


def test_cli_against_the_server(
    server: tuple[str, Settings], tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    url, _ = server
    exe = Path(sys.executable).parent / "modelyard"
    env = {
        "MODELYARD_URL": url,
        "MODELYARD_TOKEN": ADMIN_TOKEN,
        "PATH": "/usr/bin:/bin",
        "MODELYARD_HOME": str(tmp_path / "cli-home"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args], capture_output=True, text=True, env=env, check=False, timeout=120
        )

    assert run("models", "register", "payments", str(make_package())).returncode == 0
    assert run("models", "alias", "payments", "champion", "1").returncode == 0
    shown = run("models", "show", "payments@champion", "--json")
    assert '"version": 1' in shown.stdout
    missing = run("models", "show", "ghost:1")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: model sandbox/ghost does not exist"
    # deployments, remotely: create, update, roll back, and a clear refusal
    created = run("deployments", "create", "pay", "--model", "payments@champion", "--json")
    assert created.returncode == 0, created.stderr
    assert '"name": "payments:1"' in created.stdout and '"new_keys"' in created.stdout
    assert run("models", "register", "payments", str(make_package())).returncode == 0
    assert (
        run("deployments", "update", "pay", "-m", "payments:1=90", "-m", "payments:2=10").returncode
        == 0
    )
    listed = run("deployments", "list", "--json")
    assert '"number": 2' in listed.stdout
    assert run("deployments", "rollback", "pay").returncode == 0
    refused = run("models", "delete", "payments:1")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: cannot delete sandbox/payments:1: alias 'champion' points to it; "
        "deployment 'pay' serves it"
    )
    env["MODELYARD_TOKEN"] = "myd_wrong"
    denied = run("models", "list")
    assert denied.returncode == 1
    assert denied.stderr.strip() == "error: invalid token"
