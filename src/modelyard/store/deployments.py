"""Deployments and their revisions: ``Deployments`` reads and writes them inside one
transaction and answers with entities and ids, never rows."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.deployments import (
    Deployment,
    Revision,
    ScoringKey,
    ServingOptions,
    ServingState,
    Variant,
)
from modelyard.store.tables import (
    DeploymentRow,
    ModelRow,
    ModelVersionRow,
    RevisionRow,
    RevisionVariantRow,
    ServingChangeRow,
    core,
    utcnow,
)

_DEPLOYMENTS = core(DeploymentRow)
_NEXT_REVISION = (
    sa.update(_DEPLOYMENTS)
    .where(_DEPLOYMENTS.c.id == sa.bindparam("b_id"))
    .values(
        last_revision=_DEPLOYMENTS.c.last_revision + 1,
        current_revision=_DEPLOYMENTS.c.last_revision + 1,
        updated_at=sa.bindparam("b_now"),
    )
    .returning(_DEPLOYMENTS.c.last_revision)
)

_CHANGES = core(ServingChangeRow)
_CHANGED = sa.update(_CHANGES).values(changes=_CHANGES.c.changes + 1)

_CURRENT = sa.and_(
    RevisionRow.deployment_id == DeploymentRow.id,
    RevisionRow.number == DeploymentRow.current_revision,
)
_WITH_CURRENT = sa.select(DeploymentRow, RevisionRow).join(RevisionRow, _CURRENT)
_STATE = (
    sa.select(
        DeploymentRow.name,
        DeploymentRow.environment,
        DeploymentRow.current_revision,
        DeploymentRow.primary_key_hash,
        DeploymentRow.secondary_key_hash,
        RevisionRow.variants,
        RevisionRow.options,
    )
    .join(RevisionRow, _CURRENT)
    .order_by(DeploymentRow.name)
)


def _revision(name: str, row: RevisionRow) -> Revision:
    return Revision(
        deployment=name,
        number=row.number,
        variants=tuple(Variant.from_dict(v) for v in row.variants),
        options=ServingOptions.from_dict(row.options),
        action=row.action,
        rolled_back_to=row.rolled_back_to,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _deployment(row: DeploymentRow, current: RevisionRow) -> Deployment:
    return Deployment(
        name=row.name,
        environment=row.environment,
        description=row.description,
        revision=_revision(row.name, current),
        keys=(
            ScoringKey("primary", row.primary_key_prefix, row.primary_key_created_at),
            ScoringKey("secondary", row.secondary_key_prefix, row.secondary_key_created_at),
        ),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class Deployments:
    """Deployments, their immutable revisions and the versions those pin, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def deployment_id(self, name: str, *, lock: bool = False) -> int | None:
        """The deployment's id; ``lock`` holds its row until the transaction ends, so
        concurrent revisions of one deployment queue."""
        stmt = sa.select(DeploymentRow.id).where(DeploymentRow.name == name)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalar(stmt)

    def get(self, deployment_id: int) -> Deployment:
        """A deployment with its current revision (it is created with its first)."""
        found = self.session.execute(_WITH_CURRENT.where(DeploymentRow.id == deployment_id)).one()
        return _deployment(*found)

    def list_deployments(self, environment: str | None = None) -> list[Deployment]:
        stmt = _WITH_CURRENT.order_by(DeploymentRow.name)
        if environment:
            stmt = stmt.where(DeploymentRow.environment == environment)
        return [_deployment(d, r) for d, r in self.session.execute(stmt)]

    def insert(
        self,
        *,
        name: str,
        environment: str,
        description: str,
        keys: dict[str, tuple[str, str]],
        actor: str,
    ) -> int:
        """A new deployment without a revision yet (``add_revision`` writes its first);
        ``keys``: slot -> (secret's hash, prefix shown)."""
        now = utcnow()
        self.session.execute(_CHANGED)
        return int(
            self.session.execute(
                sa.insert(_DEPLOYMENTS)
                .values(
                    name=name,
                    environment=environment,
                    description=description,
                    current_revision=0,
                    last_revision=0,
                    primary_key_hash=keys["primary"][0],
                    primary_key_prefix=keys["primary"][1],
                    primary_key_created_at=now,
                    secondary_key_hash=keys["secondary"][0],
                    secondary_key_prefix=keys["secondary"][1],
                    secondary_key_created_at=now,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_DEPLOYMENTS.c.id)
            ).scalar_one()
        )

    def set_key(self, deployment_id: int, slot: str, secret_hash: str, prefix: str) -> None:
        """Replace one scoring key (``primary`` or ``secondary``)."""
        now = utcnow()
        self.session.execute(_CHANGED)
        self.session.execute(
            sa.update(_DEPLOYMENTS)
            .where(_DEPLOYMENTS.c.id == deployment_id)
            .values(
                {
                    f"{slot}_key_hash": secret_hash,
                    f"{slot}_key_prefix": prefix,
                    f"{slot}_key_created_at": now,
                    "updated_at": now,
                }
            )
        )

    def add_revision(
        self,
        deployment_id: int,
        *,
        variants: Sequence[Variant],
        options: ServingOptions,
        action: str,
        rolled_back_to: int | None,
        actor: str,
    ) -> int:
        """Append a revision and make it current; its number. The versions it pins are
        recorded for ``serving_version``."""
        self.session.execute(_CHANGED)
        number = int(
            self.session.execute(
                _NEXT_REVISION, {"b_id": deployment_id, "b_now": utcnow()}
            ).scalar_one()
        )
        revision_id = self.session.execute(
            sa.insert(core(RevisionRow))
            .values(
                deployment_id=deployment_id,
                number=number,
                variants=[v.to_dict() for v in variants],
                options=options.to_dict(),
                action=action,
                rolled_back_to=rolled_back_to,
                created_by=actor,
                created_at=utcnow(),
            )
            .returning(core(RevisionRow).c.id)
        ).scalar_one()
        pinned = sorted(set(self._version_ids(variants)))
        if pinned:
            self.session.execute(
                sa.insert(core(RevisionVariantRow)),
                [{"revision_id": revision_id, "version_id": v} for v in pinned],
            )
        return number

    def _version_ids(self, variants: Sequence[Variant]) -> list[int]:
        ids = []
        for v in variants:
            found = self.session.scalar(
                sa.select(ModelVersionRow.id)
                .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
                .where(
                    ModelRow.environment == v.environment,
                    ModelRow.name == v.model,
                    ModelVersionRow.version == v.version,
                )
            )
            if found is not None:
                ids.append(found)
        return ids

    def revision(self, deployment_id: int, number: int) -> Revision | None:
        found = self.session.execute(
            sa.select(DeploymentRow.name, RevisionRow)
            .join(RevisionRow, RevisionRow.deployment_id == DeploymentRow.id)
            .where(DeploymentRow.id == deployment_id, RevisionRow.number == number)
        ).one_or_none()
        return None if found is None else _revision(*found)

    def revisions(self, deployment_id: int) -> list[Revision]:
        """Every revision of a deployment, oldest first."""
        rows = self.session.execute(
            sa.select(DeploymentRow.name, RevisionRow)
            .join(RevisionRow, RevisionRow.deployment_id == DeploymentRow.id)
            .where(DeploymentRow.id == deployment_id)
            .order_by(RevisionRow.number)
        )
        return [_revision(name, r) for name, r in rows]

    def delete(self, deployment_id: int) -> None:
        """The deployment, its revisions, alert rules and alerts (they cascade)."""
        self.session.execute(_CHANGED)
        self.session.execute(sa.delete(_DEPLOYMENTS).where(_DEPLOYMENTS.c.id == deployment_id))

    def serving_version(self, environment: str, model: str, version: int) -> list[str]:
        """Names of the deployments whose current revision serves this version (live or
        shadow)."""
        return list(
            self.session.scalars(
                sa.select(DeploymentRow.name)
                .join(RevisionRow, RevisionRow.deployment_id == DeploymentRow.id)
                .join(RevisionVariantRow, RevisionVariantRow.revision_id == RevisionRow.id)
                .join(ModelVersionRow, ModelVersionRow.id == RevisionVariantRow.version_id)
                .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
                .where(
                    RevisionRow.number == DeploymentRow.current_revision,
                    ModelRow.environment == environment,
                    ModelRow.name == model,
                    ModelVersionRow.version == version,
                )
                .order_by(DeploymentRow.name)
                .distinct()
            )
        )

    def serving_changes(self) -> int:
        """How many times what serves has changed: equal counts, equal ``serving_states``."""
        return int(self.session.execute(sa.select(_CHANGES.c.changes)).scalar_one())

    def serving_states(self) -> list[ServingState]:
        return [
            ServingState(r[0], r[1], r[2], (r[3], r[4]), r[5], r[6])
            for r in self.session.execute(_STATE)
        ]
