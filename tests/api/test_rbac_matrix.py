"""Every role x every mutating action x both environments, over HTTP, against the table in
docs/security.md: allowed where the table has a tick, 403 with a clear message elsewhere."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from modelyard import Client
from modelyard.monitoring.collector import Record, to_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ["viewer", "developer", "deployer", "approver", "scorer", "admin", "installation admin"]
ENVIRONMENTS = ["sandbox", "production"]

# the doc's rows, and the requests that exercise each
ACTIONS: dict[str, list[str]] = {
    "register a version": ["register"],
    "set tags / log metrics / update a model": ["tags", "metrics", "update_model"],
    "set, move or delete an alias": ["set_alias", "delete_alias"],
    "archive / restore a version": ["archive"],
    "delete a version or a model": ["delete_version", "delete_model"],
    "users, roles, other users' tokens, audit log, doctor, webhooks, signing and trusted keys": [
        "create_user",
        "audit",
        "trust_key",
    ],
    "create, update, roll back or delete a deployment; regenerate its keys": [
        "create_deployment",
        "update_deployment",
        "rollback_deployment",
        "delete_deployment",
        "regenerate_key",
    ],
    "score a deployment or send it feedback with a token; follow what it serves "
    "(`modelyard serve --follow`); send rows a device scored (`edge sync`)": [
        "score",
        "feedback",
        "follow",
        "upload_collected",
    ],
    "register a dataset, or a snapshot of collected data": ["register_dataset", "snapshot"],
    "add, delete or evaluate alert rules": [
        "create_alert_rule",
        "delete_alert_rule",
        "evaluate_alerts",
    ],
    "create, run or delete a batch job": ["create_job", "run_job", "delete_job"],
    "approve or reject a promotion into it": ["approve_promotion", "reject_promotion"],
    "evaluate a version, or request its promotion out of it": ["evaluate", "promote"],
    "change its promotion gates": ["set_gates"],
    "import a signed bundle into it": ["import_bundle"],
}
OTHER = {"sandbox": "production", "production": "sandbox"}
NEEDS_NO_MODEL = {"register", "create_user", "audit", "trust_key", "register_dataset",
                  "set_gates", "import_bundle"}  # fmt: skip
NEEDS_TWO_VERSIONS = {"archive", "delete_version", "update_deployment", "rollback_deployment"}
DEPLOYMENT_ACTIONS = {
    a for a in ACTIONS["create, update, roll back or delete a deployment; regenerate its keys"]
} | {
    "score",
    "feedback",
    "follow",
    "upload_collected",
    "snapshot",
    "create_alert_rule",
    "delete_alert_rule",
    "evaluate_alerts",
    "create_job",
    "run_job",
    "delete_job",
}


def table() -> dict[str, dict[str, bool]]:
    rows: dict[str, dict[str, bool]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(ROLES) + 1 and cells[0] in ACTIONS:
            rows[cells[0]] = {
                role: cell == "✓" for role, cell in zip(ROLES, cells[1:], strict=True)
            }
    assert set(rows) == set(ACTIONS), "docs/security.md lost a row the test checks"
    return rows


def collected_rows(deployment: str) -> bytes:
    """One scored row of ``deployment`` as a device's collector writes it."""
    record = Record("r1", datetime.now(UTC), deployment, 1, "m:1", "live", 200, 1.0,
                    {"x": [1]}, [0], None, 1)  # fmt: skip
    out = io.BytesIO()
    pq.write_table(to_table([record]), out)
    return out.getvalue()


pending: dict[str, int] = {}  # promotion request id per attempt name
bundle: dict[str, bytes] = {}
JOBS: list[
    str
] = []  # the folder jobs may use  # one signed bundle, imported (or re-imported) by every attempt


