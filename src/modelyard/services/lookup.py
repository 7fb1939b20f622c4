"""Finding models and versions by reference inside a transaction, with the one wording of
"does not exist" every service answers with."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import NotFound
from modelyard.domain.names import ModelRef
from modelyard.store.unit import Tx


@dataclass(frozen=True, slots=True)
class Found:
    """A version, and the ids other rows key on."""

    model_id: int
    version_id: int
    version: ModelVersion


def check_environment(tx: Tx, env: str) -> None:
    if not tx.registry.environment_exists(env):
        known = ", ".join(e.name for e in tx.registry.list_environments())
        raise NotFound(f"unknown environment {env!r} (known: {known})", environment=env)


def model_id(tx: Tx, ref: ModelRef) -> int:
    check_environment(tx, ref.environment)
    found = tx.registry.model_id(ref.environment, ref.name)
    if found is None:
        raise NotFound(
            f"model {ref.environment}/{ref.name} does not exist",
            model=f"{ref.environment}/{ref.name}",
        )
    return found


def version(tx: Tx, ref: ModelRef) -> Found:
    """A version by number, alias or ``latest``."""
    model = model_id(tx, ref)
    if ref.version is not None:
        found = tx.registry.version_id(model, ref.version)
        if found is None:
            raise NotFound(f"version {ref} does not exist", version=str(ref))
    elif ref.alias is None or ref.alias == "latest":
        found = tx.registry.latest_version_id(model)
        if found is None:
            raise NotFound(f"model {ref.model} has no versions", model=str(ref.model))
    else:
        alias = tx.registry.alias(model, ref.alias)
        if alias is None:
            raise NotFound(f"alias {ref.alias!r} is not set on model {ref.model}", alias=ref.alias)
        found = alias.version_id
    return Found(model, found, tx.registry.version_entities([found])[0])


def resolve(tx: Tx, ref: ModelRef) -> ModelVersion:
    """A version by number, alias or ``latest``, inside the caller's transaction (other
    services resolve references once, when they write)."""
    return version(tx, ref).version
