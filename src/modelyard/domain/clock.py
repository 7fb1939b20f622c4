"""The one clock: timezone-aware UTC time, for rules and rows alike."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