def attempt(
    http: TestClient, action: str, env: str, name: str, pkg: Path, auth: dict[str, str]
) -> int:
    base = f"/api/v1/models/{env}/{name}"
    match action:
        case "register":
            return http.post(
                "/api/v1/packages",
                headers=auth,
                json={"manifest": (pkg / "modelyard.yaml").read_text(), "environment": env},
            ).status_code
        case "tags":
            return http.patch(
                f"{base}/versions/1/tags", headers=auth, json={"set": {"k": "v"}}
            ).status_code
        case "metrics":
            return http.post(
                f"{base}/versions/1/metrics", headers=auth, json={"metrics": {"m": 1.0}}
            ).status_code
        case "update_model":
            return http.patch(base, headers=auth, json={"description": "x"}).status_code
        case "set_alias":
            return http.put(
                f"{base}/aliases/champion", headers=auth, json={"version": 1}
            ).status_code
        case "delete_alias":
            return http.delete(f"{base}/aliases/old", headers=auth).status_code
        case "archive":
            return http.post(f"{base}/versions/2/archive", headers=auth, json={}).status_code
        case "delete_version":
            return http.delete(f"{base}/versions/2", headers=auth).status_code
        case "delete_model":
            return http.delete(base, headers=auth).status_code
        case "create_user":
            return http.post("/api/v1/users", headers=auth, json={"name": f"u-{name}"}).status_code
        case "trust_key":
            public = base64.b64encode(hashlib.sha256(name.encode()).digest()).decode()
            body = {"name": f"k-{name}", "public_key": public}
            return http.post("/api/v1/keys/trusted", headers=auth, json=body).status_code
        case "audit":
            return http.get("/api/v1/audit", headers=auth).status_code
        case "create_deployment":
            body = {"name": f"new-{name}", "models": [f"{name}:1"], "environment": env}
            return http.post("/api/v1/deployments", headers=auth, json=body).status_code
        case "update_deployment":
            body = {"models": [f"{name}:2"]}
            return http.patch(f"/api/v1/deployments/d-{name}", headers=auth, json=body).status_code
        case "rollback_deployment":
            return http.post(
                f"/api/v1/deployments/d-{name}/rollback", headers=auth, json={}
            ).status_code
        case "delete_deployment":
            return http.delete(f"/api/v1/deployments/d-{name}", headers=auth).status_code
        case "regenerate_key":
            return http.post(
                f"/api/v1/deployments/d-{name}/keys", headers=auth, json={"regenerate": "primary"}
            ).status_code
        case "score":
            return http.post(
                f"/v1/deployments/d-{name}/predict", headers=auth, json={"inputs": [{"x": 1}]}
            ).status_code
        case "feedback":
            body = [{"request_id": "r1", "actual": "late"}]
            return http.post(
                f"/v1/deployments/d-{name}/feedback", headers=auth, json=body
            ).status_code
        case "follow":
            params = {"deployment": f"d-{name}"}
            return http.get("/api/v1/serving/states", headers=auth, params=params).status_code
        case "upload_collected":
            return http.post(
                f"/api/v1/deployments/d-{name}/collected",
                headers={**auth, "content-type": "application/vnd.apache.parquet"},
                content=collected_rows(f"d-{name}"),
            ).status_code
        case "register_dataset":
            return http.post(
                f"/api/v1/datasets/{env}/ds-{name}/versions",
                params={"format": "csv"},
                headers={**auth, "content-type": "application/octet-stream"},
                content=b"a,b\n1,2\n",
            ).status_code
        case "snapshot":
            body = {"name": f"snap-{name}", "environment": env, "deployment": f"d-{name}"}
            r = http.post("/api/v1/datasets/snapshots", headers=auth, json=body)
            # allowed, and refused only because this deployment has collected nothing yet
            nothing = r.status_code == 400 and "collected no" in r.json()["error"]["message"]
            return 201 if nothing else r.status_code
        case "create_alert_rule":
            body = {"deployment": f"d-{name}", "name": "new", "signal": "rows", "threshold": 1}
            return http.post("/api/v1/alerts/rules", headers=auth, json=body).status_code
        case "delete_alert_rule":
            return http.delete(f"/api/v1/alerts/rules/d-{name}/old", headers=auth).status_code
        case "approve_promotion" | "reject_promotion":
            verb = action.split("_", maxsplit=1)[0]
            return http.post(
                f"/api/v1/promotions/{pending[name]}/{verb}", headers=auth, json={}
            ).status_code
        case "evaluate":
            body = {"version": f"{env}/{name}:1", "dataset": f"{env}/ds-{name}"}
            return http.post("/api/v1/evaluations", headers=auth, json=body).status_code
        case "promote":
            body = {"version": f"{env}/{name}:1", "to": OTHER[env]}
            return http.post("/api/v1/promotions", headers=auth, json=body).status_code
        case "import_bundle":
            return http.post(
                "/api/v1/bundles",
                params={"environment": env},
                headers={**auth, "content-type": "application/octet-stream"},
                content=bundle["data"],
            ).status_code
        case "set_gates":
            return http.put(
                f"/api/v1/environments/{env}/gates", headers=auth, json={"approvals": 1}
            ).status_code
        case "create_job":
            jobs = JOBS[0]
            body = {"name": f"j-{name}", "deployment": f"d-{name}",
                    "input": f"{jobs}/in.csv", "output": f"{jobs}/out.csv"}  # fmt: skip
            return http.post("/api/v1/jobs", headers=auth, json=body).status_code
        case "run_job":  # its input is missing: the run fails, and is answered
            return http.post(f"/api/v1/jobs/old-{name}/runs", headers=auth).status_code
        case "delete_job":
            return http.delete(f"/api/v1/jobs/old-{name}", headers=auth).status_code
        case "evaluate_alerts":
            body = {"deployment": f"d-{name}"}
            return http.post("/api/v1/alerts/evaluate", headers=auth, json=body).status_code
    raise AssertionError(action)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_role_every_action_both_environments(
    api: TestClient, embedded: Client, make_package: Callable[..., Path]
) -> None:
    expected = table()
    pkg = make_package()
    JOBS[:] = [str(embedded.settings.resolved_job_roots[0])]
    tokens: dict[tuple[str, str], dict[str, str]] = {}
    for i, (role, home_env) in enumerate(itertools.product(ROLES, ENVIRONMENTS)):
        user = f"user{i}"
        assert (
            api.post(
                "/api/v1/users", json={"name": user, "is_admin": role == "installation admin"}
            ).status_code
            == 201
        )
        if role != "installation admin":
            assert (
                api.post(
                    f"/api/v1/users/{user}/roles", json={"environment": home_env, "role": role}
                ).status_code
                == 200
            )
        secret = api.post("/api/v1/tokens", json={"name": "t", "user": user}).json()["secret"]
        tokens[(role, home_env)] = {"Authorization": f"Bearer {secret}"}

    for env in ENVIRONMENTS:  # requests wait for one approval
        embedded.set_gates(env, approvals=1)
    embedded.register("sandbox/bundled", pkg, git_commit=None)
    embedded.create_key("rbac")
    buf = io.BytesIO()
    embedded.write_bundle("sandbox/bundled:1", buf, key="rbac")
    bundle["data"] = buf.getvalue()
    mismatches = []
    checked = 0
    for n, ((role, home_env), row, target) in enumerate(
        itertools.product(tokens, ACTIONS, ENVIRONMENTS)
    ):
        for action in ACTIONS[row]:
            name = f"m{n}-{action.replace('_', '-')}"
            # what the action needs, and nothing more (the setup is most of the test's time)
            if action not in NEEDS_NO_MODEL:
                embedded.register(f"{target}/{name}", pkg, git_commit=None)
            if action in NEEDS_TWO_VERSIONS:
                embedded.register(f"{target}/{name}", pkg, git_commit=None)
            if action == "delete_alias":
                embedded.set_alias(f"{target}/{name}", "old", 1)
            if action in DEPLOYMENT_ACTIONS and action != "create_deployment":
                embedded.create_deployment(f"d-{name}", [f"{target}/{name}:1"], environment=target)
            if action == "rollback_deployment":
                embedded.update_deployment(f"d-{name}", [f"{name}:2"])
            if action == "delete_alert_rule":
                embedded.create_alert_rule(f"d-{name}", "old", "rows", 1)
            if action in ("run_job", "delete_job"):
                jobs = JOBS[0]
                embedded.create_job(f"old-{name}", f"d-{name}", f"{jobs}/in.csv", f"{jobs}/o.csv")
            if action in ("approve_promotion", "reject_promotion"):
                embedded.register(f"{OTHER[target]}/{name}", pkg, git_commit=None)
                request = embedded.promote(f"{OTHER[target]}/{name}:1", to=target)
                pending[name] = request.id
            if action == "evaluate":
                frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["0", "0", "1"]})
                embedded.register_dataset(f"{target}/ds-{name}", frame)
            if row.startswith("users,"):  # installation-wide: the column says it all
                allowed = expected[row][role]
            else:  # a role counts in its own environment only
                allowed = expected[row][role] and (
                    role == "installation admin" or target == home_env
                )
            status = attempt(api, action, target, name, pkg, tokens[(role, home_env)])
            checked += 1
            if allowed != (status < 400) or (not allowed and status != 403):
                mismatches.append((role, home_env, action, target, status))
    assert checked == len(ROLES) * len(ENVIRONMENTS) * 35 * len(ENVIRONMENTS)
    assert mismatches == []


def test_denials_name_who_what_and_where(
    api: TestClient, embedded: Client, make_package: Callable[..., Path]
) -> None:
    embedded.register("production/payments", make_package())
    api.post("/api/v1/users", json={"name": "vic"})
    api.post("/api/v1/users/vic/roles", json={"environment": "production", "role": "viewer"})
    secret = api.post("/api/v1/tokens", json={"name": "t", "user": "vic"}).json()["secret"]
    r = api.delete(
        "/api/v1/models/production/payments/versions/1",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["message"] == (
        "user 'vic' may not delete in 'production' (roles there: viewer)"
    )
    assert re.fullmatch(r"[^\n]+", r.json()["error"]["message"])
