"""Monitoring values: time windows, the signals a report yields, alert rules and alerts.
Plain values, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import computed_field

from modelyard.domain.errors import InvalidInput
from modelyard.domain.jobs import JOB_FAILED

DEFAULT_WINDOW = timedelta(hours=24)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: What a report's summary holds and an alert rule may watch. ``feature_drift`` needs a
#: feature; the performance signals need feedback.
OPERATORS = (">", ">=", "<", "<=")


def parse_duration(text: str | int | float, what: str = "duration") -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d``, ``2w``, or a number of seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        found = _DURATION.match(str(text))
        if not found:
            raise InvalidInput(f"invalid {what} {text!r}: use e.g. 30s, 15m, 1h, 7d")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0:
        raise InvalidInput(f"invalid {what} {text!r}: it must be positive")
    return timedelta(seconds=seconds)


def parse_moment(text: str | datetime | None, now: datetime, what: str) -> datetime | None:
    """An ISO time (UTC when it has no zone), or a duration meaning that long before now."""
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        moment = text
    elif _DURATION.match(str(text)):
        return now - parse_duration(text, what)
    else:
        try:
            moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"invalid {what} {text!r}: use an ISO time (2026-12-01T08:00) or a duration "
                "before now (1h, 7d)"
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window(
    since: str | datetime | None, until: str | datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[since, until)``: until defaults to now, since to 24 hours before until."""
    end = parse_moment(until, now, "--until") or now
    start = parse_moment(since, now, "--since") or end - DEFAULT_WINDOW
    if start >= end:
        raise InvalidInput(
            f"the window is empty: --since {start.isoformat()} is not before --until "
            f"{end.isoformat()}"
        )
    return start, end


def breaches(value: float, op: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
    }[op]


@dataclass(frozen=True, slots=True)
class AlertRule:
    id: int
    deployment: str
    environment: str
    name: str
    signal: str
    feature: str | None
    op: str
    threshold: float
    window_seconds: int
    every_seconds: int
    next_run_at: datetime
    created_by: str
    created_at: datetime
    offset_seconds: int = 0  # the window ends this long before the evaluation
    segment: str | None = None  # COLUMN=VALUE: only those rows

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        if self.signal == JOB_FAILED:
            return f"a run of batch job {self.name.removeprefix('job:')} fails"
        what = f"{self.signal}({self.feature})" if self.feature else self.signal
        ago = f" ending {span(self.offset_seconds)} ago" if self.offset_seconds else ""
        where = f" where {self.segment}" if self.segment else ""
        return f"{what} {self.op} {self.threshold:g} over {span(self.window_seconds)}{ago}{where}"


def span(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What a feedback call stored: ``accepted`` items; by key, the outcomes whose key no
    live prediction had (at or before the outcome was observed) are counted, and the first
    of them named, not stored."""

    accepted: int
    unknown: int = 0
    unknown_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    rule_id: int
    rule: str
    deployment: str
    environment: str
    state: str  # firing | resolved
    value: float | None  # when it fired
    last_value: float | None
    message: str
    fired_at: datetime
    last_evaluated_at: datetime
    resolved_at: datetime | None
