"""Queries for deployments and their revisions. Rows stay here; services get entities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.deployments import (
    Deployment,
    Revision,
    ScoringKey,
    ServingOptions,
    Variant,
)
from modelyard.store.tables import (
    DeploymentRow,
    ModelRow,
    ModelVersionRow,
    RevisionRow,
    RevisionVariantRow,
    utcnow,
)


def find(session: Session, name: str, *, lock: bool = False) -> DeploymentRow | None:
    stmt = sa.select(DeploymentRow).where(DeploymentRow.name == name)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def list_rows(session: Session, environment: str | None = None) -> list[DeploymentRow]:
    stmt = sa.select(DeploymentRow).order_by(DeploymentRow.name)
    if environment:
        stmt = stmt.where(DeploymentRow.environment == environment)
    return list(session.scalars(stmt))


def insert(
    session: Session,
    *,
    name: str,
    environment: str,
    description: str,
    keys: dict[str, tuple[str, str]],
    actor: str,
) -> DeploymentRow:
    now = utcnow()
    row = DeploymentRow(
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
    session.add(row)
    session.flush()
    return row


def set_key(session: Session, row: DeploymentRow, slot: str, secret_hash: str, prefix: str) -> None:
    setattr(row, f"{slot}_key_hash", secret_hash)
    setattr(row, f"{slot}_key_prefix", prefix)
    setattr(row, f"{slot}_key_created_at", utcnow())
    row.updated_at = utcnow()
    session.flush()


def version_ids(session: Session, variants: Sequence[Variant]) -> list[int]:
    ids = []
    for v in variants:
        found = session.scalar(
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


def add_revision(
    session: Session,
    row: DeploymentRow,
    *,
    variants: Sequence[Variant],
    options: ServingOptions,
    action: str,
    rolled_back_to: int | None,
    actor: str,
) -> RevisionRow:
    """Append a revision and make it current (the caller holds the deployment's row)."""
    row.last_revision += 1
    row.current_revision = row.last_revision
    row.updated_at = utcnow()
    revision = RevisionRow(
        deployment_id=row.id,
        number=row.last_revision,
        variants=[v.to_dict() for v in variants],
        options=options.to_dict(),
        action=action,
        rolled_back_to=rolled_back_to,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(revision)
    session.flush()
    for version_id in sorted(set(version_ids(session, variants))):
        session.add(RevisionVariantRow(revision_id=revision.id, version_id=version_id))
    session.flush()
    return revision


def revision_row(session: Session, deployment_id: int, number: int) -> RevisionRow | None:
    return session.scalars(
        sa.select(RevisionRow).where(
            RevisionRow.deployment_id == deployment_id, RevisionRow.number == number
        )
    ).one_or_none()


def revision_rows(session: Session, deployment_id: int) -> list[RevisionRow]:
    return list(
        session.scalars(
            sa.select(RevisionRow)
            .where(RevisionRow.deployment_id == deployment_id)
            .order_by(RevisionRow.number)
        )
    )


def delete(session: Session, row: DeploymentRow) -> None:
    session.delete(row)
    session.flush()


def serving_version(session: Session, environment: str, model: str, version: int) -> list[str]:
    """Deployments whose current revision serves this version (live or shadow)."""
    return list(
        session.scalars(
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


def revision_entity(name: str, row: RevisionRow) -> Revision:
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


def entity(session: Session, row: DeploymentRow) -> Deployment:
    current = revision_row(session, row.id, row.current_revision)
    assert current is not None  # a deployment is created with its first revision
    return Deployment(
        name=row.name,
        environment=row.environment,
        description=row.description,
        revision=revision_entity(row.name, current),
        keys=(
            ScoringKey("primary", row.primary_key_prefix, row.primary_key_created_at),
            ScoringKey("secondary", row.secondary_key_prefix, row.secondary_key_created_at),
        ),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True, slots=True)
class ServingState:
    """What a scoring worker needs to know of a deployment, polled every half second."""

    name: str
    environment: str
    revision: int
    key_hashes: tuple[str, str]
    variants: list[dict[str, Any]]
    options: dict[str, Any]


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
    .join(
        RevisionRow,
        sa.and_(
            RevisionRow.deployment_id == DeploymentRow.id,
            RevisionRow.number == DeploymentRow.current_revision,
        ),
    )
    .order_by(DeploymentRow.name)
)


def serving_states(session: Session) -> list[ServingState]:
    return [
        ServingState(r[0], r[1], r[2], (r[3], r[4]), r[5], r[6]) for r in session.execute(_STATE)
    ]
