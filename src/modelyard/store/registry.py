"""The registry's tables: ``Registry`` reads and writes them inside one transaction and
answers with domain entities and ids, never rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modelyard.domain.entities import Environment, Lineage, Model, ModelVersion
from modelyard.domain.filters import Node, OrderKey
from modelyard.store import search
from modelyard.store.tables import (
    AliasRow,
    EnsembleMemberRow,
    EnvironmentRow,
    ModelRow,
    ModelTagRow,
    ModelVersionRow,
    VersionDatasetRow,
    VersionMetricRow,
    VersionParamRow,
    VersionTagRow,
    core,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class AliasTarget:
    version_id: int
    version: int
    previous_version: int | None


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


# -- environments -------------------------------------------------------------------------


_ENVIRONMENT = sa.select(core(EnvironmentRow).c.name).where(
    core(EnvironmentRow).c.name == sa.bindparam("b_name")
)


# -- models -------------------------------------------------------------------------------


_MODEL_ID = sa.select(core(ModelRow).c.id).where(
    core(ModelRow).c.environment == sa.bindparam("b_env"),
    core(ModelRow).c.name == sa.bindparam("b_name"),
)


_ALLOCATE = (
    sa.update(core(ModelRow))
    .where(core(ModelRow).c.id == sa.bindparam("b_id"))
    .values(last_version=core(ModelRow).c.last_version + 1, updated_at=sa.bindparam("b_now"))
    .returning(core(ModelRow).c.last_version)
)


def _upsert_pairs(
    session: Session, table: Any, owner: str, owner_id: int, pairs: dict[str, Any]
) -> None:
    """Insert or overwrite key/value rows (tags, metrics) belonging to one owner row."""
    for key, value in pairs.items():
        session.execute(
            _insert(session, table)
            .values({owner: owner_id, "key": key, "value": value})
            .on_conflict_do_update(index_elements=[owner, "key"], set_={"value": value})
        )


# -- versions -----------------------------------------------------------------------------


_INSERT_VERSION = sa.insert(core(ModelVersionRow)).returning(core(ModelVersionRow).c.id)
_INSERT_TAGS = sa.insert(core(VersionTagRow))
_INSERT_METRICS = sa.insert(core(VersionMetricRow))
_INSERT_PARAMS = sa.insert(core(VersionParamRow))
_INSERT_DATASETS = sa.insert(core(VersionDatasetRow))


def _pairs(session: Session, row_type: Any, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    table = core(row_type)
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for vid, key, value in session.execute(
        sa.select(table.c.version_id, table.c.key, table.c.value).where(table.c.version_id.in_(ids))
    ):
        out[vid][key] = value
    return out


def _lists(session: Session, column: Any, owner: Any, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for vid, value in session.execute(
        sa.select(owner, column).where(owner.in_(ids)).order_by(column)
    ):
        out[vid].append(value)
    return out


class Registry:
    """Environments, models, versions, aliases, tags and metrics, in one transaction."""

    def __init__(self, session: Session, environments: set[str]) -> None:
        self.session = session
        self._environments = environments  # names seen to exist (never deleted)

    def list_environments(self) -> list[Environment]:
        rows = self.session.scalars(sa.select(EnvironmentRow).order_by(EnvironmentRow.name))
        return [Environment(r.name, r.description, r.created_at) for r in rows]

    def environment_exists(self, name: str) -> bool:
        if name in self._environments:
            return True
        if self.session.scalar(_ENVIRONMENT, {"b_name": name}) is None:
            return False
        self._environments.add(name)
        return True

    def model_id(self, environment: str, name: str) -> int | None:
        return self.session.scalar(_MODEL_ID, {"b_env": environment, "b_name": name})

    def get_or_create_model(self, environment: str, name: str) -> tuple[int, bool]:
        """The model's id, inserting it if missing (race-free: ON CONFLICT DO NOTHING)."""
        found = self.session.scalar(_MODEL_ID, {"b_env": environment, "b_name": name})
        if found is not None:
            return int(found), False
        now = utcnow()
        inserted = self.session.scalar(
            _insert(self.session, core(ModelRow))
            .values(
                environment=environment,
                name=name,
                description="",
                last_version=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["environment", "name"])
            .returning(core(ModelRow).c.id)
        )
        if inserted is not None:
            return int(inserted), True
        found = self.model_id(environment, name)  # another writer created it meanwhile
        assert found is not None
        return found, False

    def allocate_version(self, model_id: int) -> int:
        """Hand out the next version number in the caller's transaction (gap-free)."""
        return int(
            self.session.execute(_ALLOCATE, {"b_id": model_id, "b_now": utcnow()}).scalar_one()
        )

    def models(self, ids: Sequence[int]) -> list[Model]:
        """Models by id, in that order, with their tags, aliases and latest version."""
        if not ids:
            return []
        by_id = {
            r.id: r for r in self.session.scalars(sa.select(ModelRow).where(ModelRow.id.in_(ids)))
        }
        rows = [by_id[i] for i in ids if i in by_id]
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for t in self.session.scalars(sa.select(ModelTagRow).where(ModelTagRow.model_id.in_(ids))):
            tags[t.model_id][t.key] = t.value
        aliases: dict[int, dict[str, int]] = defaultdict(dict)
        for model_id, alias, version in self.session.execute(
            sa.select(AliasRow.model_id, AliasRow.alias, ModelVersionRow.version)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id.in_(ids))
        ):
            aliases[model_id][alias] = version
        latest = dict(
            self.session.execute(
                sa.select(ModelVersionRow.model_id, sa.func.max(ModelVersionRow.version))
                .where(ModelVersionRow.model_id.in_(ids))
                .group_by(ModelVersionRow.model_id)
            ).all()
        )
        return [
            Model(
                environment=r.environment,
                name=r.name,
                description=r.description,
                tags=tags.get(r.id, {}),
                aliases=aliases.get(r.id, {}),
                latest_version=latest.get(r.id),
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in rows
        ]

    def list_models(self, environment: str | None) -> list[Model]:
        q = sa.select(ModelRow.id).order_by(ModelRow.environment, ModelRow.name)
        if environment:
            q = q.where(ModelRow.environment == environment)
        return self.models(list(self.session.scalars(q)))

    def set_model_description(self, model_id: int, description: str) -> None:
        self.session.execute(
            sa.update(ModelRow).where(ModelRow.id == model_id).values(description=description)
        )

    def set_model_tags(self, model_id: int, tags: dict[str, str]) -> None:
        _upsert_pairs(self.session, ModelTagRow, "model_id", model_id, tags)

    def delete_model_tag(self, model_id: int, key: str) -> bool:
        result = self.session.execute(
            sa.delete(ModelTagRow).where(ModelTagRow.model_id == model_id, ModelTagRow.key == key)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def insert_version(
        self,
        *,
        model_id: int,
        version: int,
        values: dict[str, Any],
        tags: dict[str, str],
        metrics: dict[str, float],
        params: dict[str, str],
        datasets: Iterable[tuple[str, str]],
    ) -> int:
        row = {"model_id": model_id, "version": version, **values}
        version_id = int(self.session.execute(_INSERT_VERSION, row).scalar_one())
        for statement, pairs in (
            (_INSERT_TAGS, tags),
            (_INSERT_METRICS, metrics),
            (_INSERT_PARAMS, params),
        ):
            if pairs:
                self.session.execute(
                    statement,
                    [{"version_id": version_id, "key": k, "value": v} for k, v in pairs.items()],
                )
        ds = [{"version_id": version_id, "dataset": d, "role": role} for d, role in datasets]
        if ds:
            self.session.execute(_INSERT_DATASETS, ds)
        return version_id

    def version_id(self, model_id: int, version: int) -> int | None:
        return self.session.scalar(
            sa.select(ModelVersionRow.id).where(
                ModelVersionRow.model_id == model_id, ModelVersionRow.version == version
            )
        )

    def alias(self, model_id: int, alias: str) -> AliasTarget | None:
        """Where an alias points (the version's id and number) and where it pointed before."""
        found = self.session.execute(
            sa.select(AliasRow.version_id, ModelVersionRow.version, AliasRow.previous_version)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id == model_id, AliasRow.alias == alias)
        ).one_or_none()
        return None if found is None else AliasTarget(*found)

    def latest_version_id(self, model_id: int) -> int | None:
        return self.session.scalar(
            sa.select(ModelVersionRow.id)
            .where(ModelVersionRow.model_id == model_id)
            .order_by(ModelVersionRow.version.desc())
            .limit(1)
        )

    def version_ids_of_model(self, model_id: int) -> list[int]:
        return list(
            self.session.scalars(
                sa.select(ModelVersionRow.id)
                .where(ModelVersionRow.model_id == model_id)
                .order_by(ModelVersionRow.version)
            )
        )

    def version_entities(self, ids: Sequence[int]) -> list[ModelVersion]:
        """Load versions with their tags, metrics, params, datasets and aliases, keeping order.
        Plain column selects (no ORM identity map): a search page of 100 stays cheap."""
        if not ids:
            return []
        versions, models = core(ModelVersionRow), core(ModelRow)
        rows = self.session.execute(
            sa.select(versions, models.c.environment, models.c.name.label("model_name"))
            .join(models, models.c.id == versions.c.model_id)
            .where(versions.c.id.in_(ids))
        ).all()
        tags = _pairs(self.session, VersionTagRow, ids)
        metrics = _pairs(self.session, VersionMetricRow, ids)
        params = _pairs(self.session, VersionParamRow, ids)
        datasets = _lists(
            self.session, VersionDatasetRow.dataset, VersionDatasetRow.version_id, ids
        )
        aliases = _lists(self.session, AliasRow.alias, AliasRow.version_id, ids)
        by_id = {
            row.id: ModelVersion(
                environment=row.environment,
                name=row.model_name,
                version=row.version,
                package_digest=row.package_digest,
                flavor=row.flavor,
                signature=row.signature,
                requirements=tuple(row.requirements or ()),
                size_bytes=row.size_bytes,
                status=row.status,
                description=row.description,
                tags=tags.get(row.id, {}),
                metrics=metrics.get(row.id, {}),
                params=params.get(row.id, {}),
                aliases=tuple(aliases.get(row.id, ())),
                lineage=Lineage(
                    datasets=tuple(datasets.get(row.id, ())),
                    source=row.source,
                    git_commit=row.git_commit,
                    promoted_from=row.promoted_from,
                    compiled_from=row.compiled_from,
                ),
                created_by=row.created_by,
                created_at=row.created_at,
                locked=bool(row.locked),
            )
            for row in rows
        }
        return [by_id[i] for i in ids if i in by_id]

    def set_version_tags(self, version_id: int, tags: dict[str, str]) -> None:
        _upsert_pairs(self.session, VersionTagRow, "version_id", version_id, tags)

    def delete_version_tag(self, version_id: int, key: str) -> bool:
        result = self.session.execute(
            sa.delete(VersionTagRow).where(
                VersionTagRow.version_id == version_id, VersionTagRow.key == key
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_version_metrics(self, version_id: int, metrics: dict[str, float]) -> None:
        _upsert_pairs(self.session, VersionMetricRow, "version_id", version_id, metrics)

    def set_status(self, version_id: int, status: str) -> None:
        self.session.execute(
            sa.update(ModelVersionRow).where(ModelVersionRow.id == version_id).values(status=status)
        )

    def aliases_of_version(self, version_id: int) -> list[str]:
        return list(
            self.session.scalars(
                sa.select(AliasRow.alias)
                .where(AliasRow.version_id == version_id)
                .order_by(AliasRow.alias)
            )
        )

    def upsert_alias(
        self, model_id: int, alias: str, version_id: int, previous: int | None, actor: str
    ) -> None:
        values = {
            "version_id": version_id,
            "previous_version": previous,
            "updated_at": utcnow(),
            "updated_by": actor,
        }
        self.session.execute(
            _insert(self.session, AliasRow)
            .values(model_id=model_id, alias=alias, **values)
            .on_conflict_do_update(index_elements=["model_id", "alias"], set_=values)
        )

    def delete_alias(self, model_id: int, alias: str) -> None:
        self.session.execute(
            sa.delete(AliasRow).where(AliasRow.model_id == model_id, AliasRow.alias == alias)
        )

    def add_members(self, ensemble_id: int, member_ids: Iterable[int]) -> None:
        rows = [{"ensemble_id": ensemble_id, "member_id": m} for m in dict.fromkeys(member_ids)]
        if rows:
            self.session.execute(sa.insert(EnsembleMemberRow), rows)

    def ensembles_using(self, environment: str, model: str, version: int) -> list[str]:
        """``env/name:version`` of each ensemble version that combines this version."""
        member = sa.orm.aliased(ModelVersionRow)
        member_model = sa.orm.aliased(ModelRow)
        found = self.session.execute(
            sa.select(ModelRow.environment, ModelRow.name, ModelVersionRow.version)
            .join(ModelVersionRow, ModelVersionRow.model_id == ModelRow.id)
            .join(EnsembleMemberRow, EnsembleMemberRow.ensemble_id == ModelVersionRow.id)
            .join(member, member.id == EnsembleMemberRow.member_id)
            .join(member_model, member_model.id == member.model_id)
            .where(
                member_model.environment == environment,
                member_model.name == model,
                member.version == version,
            )
            .order_by(ModelRow.environment, ModelRow.name, ModelVersionRow.version)
        ).all()
        return [f"{env}/{name}:{number}" for env, name, number in found]

    def delete_version(self, version_id: int) -> None:
        self.session.execute(sa.delete(ModelVersionRow).where(ModelVersionRow.id == version_id))

    def delete_model(self, model_id: int) -> None:
        self.session.execute(sa.delete(AliasRow).where(AliasRow.model_id == model_id))
        self.session.execute(sa.delete(ModelVersionRow).where(ModelVersionRow.model_id == model_id))
        self.session.execute(sa.delete(ModelRow).where(ModelRow.id == model_id))

    def all_version_digests(self) -> list[tuple[str, str, int, str]]:
        return [
            (env, name, ver, digest)
            for env, name, ver, digest in self.session.execute(
                sa.select(
                    ModelRow.environment,
                    ModelRow.name,
                    ModelVersionRow.version,
                    ModelVersionRow.package_digest,
                )
                .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
                .order_by(ModelRow.environment, ModelRow.name, ModelVersionRow.version)
            ).all()
        ]

    def search_version_ids(
        self,
        *,
        node: Node | None,
        order: list[OrderKey],
        environments: list[str] | None,
        offset: int,
        limit: int,
    ) -> tuple[list[int], bool]:
        """One page of the ids of versions matching a parsed filter (``store.search``)."""
        return search.search_version_ids(
            self.session,
            node=node,
            order=order,
            environments=environments,
            offset=offset,
            limit=limit,
        )

    def lineage_roles(self, version_id: int) -> dict[str, str]:
        """The datasets a version names in its lineage, each with its role."""
        return dict(
            self.session.execute(
                sa.select(VersionDatasetRow.dataset, VersionDatasetRow.role).where(
                    VersionDatasetRow.version_id == version_id
                )
            ).all()
        )
