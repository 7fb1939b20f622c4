"""``modelyard apply FILE``: the whole flow declared in one file, run in one command.

register datasets → register the model → evaluate → deploy to the sandbox → smoke test
→ request promotion → (once approved) update the production deployment.

Every step first looks at what is there and does only what is missing, so a second run
with nothing changed changes nothing. Steps go through the public SDK (``Client``), so
the file runs against the embedded home or a server alike, and every rule is still the
services'. ``--dry-run`` reports what would change and changes nothing.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelyard.domain.auth import Permission, Role
from modelyard.domain.errors import InvalidInput, ModelyardError, ModelyardWarning, NotFound
from modelyard.sdk.client import Client

#: How long ``apply`` waits for every server worker to serve a new revision.
ROLLOUT_SECONDS = 300.0

Status = Literal["unchanged", "changed", "would change", "waiting", "failed", "passed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    name: str
    file: str
    description: str = ""


class ModelSpec(_Strict):
    name: str
    path: str
    input_example: str | None = None
    datasets: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    description: str = ""


class EvaluateSpec(_Strict):
    dataset: str
    label: str | None = None


class SmokeSpec(_Strict):
    file: str
    max_error_rate: float = Field(0.0, ge=0, le=1)


class DeploySpec(_Strict):
    deployment: str
    smoke_test: SmokeSpec | None = None


class PromoteSpec(_Strict):
    to: str
    note: str = ""


class Lifecycle(_Strict):
    lifecycle: Literal[1] = 1
    environment: str = "sandbox"
    datasets: list[DatasetSpec] = Field(default_factory=list)
    model: ModelSpec
    evaluate: EvaluateSpec | None = None
    sandbox: DeploySpec | None = None
    promote: PromoteSpec | None = None
    production: DeploySpec | None = None


@dataclass
class Step:
    step: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"step": self.step, "status": self.status, "detail": self.detail}


@dataclass
class Plan:
    """The steps of one run. ``on_step`` sees each step once it is complete (the next one
    began, or the run ended), so a run that fails part-way has shown what it did."""

    steps: list[Step] = field(default_factory=list)
    on_step: Callable[[Step], None] | None = None
    _shown: int = 0

    def add(self, step: str, status: Status, detail: str) -> Step:
        self.close()
        self.steps.append(Step(step, status, detail))
        return self.steps[-1]

    def close(self) -> None:
        """Hand every step not shown yet to ``on_step``."""
        while self._shown < len(self.steps):
            if self.on_step is not None:
                self.on_step(self.steps[self._shown])
            self._shown += 1

    @property
    def changed(self) -> bool:
        return any(s.status in ("changed", "would change") for s in self.steps)

    @property
    def failed(self) -> bool:
        return any(s.status == "failed" for s in self.steps)


def load(path: Path) -> tuple[Lifecycle, Path]:
    if not path.is_file():
        raise InvalidInput(f"no such file: {str(path)!r}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path.name} is not valid YAML: {str(e).splitlines()[0]}") from None
    try:
        return Lifecycle.model_validate(raw), path.parent
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise InvalidInput(f"{path.name}: {where}: {first['msg']}") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


#: The role that gives a permission (what ``apply`` tells a user to ask for).
ROLE_FOR = {
    Permission.READ: Role.VIEWER,
    Permission.REGISTER: Role.DEVELOPER,
    Permission.SCORE: Role.DEVELOPER,
    Permission.DEPLOY: Role.DEPLOYER,
    Permission.APPROVE: Role.APPROVER,
}


class Runner:
    def __init__(
        self, client: Client, spec: Lifecycle, base: Path, dry_run: bool, plan: Plan
    ) -> None:
        self.c = client
        self.spec = spec
        self.base = base
        self.dry = dry_run
        self.plan = plan
        self.env = spec.environment
        self.working: Step | None = None  # the change under way

    def file(self, relative: str) -> Path:
        path = (self.base / relative).resolve()
        if not path.exists():
            raise InvalidInput(f"the lifecycle file names {relative!r}, which does not exist")
        return path

    def change(self, step: str, detail: str) -> bool:
        """Record a change; False in a dry run (the caller then does nothing)."""
        self.working = self.plan.add(step, "would change" if self.dry else "changed", detail)
        return not self.dry

    def run(self) -> Plan:
        """Every step, after a check that the caller may do all of them; an error marks the
        change under way as failed, shows what was done, and is raised."""
        try:
            if self.permitted():
                self.steps()
        except ModelyardError as e:
            if self.working is not None and self.working is self.plan.steps[-1]:
                self.working.status = "failed"
                self.working.detail += f": {e.message}"
            raise
        finally:
            self.plan.close()
        return self.plan

    def needs(self) -> list[tuple[Permission, str, str]]:
        """What the file makes the caller do: (permission, environment, what for). The
        services enforce each (``require`` in ``services/``); asking first means a token
        that lacks one changes nothing."""
        s, env = self.spec, self.env
        needs = [(Permission.REGISTER, env, f"register {s.model.name}")]
        if s.datasets:
            needs.append((Permission.REGISTER, env, "register datasets"))
        if s.evaluate:
            needs.append((Permission.REGISTER, env, "evaluate"))
        deploys = [(env, s.sandbox)]
        if s.promote:
            needs.append((Permission.REGISTER, env, f"request promotion to {s.promote.to}"))
            deploys.append((s.promote.to, s.production))
        for where, d in deploys:
            if d is not None:
                needs.append((Permission.DEPLOY, where, f"deploy {d.deployment}"))
                if d.smoke_test:
                    needs.append((Permission.SCORE, where, f"smoke test {d.deployment}"))
        return needs

    def permitted(self) -> bool:
        """False, with a failed step naming the roles to ask for, if the caller lacks any."""
        me = self.c.whoami()
        missing: dict[tuple[str, Role], list[str]] = {}
        for permission, env, why in self.needs():
            if not me.can(permission, env):
                missing.setdefault((env, ROLE_FOR[permission]), []).append(why)
        if not missing:
            return True
        lacks = "; ".join(
            f"{role} in {env} (to {', '.join(whys)})" for (env, role), whys in missing.items()
        )
        self.plan.add("permissions", "failed", f"user {me.name!r} needs {lacks}; nothing done")
        return False

    def steps(self) -> None:
        for d in self.spec.datasets:
            self.dataset(d)
        version = self.model()
        if version is None:  # dry run, new version: later steps depend on it
            return
        if self.spec.evaluate:
            self.evaluate(version)
        if self.spec.sandbox:
            self.deploy("sandbox", self.spec.sandbox, version)
        if self.spec.promote and not self.plan.failed:
            promoted = self.promote(version, self.spec.promote)
            if promoted and self.spec.production:
                self.deploy("production", self.spec.production, promoted)

    def dataset(self, d: DatasetSpec) -> None:
        path = self.file(d.file)
        try:
            latest = self.c.get_dataset(d.name, environment=self.env)
        except NotFound:
            latest = None
        if latest is not None and latest.digest == _sha256(path):
            self.plan.add("dataset", "unchanged", f"{latest.ref} holds {d.file}")
            return
        if self.change("dataset", f"register {d.file} as {self.env}/{d.name}"):
            found = self.c.register_dataset(
                d.name, path, environment=self.env, description=d.description
            )
            self.plan.steps[-1].detail = f"registered {found.ref} ({found.rows:,} rows)"

    def model(self) -> str | None:
        m = self.spec.model
        path = self.file(m.path)
        example = self.file(m.input_example) if m.input_example else None
        try:
            with warnings.catch_warnings():  # shown when it is registered, not twice
                warnings.simplefilter("ignore", ModelyardWarning)
                digest: str | None = self.c.package_digest(
                    path, input_example=example, datasets=m.datasets, environment=self.env
                )
        except NotFound:  # it names a dataset this run registers (a dry run has not)
            digest = None
        try:
            versions = self.c.list_versions(m.name, environment=self.env)
        except NotFound:
            versions = []
        same = [v for v in versions if digest is not None and v.package_digest == digest]
        if same:
            shown = same[-1].package_digest[:19]
            self.plan.add("model", "unchanged", f"{same[-1].ref} is this package ({shown}…)")
            return same[-1].ref
        if not self.change("model", f"register {m.path} as the next version of {m.name}"):
            return None
        v = self.c.register(
            f"{self.env}/{m.name}",
            path,
            input_example=example,
            datasets=m.datasets,
            tags=m.tags,
            metrics=m.metrics,
            description=m.description,
        )
        self.plan.steps[-1].detail = f"registered {v.ref}"
        return v.ref

    def evaluate(self, version: str) -> None:
        e = self.spec.evaluate
        assert e is not None
        dataset = self.c.get_dataset(e.dataset, environment=self.env)
        if any(x.dataset == dataset.ref for x in self.c.list_evaluations(version)):
            self.plan.add("evaluate", "unchanged", f"{version} is evaluated on {dataset.ref}")
            return
        if self.change("evaluate", f"evaluate {version} on {dataset.ref}"):
            found = self.c.evaluate(version, dataset.ref, label=e.label)
            shown = ", ".join(f"{k}={v:.3f}" for k, v in found.metrics.items())
            self.plan.steps[-1].detail = f"evaluated {version} on {dataset.ref}: {shown}"

    def deploy(self, stage: str, d: DeploySpec, version: str) -> None:
        env, name = version.split("/", 1)
        try:
            current = self.c.get_deployment(d.deployment)
        except NotFound:
            current = None
        serving = [v.name for v in current.revision.live] if current else []
        if serving == [name]:
            self.plan.add(stage, "unchanged", f"deployment {d.deployment} serves {version}")
        elif self.change(stage, f"deployment {d.deployment} to serve {version}"):
            if current is None:
                created = self.c.create_deployment(d.deployment, [version], environment=env)
                keys = ", ".join(f"{slot} {key}" for slot, key in created.new_keys.items())
                self.plan.steps[-1].detail += f"; its scoring keys, shown once: {keys}"
            else:
                self.c.update_deployment(d.deployment, [version])
        if self.dry:
            return
        try:  # every server worker serves the revision before anything scores with it
            self.c.wait_deployment(d.deployment, timeout=ROLLOUT_SECONDS)
        except ModelyardError as e:
            self.plan.add(f"{stage} rollout", "failed", e.message)
            return
        if d.smoke_test:
            self.smoke(stage, d.deployment, d.smoke_test)

    def smoke(self, stage: str, deployment: str, s: SmokeSpec) -> None:
        import tempfile

        source = self.file(s.file)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                result = self.c.predict_file(
                    deployment,
                    source,
                    Path(tmp) / "scored.parquet",
                    max_error_rate=s.max_error_rate,
                )
            except ModelyardError as e:
                self.plan.add(f"{stage} smoke test", "failed", e.message)
                return
        self.plan.add(
            f"{stage} smoke test",
            "passed",
            f"{result.scored:,} of {result.rows:,} rows scored by {result.model_version}",
        )

    def promote(self, version: str, p: PromoteSpec) -> str | None:
        mine = [
            r
            for r in self.c.list_promotion_requests()
            if r.source == version and r.target_environment == p.to
        ]
        latest = mine[0] if mine else None
        if latest is not None and latest.state == "promoted":
            self.plan.add("promote", "unchanged", f"{version} was promoted as {latest.result}")
            return latest.result
        if latest is not None and latest.state == "pending":
            got = f"{len(latest.approvals)} of {latest.required_approvals}"
            self.plan.add("promote", "waiting", f"request {latest.id} waits for approval ({got})")
            return None
        if not self.change("promote", f"request promotion of {version} to {p.to}"):
            return None
        request = self.c.promote(version, to=p.to, note=p.note)
        failed = [g.detail for g in request.gates if not g.passed and g.gate != "approvals"]
        if request.state == "blocked":
            self.plan.steps[-1].status = "failed"
            self.plan.steps[-1].detail = f"request {request.id} blocked: {'; '.join(failed)}"
            return None
        if request.state == "promoted":
            self.plan.steps[-1].detail = f"promoted {version} as {request.result}"
            return request.result
        self.plan.steps[
            -1
        ].detail = f"request {request.id} waits for {request.required_approvals} approval(s)"
        return None


def apply(
    client: Client,
    path: Path,
    *,
    dry_run: bool = False,
    on_step: Callable[[Step], None] | None = None,
) -> Plan:
    """Run the file; ``on_step`` sees each step as it completes."""
    spec, base = load(path)
    return Runner(client, spec, base, dry_run, Plan(on_step=on_step)).run()
