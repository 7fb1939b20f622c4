"""The rules of ``MonitoringService.latest_predictions``: each key's newest prediction,
for spreadsheets and BI tools (``GET /api/v1/deployments/{name}/latest?format=csv``).

Only a deployment with key columns has one; the key is its first unless another of its
keys is named. It reads the live rows of the window (default: all that is kept,
``MODELYARD_RETENTION_DAYS``); classes are those of the variant that served most."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from modelyard.domain.errors import InvalidInput
from modelyard.domain.monitoring import window
from modelyard.domain.reports import LatestPredictions
from modelyard.monitoring import report as r
from modelyard.monitoring.latest import latest
from modelyard.services.money import classes_of

if TYPE_CHECKING:
    from modelyard.services.monitoring import MonitoringService

MAX_ROWS = 1_000_000


def view(
    service: MonitoringService,
    deployment: str,
    *,
    key: str | None,
    since: str | datetime | None,
    limit: int,
    now: datetime | None = None,
) -> LatestPredictions:
    found = service.deployments.get_deployment(deployment)
    keys = found.revision.options.keys
    if not keys:
        raise InvalidInput(
            f"deployment {deployment!r} has no key columns: update it with --key COLUMN"
        )
    chosen = key or keys[0]
    if chosen not in keys:
        raise InvalidInput(f"{chosen!r} is not a key of {deployment!r} ({', '.join(keys)})")
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit must be 1..{MAX_ROWS}")
    now = now or datetime.now(UTC)
    start, end = window(since or now - service.retention + timedelta(seconds=1), None, now)
    service.check_reach(now - start)
    data = r.Window(service.collected, deployment, start, end)
    try:
        main = next(iter(data.variants()), None)  # most rows first
        classes = classes_of(service, found.environment, main)
        rows = latest(data, chosen, keys, classes, limit)
    finally:
        data.close()
    columns = [*keys, "prediction", *(f"probability_{c}" for c in classes)]
    return {
        "deployment": found.name,
        "key": chosen,
        "since": start.isoformat(),
        "columns": [*columns, "model_version", "scored_at"],
        "rows": rows,
    }
