"""Alert rules and alerts: a rule watches one signal of a deployment's monitoring summary;
the server's scheduler evaluates due rules; a breach opens an alert (once: it stays one
alert while it keeps firing) and a clear resolves it. Both are audited, so they reach
webhook subscribers (``alert.fired``, ``alert.resolved``) through the outbox.

Several server workers may run the scheduler: a rule is claimed by moving its
``next_run_at`` with a guarded UPDATE, so exactly one worker evaluates each due run.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.domain.jobs import JOB_FAILED
from modelyard.domain.monitoring import (
    OPERATORS,
    Alert,
    AlertRule,
    breaches,
    parse_duration,
)
from modelyard.domain.names import check_name
from modelyard.domain.reports import AlertOutcome
from modelyard.domain.signals import SIGNALS
from modelyard.services.auth import require
from modelyard.services.deployments import DeploymentService, deployment_id
from modelyard.services.monitoring import MonitoringService
from modelyard.store.alerts import DueRun
from modelyard.store.unit import Store, Tx
from modelyard.wire.codec import Codec

log = logging.getLogger("modelyard.alerts")
SCHEDULER = Principal(name="scheduler", is_admin=True)
MIN_EVERY = timedelta(seconds=10)


class AlertService:
    def __init__(
        self,
        store: Store,
        deployments: DeploymentService,
        monitoring: MonitoringService,
        principal: Principal,
    ) -> None:
        self.principal = principal
        self.store = store
        self.deployments = deployments
        self.monitoring = monitoring

    # -- rules ----------------------------------------------------------------------------
    def create_alert_rule(
        self,
        deployment: str,
        name: str,
        signal: str,
        threshold: float,
        *,
        op: str = ">",
        feature: str | None = None,
        window: str | int = "1h",
        every: str | int = "5m",
        offset: str | int | None = None,
        segment: str | None = None,
    ) -> AlertRule:
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.DEPLOY, found.environment)
        check_name(name, "alert rule name")
        if signal not in SIGNALS:
            raise InvalidInput(f"unknown signal {signal!r}: {', '.join(SIGNALS)}")
        if (signal == "feature_drift") != bool(feature):
            raise InvalidInput(
                "feature_drift needs --feature NAME"
                if signal == "feature_drift"
                else f"signal {signal!r} takes no feature"
            )
        if op not in OPERATORS:
            raise InvalidInput(f"unknown operator {op!r}: {', '.join(OPERATORS)}")
        try:
            limit = float(threshold)
        except (TypeError, ValueError):
            raise InvalidInput(f"threshold must be a number, got {threshold!r}") from None
        if not math.isfinite(limit):
            raise InvalidInput(f"threshold must be finite, got {threshold!r}")
        span = parse_duration(window, "window")
        back = parse_duration(offset, "offset") if offset else timedelta(0)
        self.monitoring.check_reach(span + back)
        part = None
        if segment is not None:
            column, sep, value = segment.partition("=")
            if not sep or not column.strip() or not value:
                raise InvalidInput(f"invalid segment {segment!r}: use COLUMN=VALUE")
            part = (column.strip(), value)
        period = parse_duration(every, "schedule")
        if period < MIN_EVERY:
            raise InvalidInput(f"a rule runs at most every {MIN_EVERY.seconds} seconds")
        with self.store.write() as tx:
            dep = deployment_id(tx, deployment)
            if tx.alerts.find_rule(dep, name) is not None:
                raise AlreadyExists(f"deployment {deployment!r} already has a rule {name!r}")
            rule = tx.alerts.add_rule(
                deployment_id=dep,
                name=name,
                signal=signal,
                feature=feature,
                op=op,
                threshold=limit,
                window_seconds=int(span.total_seconds()),
                offset_seconds=int(back.total_seconds()),
                segment=part,
                every_seconds=int(period.total_seconds()),
                actor=self.principal.name,
            )
            tx.audit.append(
                actor=self.principal.name,
                action="alert.rule_created",
                subject=alert_subject(rule),
                after=Codec().encode(rule),
            )
        return rule

    def list_alert_rules(self, *, deployment: str | None = None) -> list[AlertRule]:
        with self.store.read() as tx:
            dep = None if deployment is None else deployment_id(tx, deployment)
            found = tx.alerts.rules(dep)
        return [r for r in found if self.principal.can(Permission.READ, r.environment)]

    def delete_alert_rule(self, deployment: str, name: str) -> AlertRule:
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.DEPLOY, found.environment)
        with self.store.write() as tx:
            rule = tx.alerts.find_rule(deployment_id(tx, deployment), name)
            if rule is None:
                raise NotFound(f"deployment {deployment!r} has no alert rule {name!r}")
            tx.alerts.delete_rule(rule.id)
            tx.audit.append(
                actor=self.principal.name,
                action="alert.rule_deleted",
                subject=alert_subject(rule),
                before=Codec().encode(rule),
            )
        return rule

    # -- alerts ---------------------------------------------------------------------------
    def list_alerts(
        self,
        *,
        deployment: str | None = None,
        state: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        if state not in (None, "firing", "resolved"):
            raise InvalidInput(f"unknown state {state!r}: firing or resolved")
        with self.store.read() as tx:
            found = tx.alerts.alerts(
                deployment_id=None if deployment is None else deployment_id(tx, deployment),
                state=state,
                limit=max(1, min(limit, 10_000)),
            )
        return [a for a in found if self.principal.can(Permission.READ, a.environment)]

    # -- evaluation -----------------------------------------------------------------------
    def evaluate_due(self, now: datetime | None = None) -> list[AlertOutcome]:
        """Evaluate every rule whose time has come (the scheduler's tick)."""
        now = now or datetime.now(UTC)
        with self.store.read() as tx:
            due = tx.alerts.due(now)
        outcomes = []
        for run in due:
            if not self._claim(run, now):
                continue  # another worker took this run
            try:
                outcomes.append(self._evaluate(run.rule_id, now))
            except Exception:  # one broken rule must not stop the others
                log.warning("alert rule %s could not be evaluated", run.rule_id, exc_info=True)
        return outcomes

    def evaluate_alerts(
        self, deployment: str, *, now: datetime | None = None
    ) -> list[AlertOutcome]:
        """Evaluate every rule of a deployment now (``modelyard alerts evaluate``)."""
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.DEPLOY, found.environment)
        now = now or datetime.now(UTC)
        return [
            self._evaluate(rule.id, now)
            for rule in self.list_alert_rules(deployment=deployment)
            if rule.signal != JOB_FAILED  # a job's runs fire and resolve its alerts
        ]

    def _claim(self, run: DueRun, now: datetime) -> bool:
        with self.store.write() as tx:
            return tx.alerts.claim(run, now)

    def _evaluate(self, rule_id: int, now: datetime) -> AlertOutcome:
        with self.store.read() as tx:
            rule = tx.alerts.rule(rule_id)
        if rule is None:
            raise NotFound(f"alert rule {rule_id} does not exist")
        until = now - timedelta(seconds=rule.offset_seconds)
        column, _, part = (rule.segment or "").partition("=")
        report = self.monitoring.monitor(
            rule.deployment,
            since=until - timedelta(seconds=rule.window_seconds),
            until=until,
            now=now,
            by=column or None,
        )
        summary: dict[str, Any] = cast(dict[str, Any], report["summary"])
        if rule.segment is not None:  # that segment's numbers; no rows in it: no data
            found = [s for s in report["segments"] if s["value"] == part]
            summary = cast(dict[str, Any], found[0]["summary"]) if found else {"feature_drift": {}}
        value: float | None = (
            summary["feature_drift"].get(rule.feature or "")
            if rule.signal == "feature_drift"
            else summary.get(rule.signal)
        )
        firing = value is not None and breaches(float(value), rule.op, rule.threshold)
        outcome: AlertOutcome = {
            "rule": rule.name,
            "deployment": rule.deployment,
            "value": value,
            "firing": firing,
            "report_id": report.get("id"),
            "change": None,
        }
        if value is None:  # no data for this signal in the window: nothing changes
            return outcome
        message = f"{rule.deployment}: {rule.description} (value {float(value):.4g})"
        with self.store.write() as tx:
            outcome["change"] = change_alert(
                tx, rule, firing, float(value), message, now, report_id=report.get("id")
            )
        return outcome


