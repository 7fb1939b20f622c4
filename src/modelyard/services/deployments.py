"""Deployments: create, update, roll back, delete, rotate keys. The rules live here.

- A deployment changes only through an explicit call here; every change is a new revision.
- References (``payments@champion``) are resolved once, when the revision is written.
- Every variant is a ready (not archived) version in the deployment's environment.
- A version that a current revision serves cannot be deleted or archived (the registry asks
  ``serving_dependents``).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.clock import utcnow
from modelyard.domain.deployments import (
    KEY_SLOTS,
    MAX_WAIT_SECONDS,
    WORKER_GONE_SECONDS,
    BatchTarget,
    Deployment,
    Revision,
    Role,
    Rollout,
    ServingOptions,
    Variant,
    VariantSpec,
    check_variants,
    default_weights,
)
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound, NotReady
from modelyard.domain.names import check_name
from modelyard.runtimes.explain import reference_row
from modelyard.services import lookup
from modelyard.services.auth import hash_secret, require
from modelyard.services.registry import RegistryService
from modelyard.store.unit import Store, Tx

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.runtimes.host import Model, ModelHost
    from modelyard.runtimes.scorer import Output

KEY_PREFIX = "myk_"
WAIT_POLL_SECONDS = 0.1


def new_key() -> tuple[str, str, str]:
    """A scoring key: (secret, its hash, the prefix shown in listings). The prefix is the
    kind of secret (``myk_``), never a part of it that would identify it."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_secret(secret), KEY_PREFIX


def key_matches(secret: str, hashes: tuple[str, ...]) -> bool:
    digest = hash_secret(secret)
    return any(hmac.compare_digest(digest, h) for h in hashes)


def serving_dependents(tx: Tx, version: ModelVersion) -> list[str]:
    names = tx.deployments.serving_version(version.environment, version.name, version.version)
    return [f"deployment {n!r} serves it" for n in names]


def deployment_id(tx: Tx, name: str, *, lock: bool = False) -> int:
    """A deployment's id, or ``NotFound`` (``lock``: hold it to the end of the transaction)."""
    found = tx.deployments.deployment_id(name, lock=lock)
    if found is None:
        raise NotFound(f"deployment {name!r} does not exist", deployment=name)
    return found


