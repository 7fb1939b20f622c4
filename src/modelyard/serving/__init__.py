"""Serving: the runtime that scores deployments, their protocols, batching and metrics."""

#: prometheus_client's own variable: set before a worker imports prometheus_client, the
#: series of every worker go to this folder (``cli.server.run`` sets it for ``--workers``
#: above 1). Kept here so that reading the name imports no metrics library.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
