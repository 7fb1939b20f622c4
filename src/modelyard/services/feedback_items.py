"""One feedback item, checked: by request id and row, or an outcome by key. Each check
raises ``InvalidInput`` naming the item; ``MonitoringService`` checks a whole call before
it writes anything."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from modelyard.domain.errors import InvalidInput
from modelyard.domain.monitoring import parse_moment

MAX_REQUEST_ID = 200


def request_id(item: Any, i: int) -> str:
    if not isinstance(item, dict):
        raise InvalidInput(f"feedback item {i} must be an object with request_id and actual")
    value = item.get("request_id")
    if not isinstance(value, str) or not value or len(value) > MAX_REQUEST_ID:
        raise InvalidInput(
            f"feedback item {i}: request_id must be a non-empty string of at most "
            f"{MAX_REQUEST_ID} characters"
        )
    unknown = set(item) - {"request_id", "actual", "row"}
    if unknown:
        raise InvalidInput(f"feedback item {i}: unexpected field {sorted(unknown)[0]!r}")
    return value


def key_value(item: Any, i: int, key: str) -> str:
    if not isinstance(item, dict):
        raise InvalidInput(f"outcome {i} must be an object with {key} and actual")
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise InvalidInput(f"outcome {i}: {key} must be a non-empty string or an integer")
    unknown = set(item) - {key, "actual", "observed_at"}
    if unknown:
        raise InvalidInput(f"outcome {i}: unexpected field {sorted(unknown)[0]!r}")
    return str(value)


def observed(item: dict[str, Any], i: int, now: datetime) -> datetime:
    given = item.get("observed_at")
    if given is None:
        return now
    if not isinstance(given, str):
        raise InvalidInput(f"outcome {i}: observed_at must be an ISO time")
    moment = parse_moment(given, now, f"observed_at of outcome {i}")
    assert moment is not None
    if moment > now:
        raise InvalidInput(f"outcome {i}: observed_at {given} is in the future")
    return moment


def row(item: dict[str, Any], i: int) -> int:
    value = item.get("row", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"feedback item {i}: row must be a non-negative integer")
    return value


def actual(item: dict[str, Any], i: int) -> str:
    value = item.get("actual")
    if value is None or isinstance(value, dict | list):
        raise InvalidInput(f"feedback item {i}: actual must be a label or a number")
    if isinstance(value, float) and math.isnan(value):
        raise InvalidInput(f"feedback item {i}: actual must not be NaN")
    return str(value)
