"""The services over HTTP: the same contracts as the embedded ones (``services.contracts``),
each method a path and a wire shape. The server decides who the caller is from the token.

``HttpApi`` makes each service on first use, so a command that lists models loads no other
service's entities (``modelyard models list`` starts in a fraction of a second)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from modelyard.sdk.http.transport import Http

if TYPE_CHECKING:
    from modelyard.sdk.http.access import HttpAccess
    from modelyard.sdk.http.bundles import HttpBundles
    from modelyard.sdk.http.datasets import HttpDatasets
    from modelyard.sdk.http.deployments import HttpDeployments
    from modelyard.sdk.http.edge import HttpEdge
    from modelyard.sdk.http.experiments import HttpExperiments
    from modelyard.sdk.http.jobs import HttpJobs
    from modelyard.sdk.http.monitoring import HttpAlerts, HttpMonitoring
    from modelyard.sdk.http.operations import HttpOperations
    from modelyard.sdk.http.promotions import HttpEvaluations, HttpPromotions
    from modelyard.sdk.http.registry import HttpRegistry
    from modelyard.sdk.http.webhooks import HttpWebhooks


class HttpApi:
    """Every contract bound to one server and one token."""

    def __init__(self, url: str, token: str | None, default_environment: str) -> None:
        self.http = Http(url, token)
        self.default_environment = default_environment

    @cached_property
    def registry(self) -> HttpRegistry:
        from modelyard.sdk.http.registry import HttpRegistry

        return HttpRegistry(self.http, self.default_environment)

    @cached_property
    def datasets(self) -> HttpDatasets:
        from modelyard.sdk.http.datasets import HttpDatasets

        return HttpDatasets(self.http, self.default_environment)

    @cached_property
    def deployments(self) -> HttpDeployments:
        from modelyard.sdk.http.deployments import HttpDeployments

        return HttpDeployments(self.http)

    @cached_property
    def monitoring(self) -> HttpMonitoring:
        from modelyard.sdk.http.monitoring import HttpMonitoring

        return HttpMonitoring(self.http)

    @cached_property
    def alerts(self) -> HttpAlerts:
        from modelyard.sdk.http.monitoring import HttpAlerts

        return HttpAlerts(self.http)

    @cached_property
    def jobs(self) -> HttpJobs:
        from modelyard.sdk.http.jobs import HttpJobs

        return HttpJobs(self.http)

    @cached_property
    def evaluations(self) -> HttpEvaluations:
        from modelyard.sdk.http.promotions import HttpEvaluations

        return HttpEvaluations(self.http)

    @cached_property
    def promotions(self) -> HttpPromotions:
        from modelyard.sdk.http.promotions import HttpPromotions

        return HttpPromotions(self.http)

    @cached_property
    def bundles(self) -> HttpBundles:
        from modelyard.sdk.http.bundles import HttpBundles

        return HttpBundles(self.http)

    @cached_property
    def experiments(self) -> HttpExperiments:
        from modelyard.sdk.http.experiments import HttpExperiments

        return HttpExperiments(self.http)

    @cached_property
    def access(self) -> HttpAccess:
        from modelyard.sdk.http.access import HttpAccess

        return HttpAccess(self.http)

    @cached_property
    def webhooks(self) -> HttpWebhooks:
        from modelyard.sdk.http.webhooks import HttpWebhooks

        return HttpWebhooks(self.http)

    @cached_property
    def operations(self) -> HttpOperations:
        from modelyard.sdk.http.operations import HttpOperations

        return HttpOperations(self.http)

    @cached_property
    def edge(self) -> HttpEdge:
        from modelyard.sdk.http.edge import HttpEdge

        return HttpEdge(self.http)

    def close(self) -> None:
        self.http.close()


__all__ = ["HttpApi"]