class Scorers:
    """Models loaded for batch scoring, by package digest, shared by every caller of a
    process (the few most recent: a batch job scores with one)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._found: dict[str, Model] = {}

    def get(self, digest: str, load: Callable[[str], Model]) -> Model:
        with self._lock:
            found = self._found.get(digest)
        if found is not None:
            return found
        found = load(digest)
        with self._lock:
            if len(self._found) >= self.size:
                self._found.pop(next(iter(self._found)))
            self._found[digest] = found
        return found


class DeploymentService:
    def __init__(
        self,
        store: Store,
        registry: RegistryService,
        scorers: Scorers,
        models: ModelHost,
        principal: Principal,
    ) -> None:
        self.models = models
        self.store = store
        self.registry = registry
        self.scorers = scorers
        self.principal = principal

    # -- reading --------------------------------------------------------------------------
    def get_deployment(self, name: str) -> Deployment:
        with self.store.read() as tx:
            deployment = tx.deployments.get(deployment_id(tx, name))
        require(self.principal, Permission.READ, deployment.environment)
        return deployment

    def wait_deployment(
        self, name: str, *, revision: int | None = None, timeout: float = 60.0
    ) -> Rollout:
        if not 0 < timeout <= MAX_WAIT_SECONDS:
            raise InvalidInput(f"timeout must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
        current = self.get_deployment(name).revision.number
        target = current if revision is None else revision
        if not 1 <= target <= current:
            raise InvalidInput(f"deployment {name!r} has revisions 1 to {current}, not {target}")
        deadline = time.monotonic() + timeout
        while True:
            gone_before = utcnow() - timedelta(seconds=WORKER_GONE_SECONDS)
            with self.store.read() as tx:
                workers = tx.workers.seen_since(gone_before)
            behind = [w for w, served in workers.items() if _behind(served, name, target, w)]
            if not behind:
                return Rollout(name, target, len(workers))
            if time.monotonic() >= deadline:
                building = sum(
                    (workers[w].get(name) or {}).get("building") == target for w in behind
                )
                why = f" ({building} building its model environment)" if building else ""
                raise NotReady(
                    f"deployment {name!r}: revision {target} is served by "
                    f"{len(workers) - len(behind)} of {len(workers)} workers after {timeout:g} s"
                    + why
                )
            time.sleep(WAIT_POLL_SECONDS)

    def list_deployments(self, *, environment: str | None = None) -> list[Deployment]:
        with self.store.read() as tx:
            found = tx.deployments.list_deployments(environment)
        return [d for d in found if self.principal.can(Permission.READ, d.environment)]

    def list_revisions(self, name: str) -> list[Revision]:
        with self.store.read() as tx:
            found = deployment_id(tx, name)
            require(self.principal, Permission.READ, tx.deployments.get(found).environment)
            return tx.deployments.revisions(found)

    def batch_target(self, name: str, *, variant: str | None = None) -> BatchTarget:
        """The variant a batch job scores with: the one named, else the live variant with
        the largest weight."""
        deployment = self.get_deployment(name)
        require(self.principal, Permission.SCORE, deployment.environment)
        return BatchTarget(deployment, pick_batch_variant(deployment, variant))

    def score_frame(
        self, name: str, variant: str, frame: pd.DataFrame, *, explain: int = 0
    ) -> Output:
        """Score checked rows with one variant, in this process (its model loaded once per
        package digest and kept in the shared cache); with ``explain``, each row's top
        factors too (``runtimes.explain``)."""
        import dataclasses

        from modelyard.runtimes.explain import CannotExplain, explain_count

        explain_count(explain)
        found = self.batch_target(name, variant=variant)

        def load(digest: str) -> Model:
            folder, manifest = self.registry.package_folder(digest)
            return self.models.load(found.deployment.environment, folder, manifest)

        model = self.scorers.get(found.variant.package_digest, load)
        output = model.score(frame)
        if not explain:
            return output
        columns = {str(c): frame[c].to_numpy() for c in frame.columns}
        try:
            every = model.explain(columns, found.variant.explain_reference)
        except CannotExplain as e:
            raise InvalidInput(f"{found.variant.name} cannot be explained: {e}") from None
        return dataclasses.replace(output, factors=every.top(explain))

    # -- changing -------------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        models: list[str],
        *,
        environment: str | None = None,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
        description: str = "",
    ) -> Deployment:
        """A new deployment serving ``models`` (``NAME:VER[=WEIGHT]``). The result carries
        both scoring keys in ``new_keys``: they are shown this once."""
        check_name(name, "deployment name")
        env = environment or self._environment_of(models) or self.registry.default_environment
        require(self.principal, Permission.DEPLOY, env)
        serving = ServingOptions.from_dict(options)
        keys = {slot: new_key() for slot in KEY_SLOTS}
        with self.store.write() as tx:
            if tx.deployments.deployment_id(name) is not None:
                raise AlreadyExists(f"deployment {name!r} already exists", deployment=name)
            lookup.check_environment(tx, env)
            variants = self._variants(tx, env, models, shadows or [], serving)
            found = tx.deployments.insert(
                name=name,
                environment=env,
                description=description,
                keys={slot: (k[1], k[2]) for slot, k in keys.items()},
                actor=self.principal.name,
            )
            deployment = _revise(
                tx, found, variants, serving, self.principal.name, "create", None, None
            )
        return deployment.with_new_keys({slot: k[0] for slot, k in keys.items()})

    def update_deployment(
        self,
        name: str,
        models: list[str] | None = None,
        *,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        """A new revision. ``models`` replace the live variants (omitted: keep them);
        ``shadows`` replace the shadow variants (omitted: keep; empty list: none);
        ``options`` change serving options (the rest are kept)."""
        with self.store.write() as tx:
            found, before = self._deployment(tx, name)
            current = before.revision
            if models is None and shadows is None and not options:
                raise InvalidInput("nothing to update: give --model, --shadow or a serving option")
            live_specs = models if models is not None else _specs(current.live)
            shadow_specs = shadows if shadows is not None else _specs(current.shadows)
            serving = current.options.merged(options)
            variants = self._variants(tx, before.environment, live_specs, shadow_specs, serving)
            deployment = _revise(
                tx, found, variants, serving, self.principal.name, "update", current, None
            )
        return deployment

    def rollback_deployment(self, name: str, *, to: int | None = None) -> Deployment:
        """Re-apply an earlier revision as a new one (default: the one before the current)."""
        with self.store.write() as tx:
            found, before = self._deployment(tx, name)
            current = before.revision
            target_number = to if to is not None else current.number - 1
            if target_number == current.number:
                raise InvalidInput(f"revision {to} is already current for {name!r}")
            target = tx.deployments.revision(found, target_number) if target_number else None
            if target is None:
                raise NotFound(
                    f"deployment {name!r} has no revision {target_number}"
                    + (" to roll back to" if to is None else ""),
                    deployment=name,
                    revision=target_number,
                )
            for v in target.variants:  # a version deleted or archived since cannot come back
                self._ready_version(tx, v.environment, f"{v.model}:{v.version}")
            deployment = _revise(
                tx,
                found,
                list(target.variants),
                target.options,
                self.principal.name,
                "rollback",
                current,
                target.number,
            )
        return deployment

    def delete_deployment(self, name: str) -> Deployment:
        with self.store.write() as tx:
            found, deployment = self._deployment(tx, name)
            tx.deployments.delete(found)
            tx.audit.append(
                actor=self.principal.name,
                action="deployment.deleted",
                subject=_subject(deployment),
                before=_summary(deployment.revision),
            )
        return deployment

    def regenerate_key(self, name: str, slot: str) -> Deployment:
        """Replace one scoring key; the other keeps working, so clients rotate without
        downtime. The new secret is in ``new_keys``, shown this once."""
        if slot not in KEY_SLOTS:
            raise InvalidInput(f"unknown key {slot!r}: choose primary or secondary")
        secret, digest, prefix = new_key()
        with self.store.write() as tx:
            found, _ = self._deployment(tx, name)
            tx.deployments.set_key(found, slot, digest, prefix)
            deployment = tx.deployments.get(found)
            tx.audit.append(
                actor=self.principal.name,
                action="deployment.keys_regenerated",
                subject=_subject(deployment),
                after={"key": slot},
            )
        return deployment.with_new_keys({slot: secret})

    # -- helpers --------------------------------------------------------------------------
    def _deployment(self, tx: Tx, name: str) -> tuple[int, Deployment]:
        """A deployment about to change: its id and current state, its row held to the end
        of the transaction; the caller may deploy in its environment."""
        found = deployment_id(tx, name, lock=True)
        deployment = tx.deployments.get(found)
        require(self.principal, Permission.DEPLOY, deployment.environment)
        return found, deployment

    def _environment_of(self, models: list[str]) -> str | None:
        """``--model sandbox/payments:3`` names its environment; the first one that does."""
        for text in models:
            ref = VariantSpec.parse(text).ref
            if "/" in ref:
                return ref.split("/", 1)[0]
        return None

    def _variants(
        self, tx: Tx, env: str, models: list[str], shadows: list[str], options: ServingOptions
    ) -> list[Variant]:
        """The variants of ``models`` and ``shadows``; none may take a key column, and the
        maturity column is an input of each or a key."""
        keys, dated, amount = options.keys, options.maturity_column, options.amount_column
        specs = [VariantSpec.parse(m, Role.LIVE) for m in models]
        specs += [VariantSpec.parse(s, Role.SHADOW) for s in shadows]
        weights = default_weights(specs)
        variants = []
        for spec, weight in zip(specs, weights, strict=True):
            found = self._ready_version(tx, env, spec.ref)
            version = found.version
            named = [str(f["name"]) for f in (version.signature or {}).get("inputs") or []]
            inputs = set(named)
            taken = [k for k in keys if k in inputs]
            if taken:
                raise InvalidInput(
                    f"key column {taken[0]!r} is an input of {version.ref}: a key is never "
                    "given to the model",
                    key=taken[0],
                )
            for option, column in (("maturity_column", dated), ("amount_column", amount)):
                if column and column not in inputs and column not in keys:
                    raise InvalidInput(
                        f"{option} {column!r} is neither an input of {version.ref} nor a key column"
                    )
            variants.append(
                Variant(
                    name=f"{version.name}:{version.version}",
                    environment=version.environment,
                    model=version.name,
                    version=version.version,
                    package_digest=version.package_digest,
                    weight=weight,
                    role=spec.role,
                    explain_reference=reference_row(tx.datasets.baseline(found.version_id), named),
                )
            )
        return check_variants(variants)

    def _ready_version(self, tx: Tx, env: str, text: str) -> lookup.Found:
        ref = self.registry.ref(text, env)
        if ref.environment != env:
            raise InvalidInput(
                f"{text} is in {ref.environment!r} but the deployment is in {env!r}: "
                "promote the version first",
                model=text,
            )
        found = lookup.version(tx, ref)
        if found.version.status != "ready":
            raise InvalidInput(
                f"{found.version.ref} is archived and cannot be deployed", model=text
            )
        return found


def pick_batch_variant(deployment: Deployment, variant: str | None) -> Variant:
    variants = deployment.revision.variants
    if variant is not None:
        for v in variants:
            if v.name == variant:
                return v
        names = ", ".join(v.name for v in variants)
        raise InvalidInput(
            f"{variant!r} is not served by {deployment.name!r} (variants: {names})",
            variant=variant,
        )
    return max(deployment.revision.live, key=lambda v: v.weight)


_ACTIONS = {"create": "created", "update": "updated", "rollback": "rolled_back"}


def _revise(
    tx: Tx,
    dep_id: int,
    variants: list[Variant],
    options: ServingOptions,
    actor: str,
    action: str,
    before: Revision | None,
    rolled_back_to: int | None,
) -> Deployment:
    """Write the next revision, make it current and audit it, in the caller's transaction."""
    tx.deployments.add_revision(
        dep_id,
        variants=variants,
        options=options,
        action=action,
        rolled_back_to=rolled_back_to,
        actor=actor,
    )
    deployment = tx.deployments.get(dep_id)
    after = _summary(deployment.revision)
    if rolled_back_to is not None:
        after["rolled_back_to"] = rolled_back_to
    tx.audit.append(
        actor=actor,
        action=f"deployment.{_ACTIONS[action]}",
        subject=_subject(deployment),
        before=_summary(before) if before is not None else None,
        after=after,
    )
    return deployment


def _behind(served: dict[str, Any], name: str, target: int, worker: str) -> bool:
    """Does this worker's report show it serving less than ``target``? A failed load of
    ``target`` is refused at once: waiting longer would not change it."""
    entry = served.get(name) or {}
    if (entry.get("revision") or 0) >= target:
        return False
    if (entry.get("failed") or 0) >= target:
        raise NotReady(f"deployment {name!r}: worker {worker}: {entry.get('failure')}")
    return True


def _specs(variants: tuple[Variant, ...]) -> list[str]:
    return [f"{v.model}:{v.version}={v.weight:g}" for v in variants]


def _subject(deployment: Deployment) -> str:
    return f"deployment:{deployment.environment}/{deployment.name}"


def _summary(revision: Revision) -> dict[str, Any]:
    return {
        "revision": revision.number,
        "variants": [
            {"model": v.name, "weight": v.weight, "role": str(v.role)} for v in revision.variants
        ],
    }
