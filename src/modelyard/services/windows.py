"""Which rows a report reads: a segment's collected column, and the window a report is
compared against (``against``). Rules of ``MonitoringService`` and the money view."""

from __future__ import annotations

from datetime import datetime

from modelyard.domain.errors import InvalidInput
from modelyard.domain.monitoring import window
from modelyard.monitoring import report as r
from modelyard.monitoring.collector import collected_column


def segment_column(by: str, keys: tuple[str, ...], data: r.Window) -> str:
    """The collected column of the input or key ``by``; refused when the window's rows
    have no such column."""
    column = collected_column(by, keys)
    if data.files and column not in data.columns:
        raise InvalidInput(
            f"unknown segment column {by!r}: segment by an input or key column "
            f"({', '.join(sorted(c.split('.', 1)[1] for c in data.columns if '.' in c))})"
        )
    return column


def reference_window(
    against: str | None, start: datetime, end: datetime, now: datetime
) -> tuple[datetime, datetime] | None:
    """``against``: ``baseline`` (None: each version's baseline), ``previous`` (the window
    just before, of the same length) or ``SINCE..UNTIL``."""
    if against in (None, "", "baseline"):
        return None
    if against == "previous":
        return start - (end - start), start
    assert against is not None
    since, sep, until = against.partition("..")
    if not sep:
        raise InvalidInput(f"invalid --against {against!r}: use baseline, previous or SINCE..UNTIL")
    return window(since, until, now)
