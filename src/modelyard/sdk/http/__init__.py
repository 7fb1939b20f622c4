"""The services over HTTP: the same contracts as the embedded ones (``services.contracts``),
each method a path and a wire shape. The server decides who the caller is from the token."""

from __future__ import annotations

from modelyard.sdk.http.access import HttpAccess
from modelyard.sdk.http.bundles import HttpBundles
from modelyard.sdk.http.datasets import HttpDatasets
from modelyard.sdk.http.deployments import HttpDeployments
from modelyard.sdk.http.experiments import HttpExperiments
from modelyard.sdk.http.monitoring import HttpAlerts, HttpMonitoring
from modelyard.sdk.http.operations import HttpOperations
from modelyard.sdk.http.promotions import HttpEvaluations, HttpPromotions
from modelyard.sdk.http.registry import HttpRegistry
from modelyard.sdk.http.transport import Http
from modelyard.sdk.http.webhooks import HttpWebhooks


class HttpApi:
    """Every contract bound to one server and one token."""

    def __init__(self, url: str, token: str | None, default_environment: str) -> None:
        self.http = http = Http(url, token)
        self.registry = HttpRegistry(http, default_environment)
        self.datasets = HttpDatasets(http, default_environment)
        self.deployments = HttpDeployments(http)
        self.monitoring = HttpMonitoring(http)
        self.alerts = HttpAlerts(http)
        self.evaluations = HttpEvaluations(http)
        self.promotions = HttpPromotions(http)
        self.bundles = HttpBundles(http)
        self.experiments = HttpExperiments(http)
        self.access = HttpAccess(http)
        self.webhooks = HttpWebhooks(http)
        self.operations = HttpOperations(http)

    def close(self) -> None:
        self.http.close()


__all__ = ["HttpApi"]