def change_alert(
    tx: Tx,
    rule: AlertRule,
    firing: bool,
    value: float,
    message: str,
    now: datetime,
    **context: object,
) -> Literal["fired", "resolved"] | None:
    """What a rule's new value does: open an alert when it fires and none is open (once:
    it stays one alert while it keeps firing), resolve the open one when it clears; both
    audited (``context`` joins the event), so webhook subscribers hear of them."""
    open_alert = tx.alerts.open_alert(rule.id)
    if firing and open_alert is None:
        alert_id = tx.alerts.fire(rule.id, value, message, now)
        tx.audit.append(
            actor=SCHEDULER.name,
            action="alert.fired",
            subject=alert_subject(rule),
            after={
                "alert_id": alert_id,
                "rule": Codec().encode(rule),
                "value": value,
                "message": message,
                **context,
            },
        )
        return "fired"
    if open_alert is None:
        return None
    tx.alerts.observe(open_alert.id, value, now)
    if firing:
        return None
    tx.alerts.resolve(open_alert.id, now)
    tx.audit.append(
        actor=SCHEDULER.name,
        action="alert.resolved",
        subject=alert_subject(rule),
        after={
            "alert_id": open_alert.id,
            "rule": Codec().encode(rule),
            "value": value,
            "fired_at": open_alert.fired_at.isoformat(),
            **context,
        },
    )
    return "resolved"


def alert_subject(rule: AlertRule) -> str:
    return f"alert:{rule.environment}/{rule.deployment}/{rule.name}"


def evaluate_and_log(alerts: AlertService) -> None:
    """The alert scheduler's tick: evaluate what is due, log what changed."""
    for outcome in alerts.evaluate_due():
        if outcome["change"]:
            log.info("alert %s: %s", outcome["change"], outcome)
