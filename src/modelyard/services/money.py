"""The money view's rules (``MonitoringService.money`` and the report's ``money`` section):
which deployment has one, which rows and classes it sums, and over what window.

A deployment has a money view when its revision names an ``amount_column`` (an input or
key column). Its classes are those of the variant that served most rows in the window;
the rows of every live variant with the same classes count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from modelyard.domain.deployments import Role
from modelyard.domain.errors import InvalidInput, NotFound
from modelyard.domain.monitoring import parse_duration, window
from modelyard.domain.reports import MoneyView
from modelyard.monitoring import report as r
from modelyard.monitoring.maturity import Maturity
from modelyard.monitoring.money import MAX_GROUPS, Money
from modelyard.services import windows

if TYPE_CHECKING:
    from modelyard.domain.deployments import Deployment
    from modelyard.services.monitoring import MonitoringService


def view(
    service: MonitoringService,
    deployment: str,
    *,
    since: str | datetime | None,
    until: str | datetime | None,
    offset: str | None,
    by: str | None,
    limit: int,
    now: datetime | None = None,
) -> MoneyView:
    found = service.deployments.get_deployment(deployment)
    if not found.revision.options.amount_column:
        raise InvalidInput(
            f"deployment {deployment!r} has no amount column: update it with "
            "--option amount_column=COLUMN (an input or key column)"
        )
    if not 1 <= limit <= MAX_GROUPS:
        raise InvalidInput(f"limit must be 1..{MAX_GROUPS}")
    real_now = now or datetime.now(UTC)
    end = real_now - (parse_duration(offset, "--offset") if offset else timedelta(0))
    start, stop = window(since, until, end)
    service.check_reach(real_now - start)
    data = r.Window(service.collected, deployment, start, stop)
    try:
        found_view = section(service, found, data, by, limit, real_now)
    finally:
        data.close()
    if found_view is None:
        raise InvalidInput(
            f"deployment {deployment!r} serves no classifier with class probabilities: "
            "the money view sums amount x probability per class"
        )
    return found_view


def section(
    service: MonitoringService,
    found: Deployment,
    data: r.Window,
    by: str | None,
    limit: int,
    now: datetime,
) -> MoneyView | None:
    """The money view of a window (``by``: per value of that input or key column); None
    when the deployment serves no classifier."""
    options = found.revision.options
    served = data.variants()
    live = [v.name for v in found.revision.variants if v.role is Role.LIVE]
    # the window's variants come most rows first; without rows, the revision's first
    main = next(iter(served), None) or next(iter(live), None)
    classes = classes_of(service, found.environment, main)
    if not classes:
        return None
    same = [v for v in served if v == main or classes_of(service, found.environment, v) == classes]
    dated = options.maturity_column
    due = Maturity(options.maturity_days, dated, is_key=dated in options.keys)
    money = Money(data, options.amount_column, options.keys, same, classes, due)
    groups = []
    if by is not None:
        windows.segment_column(by, options.keys, data)  # an unknown column is refused
        groups = money.groups(by, limit)
    rows, amount, expected, predicted, waiting = money.totals(now)
    return {
        "deployment": found.name,
        "since": data.since.isoformat(),
        "until": data.until.isoformat(),
        "amount_column": options.amount_column,
        "variant": main,
        "classes": classes,
        "rows": rows,
        "amount": amount,
        "expected": expected,
        "predicted": predicted,
        "by": by,
        "groups": groups,
        "pending": waiting,
        "matured": money.matured(service.feedback, now),
    }


def classes_of(service: MonitoringService, environment: str, variant: str | None) -> list[str]:
    if variant is None:
        return []
    try:
        signature = service.registry.get_version(f"{environment}/{variant}").signature
    except NotFound:
        return []
    return [str(c) for c in ((signature or {}).get("outputs") or {}).get("classes") or []]
