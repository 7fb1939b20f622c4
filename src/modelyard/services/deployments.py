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
from typing import Any

from sqlalchemy.orm import Session

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.deployments import (
    KEY_SLOTS,
    Deployment,
    Revision,
    Role,
    ServingOptions,
    Variant,
    VariantSpec,
    check_variants,
    default_weights,
)
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.domain.names import check_name
from modelyard.services.auth import hash_secret, require
from modelyard.services.registry import RegistryService
from modelyard.store import audit
from modelyard.store import deployments as q
from modelyard.store.database import Database
from modelyard.store.tables import DeploymentRow

KEY_PREFIX = "myk_"


def new_key() -> tuple[str, str, str]:
    """A scoring key: (secret, its hash, the prefix shown in listings)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_secret(secret), secret[:12]


def key_matches(secret: str, hashes: tuple[str, ...]) -> bool:
    digest = hash_secret(secret)
    return any(hmac.compare_digest(digest, h) for h in hashes)


def serving_dependents(session: Session, version: ModelVersion) -> list[str]:
    names = q.serving_version(session, version.environment, version.name, version.version)
    return [f"deployment {n!r} serves it" for n in names]


class DeploymentService:
    def __init__(self, db: Database, registry: RegistryService) -> None:
        self.db = db
        self.registry = registry
        registry.add_dependents_check(serving_dependents)

    # -- reading --------------------------------------------------------------------------
    def get(self, name: str, *, actor: Principal) -> Deployment:
        with self.db.read() as session:
            row = self._row(session, name)
            require(actor, Permission.READ, row.environment)
            return q.entity(session, row)

    def list_deployments(
        self, *, actor: Principal, environment: str | None = None
    ) -> list[Deployment]:
        with self.db.read() as session:
            return [
                q.entity(session, row)
                for row in q.list_rows(session, environment)
                if actor.can(Permission.READ, row.environment)
            ]

    def revisions(self, name: str, *, actor: Principal) -> list[Revision]:
        with self.db.read() as session:
            row = self._row(session, name)
            require(actor, Permission.READ, row.environment)
            return [q.revision_entity(row.name, r) for r in q.revision_rows(session, row.id)]

    def batch_variant(
        self, name: str, *, actor: Principal, variant: str | None = None
    ) -> tuple[Deployment, Variant]:
        """The variant a batch job scores with: the one named, else the live variant with
        the largest weight (a file is scored by one version, not split like traffic)."""
        deployment = self.get(name, actor=actor)
        require(actor, Permission.SCORE, deployment.environment)
        return deployment, pick_batch_variant(deployment, variant)

    # -- changing -------------------------------------------------------------------------
    def create(
        self,
        name: str,
        models: list[str],
        *,
        actor: Principal,
        environment: str | None = None,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
        description: str = "",
    ) -> Deployment:
        """A new deployment serving ``models`` (``NAME:VER[=WEIGHT]``). The result carries
        both scoring keys in ``new_keys``: they are shown this once."""
        check_name(name, "deployment name")
        env = environment or self._environment_of(models) or self.registry.default_environment
        require(actor, Permission.DEPLOY, env)
        serving = ServingOptions.from_dict(options)
        keys = {slot: new_key() for slot in KEY_SLOTS}
        with self.db.write() as session:
            if q.find(session, name) is not None:
                raise AlreadyExists(f"deployment {name!r} already exists", deployment=name)
            self.registry.check_environment(session, env)
            variants = self._variants(session, env, models, shadows or [])
            row = q.insert(
                session,
                name=name,
                environment=env,
                description=description,
                keys={slot: (k[1], k[2]) for slot, k in keys.items()},
                actor=actor.name,
            )
            deployment = _revise(session, row, variants, serving, actor, "create", None, None)
        return deployment.with_new_keys({slot: k[0] for slot, k in keys.items()})

    def update(
        self,
        name: str,
        models: list[str] | None = None,
        *,
        actor: Principal,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        """A new revision. ``models`` replace the live variants (omitted: keep them);
        ``shadows`` replace the shadow variants (omitted: keep; empty list: none);
        ``options`` change serving options (the rest are kept)."""
        with self.db.write() as session:
            row = self._row(session, name, lock=True)
            require(actor, Permission.DEPLOY, row.environment)
            current = q.entity(session, row).revision
            if models is None and shadows is None and not options:
                raise InvalidInput("nothing to update: give --model, --shadow or a serving option")
            live_specs = models if models is not None else _specs(current.live)
            shadow_specs = shadows if shadows is not None else _specs(current.shadows)
            variants = self._variants(session, row.environment, live_specs, shadow_specs)
            serving = current.options.merged(options)
            deployment = _revise(session, row, variants, serving, actor, "update", current, None)
        return deployment

    def rollback(self, name: str, *, actor: Principal, to: int | None = None) -> Deployment:
        """Re-apply an earlier revision as a new one (default: the one before the current)."""
        with self.db.write() as session:
            row = self._row(session, name, lock=True)
            require(actor, Permission.DEPLOY, row.environment)
            current = q.entity(session, row).revision
            target_number = to if to is not None else current.number - 1
            if target_number == current.number:
                raise InvalidInput(f"revision {to} is already current for {name!r}")
            target_row = q.revision_row(session, row.id, target_number) if target_number else None
            if target_row is None:
                raise NotFound(
                    f"deployment {name!r} has no revision {target_number}"
                    + (" to roll back to" if to is None else ""),
                    deployment=name,
                    revision=target_number,
                )
            target = q.revision_entity(name, target_row)
            for v in target.variants:  # a version deleted or archived since cannot come back
                self._ready_version(session, v.environment, f"{v.model}:{v.version}")
            deployment = _revise(
                session,
                row,
                list(target.variants),
                target.options,
                actor,
                "rollback",
                current,
                target.number,
            )
        return deployment

    def delete(self, name: str, *, actor: Principal) -> Deployment:
        with self.db.write() as session:
            row = self._row(session, name, lock=True)
            require(actor, Permission.DEPLOY, row.environment)
            deployment = q.entity(session, row)
            q.delete(session, row)
            audit.append(
                session,
                actor=actor.name,
                action="deployment.deleted",
                subject=_subject(deployment),
                before=_summary(deployment.revision),
            )
        return deployment

    def regenerate_key(self, name: str, slot: str, *, actor: Principal) -> Deployment:
        """Replace one scoring key; the other keeps working, so clients rotate without
        downtime. The new secret is in ``new_keys``, shown this once."""
        if slot not in KEY_SLOTS:
            raise InvalidInput(f"unknown key {slot!r}: choose primary or secondary")
        secret, digest, prefix = new_key()
        with self.db.write() as session:
            row = self._row(session, name, lock=True)
            require(actor, Permission.DEPLOY, row.environment)
            q.set_key(session, row, slot, digest, prefix)
            deployment = q.entity(session, row)
            audit.append(
                session,
                actor=actor.name,
                action="deployment.keys_regenerated",
                subject=_subject(deployment),
                after={"key": slot, "prefix": prefix},
            )
        return deployment.with_new_keys({slot: secret})

    # -- helpers --------------------------------------------------------------------------
    def _row(self, session: Session, name: str, *, lock: bool = False) -> DeploymentRow:
        row = q.find(session, name, lock=lock)
        if row is None:
            raise NotFound(f"deployment {name!r} does not exist", deployment=name)
        return row

    def _environment_of(self, models: list[str]) -> str | None:
        """``--model sandbox/payments:3`` names its environment; the first one that does."""
        for text in models:
            ref = VariantSpec.parse(text).ref
            if "/" in ref:
                return ref.split("/", 1)[0]
        return None

    def _variants(
        self, session: Session, env: str, models: list[str], shadows: list[str]
    ) -> list[Variant]:
        specs = [VariantSpec.parse(m, Role.LIVE) for m in models]
        specs += [VariantSpec.parse(s, Role.SHADOW) for s in shadows]
        weights = default_weights(specs)
        variants = []
        for spec, weight in zip(specs, weights, strict=True):
            version = self._ready_version(session, env, spec.ref)
            variants.append(
                Variant(
                    name=f"{version.name}:{version.version}",
                    environment=version.environment,
                    model=version.name,
                    version=version.version,
                    package_digest=version.package_digest,
                    weight=weight,
                    role=spec.role,
                )
            )
        return check_variants(variants)

    def _ready_version(self, session: Session, env: str, text: str) -> ModelVersion:
        ref = self.registry.ref(text, env)
        if ref.environment != env:
            raise InvalidInput(
                f"{text} is in {ref.environment!r} but the deployment is in {env!r}: "
                "promote the version first",
                model=text,
            )
        version = self.registry.resolve(session, ref)
        if version.status != "ready":
            raise InvalidInput(f"{version.ref} is archived and cannot be deployed", model=text)
        return version


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
    session: Session,
    row: DeploymentRow,
    variants: list[Variant],
    options: ServingOptions,
    actor: Principal,
    action: str,
    before: Revision | None,
    rolled_back_to: int | None,
) -> Deployment:
    """Write the next revision, make it current and audit it, in the caller's transaction."""
    q.add_revision(
        session,
        row,
        variants=variants,
        options=options,
        action=action,
        rolled_back_to=rolled_back_to,
        actor=actor.name,
    )
    deployment = q.entity(session, row)
    after = _summary(deployment.revision)
    if rolled_back_to is not None:
        after["rolled_back_to"] = rolled_back_to
    audit.append(
        session,
        actor=actor.name,
        action=f"deployment.{_ACTIONS[action]}",
        subject=_subject(deployment),
        before=_summary(before) if before is not None else None,
        after=after,
    )
    return deployment


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
