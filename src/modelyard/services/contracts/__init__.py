"""The contract of every service: one ``typing.Protocol`` each, with no caller argument.

The caller is bound once: the embedded implementation is the services bound to a
principal (``Services.bind``), the HTTP implementation is bound to a token
(``modelyard.sdk.http``). Both satisfy these Protocols (mypy checks it), the SDK's
``Client`` forwards to them, and the contract suite runs every method both ways.

    Client ──► Api ─┬─► services.Scope   (embedded: rules + store, in this process)
                    └─► sdk.http.HttpApi (HTTP: path + wire shape per method)
                                 │
                                 ▼
                           api/ routes ──► services.Scope (in the server)
"""

from __future__ import annotations

from typing import Protocol

from modelyard.services.contracts.access import Access
from modelyard.services.contracts.bundles import Bundles
from modelyard.services.contracts.datasets import Datasets
from modelyard.services.contracts.deployments import Deployments
from modelyard.services.contracts.edge import Edge
from modelyard.services.contracts.experiments import Experiments
from modelyard.services.contracts.jobs import Jobs
from modelyard.services.contracts.monitoring import Alerts, Monitoring
from modelyard.services.contracts.operations import Operations
from modelyard.services.contracts.promotions import Evaluations, Promotions
from modelyard.services.contracts.registry import Registry
from modelyard.services.contracts.webhooks import Webhooks


class Api(Protocol):
    """Every service, as one caller sees them."""

    @property
    def registry(self) -> Registry: ...
    @property
    def datasets(self) -> Datasets: ...
    @property
    def deployments(self) -> Deployments: ...
    @property
    def monitoring(self) -> Monitoring: ...
    @property
    def alerts(self) -> Alerts: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def evaluations(self) -> Evaluations: ...
    @property
    def promotions(self) -> Promotions: ...
    @property
    def bundles(self) -> Bundles: ...
    @property
    def experiments(self) -> Experiments: ...
    @property
    def access(self) -> Access: ...
    @property
    def webhooks(self) -> Webhooks: ...
    @property
    def operations(self) -> Operations: ...
    @property
    def edge(self) -> Edge: ...

    def close(self) -> None: ...


#: Which attribute of ``Api`` implements which contract.
CONTRACTS: dict[str, type] = {
    "registry": Registry,
    "datasets": Datasets,
    "deployments": Deployments,
    "monitoring": Monitoring,
    "alerts": Alerts,
    "jobs": Jobs,
    "evaluations": Evaluations,
    "promotions": Promotions,
    "bundles": Bundles,
    "experiments": Experiments,
    "access": Access,
    "webhooks": Webhooks,
    "operations": Operations,
    "edge": Edge,
}


def operations_of(contract: type) -> list[str]:
    """The method names a contract declares, in declaration order."""
    return [
        name
        for name, value in vars(contract).items()
        if callable(value) and not name.startswith("_")
    ]


__all__ = [
    "CONTRACTS",
    "Access",
    "Alerts",
    "Api",
    "Bundles",
    "Datasets",
    "Deployments",
    "Edge",
    "Evaluations",
    "Experiments",
    "Jobs",
    "Monitoring",
    "Operations",
    "Promotions",
    "Registry",
    "Webhooks",
    "operations_of",
]
