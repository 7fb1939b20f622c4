"""The unit of work services share: one transaction, and every aggregate's repository over
it. Services never see a session or a row; they ask ``Tx`` for entities and ids.

    with store.write() as tx:
        model_id, created = tx.registry.get_or_create_model(environment, name)
        tx.audit.append(actor=..., action="model.created", subject=...)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cached_property

from sqlalchemy.orm import Session

from modelyard.store.alerts import Alerts
from modelyard.store.audit import AuditLog
from modelyard.store.auth import Access
from modelyard.store.bundles import Bundles
from modelyard.store.database import Database
from modelyard.store.datasets import Datasets
from modelyard.store.deployments import Deployments
from modelyard.store.evaluations import Evaluations
from modelyard.store.experiments import Experiments
from modelyard.store.jobs import Jobs
from modelyard.store.monitoring import Reports
from modelyard.store.packages import Packages
from modelyard.store.promotions import Promotions
from modelyard.store.registry import Registry
from modelyard.store.webhooks import Webhooks
from modelyard.store.workers import ServingWorkers


class Tx:
    """One transaction's repositories (made on first use)."""

    def __init__(self, session: Session, environments: set[str]) -> None:
        self._session = session
        self._environments = environments  # the store's: names seen to exist

    @cached_property
    def registry(self) -> Registry:
        return Registry(self._session, self._environments)

    @cached_property
    def packages(self) -> Packages:
        return Packages(self._session)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self._session)

    @cached_property
    def datasets(self) -> Datasets:
        return Datasets(self._session)

    @cached_property
    def access(self) -> Access:
        return Access(self._session)

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks(self._session)

    @cached_property
    def deployments(self) -> Deployments:
        return Deployments(self._session)

    @cached_property
    def reports(self) -> Reports:
        return Reports(self._session)

    @cached_property
    def alerts(self) -> Alerts:
        return Alerts(self._session)

    @cached_property
    def jobs(self) -> Jobs:
        return Jobs(self._session)

    @cached_property
    def evaluations(self) -> Evaluations:
        return Evaluations(self._session)

    @cached_property
    def promotions(self) -> Promotions:
        return Promotions(self._session)

    @cached_property
    def bundles(self) -> Bundles:
        return Bundles(self._session)

    @cached_property
    def experiments(self) -> Experiments:
        return Experiments(self._session)

    @cached_property
    def workers(self) -> ServingWorkers:
        return ServingWorkers(self._session)


class Store:
    """Transactions on the metadata store: ``read()`` and ``write()`` commit or roll back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Environment names seen to exist. No environment is ever deleted (models refer to
        # theirs with ON DELETE RESTRICT and nothing removes one), so a name found once
        # stays true for the life of the process: later checks skip the query.
        self.environments: set[str] = set()

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        with self.db.read() as session:
            yield Tx(session, self.environments)

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        with self.db.write() as session:
            yield Tx(session, self.environments)
