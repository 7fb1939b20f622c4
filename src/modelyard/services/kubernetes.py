"""Kubernetes manifests for one deployment: ``modelyard serve`` following the control
plane with a scoring-only credential, as a cluster runs it.

The objects: a Deployment (readiness on ``/readyz``: every revision it serves is loaded),
a Service, a HorizontalPodAutoscaler and a PodDisruptionBudget, a kustomization listing
them, and the same container as a KServe ``InferenceService`` (custom predictor; it
answers the Open Inference Protocol, V2) for clusters that run KServe. Requests and
replica bounds come from the revision's serving options (``cpu``, ``memory_mb``,
``min_replicas``, ``max_replicas``). The control plane itself is the Kustomize base under
``deploy/kubernetes/``, whose ``modelyard-server`` Service these pods follow by default.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from modelyard.domain.deployments import ServingOptions
from modelyard.domain.errors import InvalidInput

PORT = 8600
HOME = "/var/lib/modelyard"
#: The control plane's Service in the Kustomize base.
DEFAULT_SERVER = "http://modelyard-server:8600"
#: A Secret holding a scoring-only token (role ``scorer``) under ``token``.
TOKEN_SECRET = "modelyard-scoring"
#: The base's ConfigMap: MODELYARD_ARTIFACTS and its options, so rows go where reports read.
CONFIG = "modelyard-config"
CPU_TARGET = 70  # per cent of the requested CPU the autoscaler keeps
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")


def object_name(deployment: str) -> str:
    """The Kubernetes name of a deployment's objects (a DNS label: 63 characters)."""
    name = "scoring-" + deployment.lower().replace("_", "-").replace(".", "-")
    if len(name) > 63 or not _DNS_LABEL.match(name):
        raise InvalidInput(
            f"deployment {deployment!r} cannot name a Kubernetes object "
            "(scoring-NAME must be a DNS label of at most 63 characters)"
        )
    return name


def render(
    deployment: str, revision: int, options: ServingOptions, *, image: str, server: str
) -> dict[str, str]:
    """File name -> YAML text, for ``kubectl apply -k DIR``."""
    if not _IMAGE.match(image):
        raise InvalidInput(f"invalid image {image!r}: expected NAME[:TAG] or NAME@DIGEST")
    if not re.match(r"^https?://[^\s/]+", server):
        raise InvalidInput(f"invalid server URL {server!r}: expected http(s)://HOST[:PORT]")
    name = object_name(deployment)
    labels = {
        "app.kubernetes.io/name": "modelyard-scoring",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/part-of": "modelyard",
        "modelyard.dev/deployment": deployment,
    }
    selector = {"app.kubernetes.io/name": "modelyard-scoring", "app.kubernetes.io/instance": name}
    annotations = {"modelyard.dev/revision": str(revision)}
    meta: dict[str, Any] = {"name": name, "labels": labels, "annotations": annotations}
    container = _container(deployment, options, image, server)
    volumes = [{"name": "home", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
    security = {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001}
    pod = {
        "metadata": {"labels": {**labels}},
        "spec": {
            "containers": [container],
            "volumes": volumes,
            "securityContext": security,
            "terminationGracePeriodSeconds": 30,  # a graceful stop writes collected rows
        },
    }
    objects = {
        "deployment.yaml": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": selector},
                "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": pod,
            },
        },
        "service.yaml": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        "hpa.yaml": {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": options.min_replicas,
                "maxReplicas": options.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": CPU_TARGET},
                        },
                    }
                ],
            },
        },
        "pdb.yaml": {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            # one pod at a time: a drain never takes every replica, nor blocks on one
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        "inferenceservice.yaml": {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                **meta,
                "annotations": {
                    **annotations,
                    "serving.kserve.io/deploymentMode": "RawDeployment",
                    "modelyard.dev/protocol": "v2",
                },
            },
            "spec": {
                "predictor": {
                    "minReplicas": options.min_replicas,
                    "maxReplicas": options.max_replicas,
                    "containers": [{**container, "name": "kserve-container"}],
                    "volumes": volumes,
                    "securityContext": security,
                }
            },
        },
    }
    files = {file: _yaml(obj) for file, obj in objects.items()}
    # the InferenceService is the same pods again: applied only on clusters that run KServe
    plain = [f for f in objects if f != "inferenceservice.yaml"]
    files["kustomization.yaml"] = _yaml(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": plain,
        }
    )
    return files


def _container(deployment: str, options: ServingOptions, image: str, server: str) -> dict[str, Any]:
    memory = f"{options.memory_mb}Mi"
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5}
    return {
        "name": "scoring",
        "image": image,
        "command": ["modelyard", "serve", "--follow", server, "--deployment", deployment],
        "env": [
            {"name": "MODELYARD_HOME", "value": HOME},
            {"name": "MODELYARD_HOST", "value": "0.0.0.0"},
            {"name": "MODELYARD_PORT", "value": str(PORT)},
            {"name": "MODELYARD_WORKERS", "value": "1"},  # scale with replicas
            {
                "name": "MODELYARD_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}},
            },
        ],
        "envFrom": [{"configMapRef": {"name": CONFIG, "optional": True}}],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": _cores(options.cpu), "memory": memory},
            "limits": {"memory": memory},
        },
        "readinessProbe": probe,
        "startupProbe": {**probe, "failureThreshold": 60},  # a model may take minutes
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "volumeMounts": [
            {"name": "home", "mountPath": HOME},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }


def _cores(cpu: float) -> str:
    return f"{round(cpu * 1000)}m"


def _yaml(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
