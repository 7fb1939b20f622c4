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
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.domain.monitoring import (
    OPERATORS,
    Alert,
    AlertRule,
    breaches,
    parse_duration,
)
from modelyard.domain.names import check_name
from modelyard.domain.signals import SIGNALS
from modelyard.services.auth import require
from modelyard.services.deployments import DeploymentService
from modelyard.services.monitoring import MonitoringService
from modelyard.store.audit import AuditLog
from modelyard.store.database import Database
from modelyard.store.tables import AlertRow, AlertRuleRow, DeploymentRow, core, utcnow

log = logging.getLogger("modelyard.alerts")
SCHEDULER = Principal(name="scheduler", is_admin=True)
MIN_EVERY = timedelta(seconds=10)


class AlertService:
    def __init__(
        self,
        db: Database,
        deployments: DeploymentService,
        monitoring: MonitoringService,
        principal: Principal,
    ) -> None:
        self.principal = principal
        self.db = db
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
        period = parse_duration(every, "schedule")
        if period < MIN_EVERY:
            raise InvalidInput(f"a rule runs at most every {MIN_EVERY.seconds} seconds")
        with self.db.write() as session:
            dep = self._deployment(session, deployment)
            exists = session.scalar(
                sa.select(AlertRuleRow.id).where(
                    AlertRuleRow.deployment_id == dep.id, AlertRuleRow.name == name
                )
            )
            if exists is not None:
                raise AlreadyExists(f"deployment {deployment!r} already has a rule {name!r}")
            row = AlertRuleRow(
                deployment_id=dep.id,
                name=name,
                signal=signal,
                feature=feature,
                op=op,
                threshold=limit,
                window_seconds=int(span.total_seconds()),
                every_seconds=int(period.total_seconds()),
                next_run_at=utcnow(),
                created_by=self.principal.name,
            )
            session.add(row)
            session.flush()
            rule = _rule(row, dep)
            AuditLog(session).append(
                actor=self.principal.name,
                action="alert.rule_created",
                subject=_subject(rule),
                after=rule.to_dict(),
            )
        return rule

    def list_alert_rules(self, *, deployment: str | None = None) -> list[AlertRule]:
        with self.db.read() as session:
            q = sa.select(AlertRuleRow, DeploymentRow).join(
                DeploymentRow, DeploymentRow.id == AlertRuleRow.deployment_id
            )
            if deployment is not None:
                self._deployment(session, deployment)
                q = q.where(DeploymentRow.name == deployment)
            rows = session.execute(q.order_by(DeploymentRow.name, AlertRuleRow.name))
            return [
                _rule(r, d) for r, d in rows if self.principal.can(Permission.READ, d.environment)
            ]

    def delete_alert_rule(self, deployment: str, name: str) -> AlertRule:
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.DEPLOY, found.environment)
        with self.db.write() as session:
            dep = self._deployment(session, deployment)
            row = session.scalar(
                sa.select(AlertRuleRow).where(
                    AlertRuleRow.deployment_id == dep.id, AlertRuleRow.name == name
                )
            )
            if row is None:
                raise NotFound(f"deployment {deployment!r} has no alert rule {name!r}")
            rule = _rule(row, dep)
            session.delete(row)
            AuditLog(session).append(
                actor=self.principal.name,
                action="alert.rule_deleted",
                subject=_subject(rule),
                before=rule.to_dict(),
            )
        return rule

    def _deployment(self, session: Session, name: str) -> DeploymentRow:
        row = session.scalar(sa.select(DeploymentRow).where(DeploymentRow.name == name))
        if row is None:
            raise NotFound(f"deployment {name!r} does not exist", deployment=name)
        return row

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
        with self.db.read() as session:
            q = (
                sa.select(AlertRow, AlertRuleRow, DeploymentRow)
                .join(AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id)
                .join(DeploymentRow, DeploymentRow.id == AlertRuleRow.deployment_id)
            )
            if deployment is not None:
                self._deployment(session, deployment)
                q = q.where(DeploymentRow.name == deployment)
            if state is not None:
                q = q.where(AlertRow.state == state)
            rows = session.execute(q.order_by(AlertRow.id.desc()).limit(max(1, min(limit, 10_000))))
            return [
                _alert(a, r, d)
                for a, r, d in rows
                if self.principal.can(Permission.READ, d.environment)
            ]

    # -- evaluation -----------------------------------------------------------------------
    def evaluate_due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Evaluate every rule whose time has come (the scheduler's tick)."""
        now = now or datetime.now(UTC)
        with self.db.read() as session:
            due = list(
                session.execute(
                    sa.select(AlertRuleRow.id, AlertRuleRow.next_run_at).where(
                        AlertRuleRow.next_run_at <= now
                    )
                )
            )
        outcomes = []
        for rule_id, planned in due:
            if not self._claim(rule_id, planned, now):
                continue  # another worker took this run
            try:
                outcomes.append(self._evaluate(rule_id, now))
            except Exception:  # one broken rule must not stop the others
                log.warning("alert rule %s could not be evaluated", rule_id, exc_info=True)
        return outcomes

    def evaluate_alerts(
        self, deployment: str, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Evaluate every rule of a deployment now (``modelyard alerts evaluate``)."""
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.DEPLOY, found.environment)
        now = now or datetime.now(UTC)
        return [
            self._evaluate(rule.id, now) for rule in self.list_alert_rules(deployment=deployment)
        ]

    def _claim(self, rule_id: int, planned: datetime, now: datetime) -> bool:
        rules = core(AlertRuleRow)
        with self.db.write() as session:
            every = session.scalar(
                sa.select(AlertRuleRow.every_seconds).where(AlertRuleRow.id == rule_id)
            )
            if every is None:
                return False
            claimed = session.execute(
                sa.update(rules)
                .where(rules.c.id == rule_id, rules.c.next_run_at == planned)
                .values(next_run_at=now + timedelta(seconds=every))
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def _evaluate(self, rule_id: int, now: datetime) -> dict[str, Any]:
        with self.db.read() as session:
            found = session.execute(
                sa.select(AlertRuleRow, DeploymentRow)
                .join(DeploymentRow, DeploymentRow.id == AlertRuleRow.deployment_id)
                .where(AlertRuleRow.id == rule_id)
            ).one_or_none()
            if found is None:
                raise NotFound(f"alert rule {rule_id} does not exist")
            rule = _rule(*found)
        report = self.monitoring.monitor(
            rule.deployment,
            since=now - timedelta(seconds=rule.window_seconds),
            until=now,
            now=now,
        )
        summary = report["summary"]
        value = (
            summary["feature_drift"].get(rule.feature or "")
            if rule.signal == "feature_drift"
            else summary.get(rule.signal)
        )
        firing = value is not None and breaches(float(value), rule.op, rule.threshold)
        outcome: dict[str, Any] = {
            "rule": rule.name,
            "deployment": rule.deployment,
            "value": value,
            "firing": firing,
            "report_id": report.get("id"),
            "change": None,
        }
        with self.db.write() as session:
            open_alert = session.scalar(
                sa.select(AlertRow)
                .where(AlertRow.rule_id == rule.id, AlertRow.state == "firing")
                .with_for_update()
            )
            if value is None:  # no data for this signal in the window: nothing changes
                return outcome
            message = f"{rule.deployment}: {rule.description} (value {float(value):.4g})"
            if firing and open_alert is None:
                alert = AlertRow(
                    rule_id=rule.id,
                    state="firing",
                    value=float(value),
                    last_value=float(value),
                    message=message,
                    fired_at=now,
                    last_evaluated_at=now,
                )
                session.add(alert)
                session.flush()
                outcome["change"] = "fired"
                AuditLog(session).append(
                    actor=SCHEDULER.name,
                    action="alert.fired",
                    subject=_subject(rule),
                    after={
                        "alert_id": alert.id,
                        "rule": rule.to_dict(),
                        "value": float(value),
                        "message": message,
                        "report_id": report.get("id"),
                    },
                )
            elif open_alert is not None:
                open_alert.last_value = float(value)
                open_alert.last_evaluated_at = now
                if not firing:
                    open_alert.state = "resolved"
                    open_alert.resolved_at = now
                    outcome["change"] = "resolved"
                    AuditLog(session).append(
                        actor=SCHEDULER.name,
                        action="alert.resolved",
                        subject=_subject(rule),
                        after={
                            "alert_id": open_alert.id,
                            "rule": rule.to_dict(),
                            "value": float(value),
                            "fired_at": open_alert.fired_at.isoformat(),
                        },
                    )
        return outcome


def _subject(rule: AlertRule) -> str:
    return f"alert:{rule.environment}/{rule.deployment}/{rule.name}"


def _rule(row: AlertRuleRow, dep: DeploymentRow) -> AlertRule:
    return AlertRule(
        id=row.id,
        deployment=dep.name,
        environment=dep.environment,
        name=row.name,
        signal=row.signal,
        feature=row.feature,
        op=row.op,
        threshold=row.threshold,
        window_seconds=row.window_seconds,
        every_seconds=row.every_seconds,
        next_run_at=row.next_run_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _alert(row: AlertRow, rule: AlertRuleRow, dep: DeploymentRow) -> Alert:
    return Alert(
        id=row.id,
        rule_id=rule.id,
        rule=rule.name,
        deployment=dep.name,
        environment=dep.environment,
        state=row.state,
        value=row.value,
        last_value=row.last_value,
        message=row.message,
        fired_at=row.fired_at,
        last_evaluated_at=row.last_evaluated_at,
        resolved_at=row.resolved_at,
    )


class AlertScheduler:
    """Runs ``evaluate_due`` every ``seconds`` in a daemon thread until ``stop()``."""

    def __init__(self, alerts: AlertService, seconds: float) -> None:
        self.alerts = alerts
        self.seconds = seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="modelyard-alerts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.seconds):
            try:
                for outcome in self.alerts.evaluate_due():
                    if outcome["change"]:
                        log.info("alert %s: %s", outcome["change"], outcome)
            except Exception:  # the database may be briefly unreachable: try next tick
                log.warning("alert evaluation failed", exc_info=True)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
