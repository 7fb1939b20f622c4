"""Finding models and versions by reference inside a transaction, with the one wording of
"does not exist" every service answers with."""

from __future__ import annotations

from sqlalchemy.orm import Session

from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import NotFound
from modelyard.domain.names import ModelRef
from modelyard.store import registry as q
from modelyard.store.tables import ModelRow, ModelVersionRow


def check_environment(session: Session, env: str) -> None:
    if not q.environment_exists(session, env):
        known = ", ".join(e.name for e in q.list_environments(session))
        raise NotFound(f"unknown environment {env!r} (known: {known})", environment=env)


def model_row(session: Session, ref: ModelRef) -> ModelRow:
    check_environment(session, ref.environment)
    row = q.find_model(session, ref.environment, ref.name)
    if row is None:
        raise NotFound(
            f"model {ref.environment}/{ref.name} does not exist",
            model=f"{ref.environment}/{ref.name}",
        )
    return row


def version_row(session: Session, ref: ModelRef) -> tuple[ModelRow, ModelVersionRow]:
    """A version by number, alias or ``latest``."""
    model = model_row(session, ref)
    if ref.version is not None:
        row = q.version_row(session, model.id, ref.version)
        if row is None:
            raise NotFound(f"version {ref} does not exist", version=str(ref))
        return model, row
    if ref.alias is None or ref.alias == "latest":
        row = q.latest_version_row(session, model.id)
        if row is None:
            raise NotFound(f"model {ref.model} has no versions", model=str(ref.model))
        return model, row
    alias = q.alias_row(session, model.id, ref.alias)
    if alias is None:
        raise NotFound(f"alias {ref.alias!r} is not set on model {ref.model}", alias=ref.alias)
    row = session.get(ModelVersionRow, alias.version_id)
    assert row is not None
    return model, row


def resolve(session: Session, ref: ModelRef) -> ModelVersion:
    """A version by number, alias or ``latest``, inside the caller's transaction (other
    services resolve references once, when they write)."""
    _, row = version_row(session, ref)
    return q.version_entities(session, [row.id])[0]
