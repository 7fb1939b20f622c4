"""Kubernetes: the control plane's Kustomize base and overlays render with ``kubectl
kustomize`` and every object validates against the Kubernetes 1.30 schemas; ``modelyard
k8s render`` writes a deployment's objects, which validate too (the InferenceService
against KServe's CRD schema), and whose scoring container, started as rendered in a
clean environment, becomes ready on its probe and scores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from modelyard import Client, InvalidInput, Settings, __version__
from tests.serving.conftest import ADMIN_TOKEN, bootstrap_admin
from tests.support.crd import inference_service_errors
from tests.support.live import free_port, live_server
from tests.support.processes import process_group

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kubernetes"
K8S = "1.30"
BIN = Path(sys.executable).parent


def kustomize(folder: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def test_the_control_plane_renders_and_validates() -> None:
    base = yaml.safe_load((KUSTOMIZE / "base" / "kustomization.yaml").read_text())
    assert base["images"][0]["newTag"] == __version__  # the release it installs
    for overlay in ("local", "production"):
        objects = kustomize(KUSTOMIZE / "overlays" / overlay)
        for obj in objects:
            kubernetes_validate.validate(obj, K8S, strict=True)
        kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
        assert {
            ("Deployment", "modelyard-server"),
            ("Service", "modelyard-server"),
            ("Job", "modelyard-migrate"),
            ("ConfigMap", "modelyard-config"),
            ("PodDisruptionBudget", "modelyard-server"),
        } <= kinds, kinds
        server = next(o for o in objects if o["kind"] == "Deployment")
        job = next(o for o in objects if o["kind"] == "Job")
        assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "--migrate-only"
        env = {e["name"]: e for e in server["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["MODELYARD_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "modelyard"
    local = {o["kind"] for o in kustomize(KUSTOMIZE / "overlays" / "local")}
    assert "Secret" in local  # production's Secret is the operator's, never in the repository


def test_render_validates_and_the_container_serves_as_rendered(
    tmp_path: Path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> None:
    settings = Settings(home=tmp_path / "server", poll_seconds=0.2)
    bootstrap_admin(settings)
    rows = payments_frame.drop(columns="label").head(3)
    with live_server(settings) as url, Client(url=url, token=ADMIN_TOKEN) as admin:
        admin.log_model(trained_model, "payments", input_example=rows)
        options = {"cpu": 0.5, "memory_mb": 768, "min_replicas": 2, "max_replicas": 6}
        key = admin.create_deployment("pay", ["payments:1"], options=options).new_keys["primary"]
        admin.create_user("cluster")
        admin.grant("cluster", "sandbox", "scorer")
        token = admin.create_token("scoring-pods", user="cluster").secret

        # the CLI, against the server, as an operator runs it
        out = tmp_path / "k8s"
        env = {**os.environ, "MODELYARD_URL": url, "MODELYARD_TOKEN": ADMIN_TOKEN}
        cli = [str(BIN / "modelyard"), "k8s", "render", "pay", "-o", str(out)]
        subprocess.run(
            [*cli, "--server", url, "--image", "ghcr.io/acme/yard:1"], env=env, check=True
        )
        files = {p.name: yaml.safe_load(p.read_text()) for p in out.iterdir()}
        assert sorted(files) == [
            "deployment.yaml", "hpa.yaml", "inferenceservice.yaml", "kustomization.yaml",
            "pdb.yaml", "service.yaml",
        ]  # fmt: skip
        for name, obj in files.items():
            if name not in ("kustomization.yaml", "inferenceservice.yaml"):
                kubernetes_validate.validate(obj, K8S, strict=True)
        isvc = files["inferenceservice.yaml"]
        assert inference_service_errors(isvc) == []  # KServe's CRD schema, strict
        isvc["spec"]["predictor"]["containers"][0]["argz"] = []
        isvc["spec"]["predictor"]["minReplicas"] = "two"
        assert inference_service_errors(isvc) == [
            "spec.predictor.containers.0: Additional properties are not allowed "
            "('argz' was unexpected)",
            "spec.predictor.minReplicas: 'two' is not of type 'integer'",
        ]
        assert len(kustomize(out)) == 4  # what `kubectl apply -k` applies
        pod = files["deployment.yaml"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "ghcr.io/acme/yard:1"
        assert container["resources"]["requests"] == {"cpu": "500m", "memory": "768Mi"}
        hpa = files["hpa.yaml"]["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
        predictor = files["inferenceservice.yaml"]["spec"]["predictor"]
        assert predictor["containers"][0]["command"] == container["command"]

        # the SDK over HTTP renders the same objects
        assert admin.kubernetes_manifests("pay", server=url, image="ghcr.io/acme/yard:1")[
            "files"
        ] == {p.name: p.read_text() for p in out.iterdir()}

        # the container, started as rendered: its command, its environment and nothing
        # else (the Secret's token); only the address differs, tests listen on loopback
        port = free_port()
        clean = {"PATH": f"{BIN}:/usr/bin:/bin"}
        for variable in container["env"]:
            if "valueFrom" in variable:
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "modelyard-scoring"
                clean[variable["name"]] = token
            else:
                clean[variable["name"]] = variable["value"]
        clean |= {
            "MODELYARD_HOME": str(tmp_path / "pod-home"),
            "MODELYARD_HOST": "127.0.0.1",
            "MODELYARD_PORT": str(port),
        }
        probe = container["readinessProbe"]["httpGet"]["path"]
        with process_group(
            container["command"], env=clean, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        ) as pod_process:
            deadline = time.monotonic() + 60
            while True:
                assert pod_process.poll() is None, pod_process.stderr.read()[-3000:]  # type: ignore[union-attr]
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{probe}").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the rendered container never got ready"
                time.sleep(0.1)
            answer = httpx.post(
                f"http://127.0.0.1:{port}/v1/deployments/pay/predict",
                json={"inputs": rows.to_dict(orient="records")},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert answer.status_code == 200
            assert answer.json()["predictions"] == trained_model.predict(rows).tolist()
            pod_process.terminate()


def test_settings_that_make_no_sense_are_one_line(
    client: Client, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> None:
    client.log_model(trained_model, "m", input_example=payments_frame.drop(columns="label"))
    client.create_deployment("d", ["m:1"])
    before = client.list_revisions("d")
    with pytest.raises(
        InvalidInput, match=r"^max_replicas \(2\) must be at least min_replicas \(5\)$"
    ):
        client.update_deployment("d", options={"min_replicas": 5, "max_replicas": 2})
    with pytest.raises(InvalidInput, match=r"^cpu must be 0.05..256 cores$"):
        client.update_deployment("d", options={"cpu": 0})
    assert client.list_revisions("d") == before  # nothing written
    with pytest.raises(InvalidInput, match=r"^invalid image 'a b'"):
        client.kubernetes_manifests("d", image="a b")
    with pytest.raises(InvalidInput, match=r"^invalid server URL 'nope'"):
        client.kubernetes_manifests("d", server="nope")
    client.create_deployment("x" * 60, ["m:1"])
    with pytest.raises(InvalidInput, match=r"cannot name a Kubernetes object"):
        client.kubernetes_manifests("x" * 60)
