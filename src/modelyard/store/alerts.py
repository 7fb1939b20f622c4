"""Alert rules and the alerts they open: ``Alerts`` reads and writes them inside one
transaction and answers with entities and ids, never rows.

Several server workers may run the scheduler: ``claim`` moves a rule's ``next_run_at``
with an UPDATE guarded by the time it was read, so exactly one worker takes each run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.monitoring import Alert, AlertRule
from modelyard.store.tables import AlertRow, AlertRuleRow, DeploymentRow, core, utcnow

_RULES = core(AlertRuleRow)
_ALERTS = core(AlertRow)
_RULES_OF = sa.select(AlertRuleRow, DeploymentRow).join(
    DeploymentRow, DeploymentRow.id == AlertRuleRow.deployment_id
)
_ALERTS_OF = (
    sa.select(AlertRow, AlertRuleRow, DeploymentRow)
    .join(AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id)
    .join(DeploymentRow, DeploymentRow.id == AlertRuleRow.deployment_id)
)


@dataclass(frozen=True, slots=True)
class DueRun:
    """A rule's run whose time has come: claim it with the ``planned`` time read."""

    rule_id: int
    planned: datetime


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
        offset_seconds=row.offset_seconds,
        segment=None
        if row.segment_column is None
        else f"{row.segment_column}={row.segment_value or ''}",
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


class Alerts:
    """Alert rules of deployments and their alerts, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- rules ----------------------------------------------------------------------------
    def add_rule(
        self,
        *,
        deployment_id: int,
        name: str,
        signal: str,
        feature: str | None,
        op: str,
        threshold: float,
        window_seconds: int,
        every_seconds: int,
        actor: str,
        offset_seconds: int = 0,
        segment: tuple[str, str] | None = None,
        next_run_at: datetime | None = None,
    ) -> AlertRule:
        """A new rule, due at once (or at ``next_run_at``)."""
        rule_id = self.session.execute(
            sa.insert(_RULES)
            .values(
                deployment_id=deployment_id,
                name=name,
                signal=signal,
                feature=feature,
                op=op,
                threshold=threshold,
                window_seconds=window_seconds,
                offset_seconds=offset_seconds,
                segment_column=segment[0] if segment else None,
                segment_value=segment[1] if segment else None,
                every_seconds=every_seconds,
                next_run_at=next_run_at or utcnow(),
                created_by=actor,
            )
            .returning(_RULES.c.id)
        ).scalar_one()
        found = self.rule(rule_id)
        assert found is not None
        return found

    def rule(self, rule_id: int) -> AlertRule | None:
        found = self.session.execute(_RULES_OF.where(AlertRuleRow.id == rule_id)).one_or_none()
        return None if found is None else _rule(*found)

    def find_rule(self, deployment_id: int, name: str) -> AlertRule | None:
        found = self.session.execute(
            _RULES_OF.where(AlertRuleRow.deployment_id == deployment_id, AlertRuleRow.name == name)
        ).one_or_none()
        return None if found is None else _rule(*found)

    def rules(self, deployment_id: int | None = None) -> list[AlertRule]:
        """Rules of one deployment (``None``: of all), by deployment and name."""
        q = _RULES_OF
        if deployment_id is not None:
            q = q.where(AlertRuleRow.deployment_id == deployment_id)
        rows = self.session.execute(q.order_by(DeploymentRow.name, AlertRuleRow.name))
        return [_rule(r, d) for r, d in rows]

    def delete_rule(self, rule_id: int) -> None:
        """The rule and its alerts (they cascade)."""
        self.session.execute(sa.delete(_RULES).where(_RULES.c.id == rule_id))

    # -- scheduling -----------------------------------------------------------------------
    def due(self, now: datetime) -> list[DueRun]:
        """Runs planned at or before ``now``."""
        rows = self.session.execute(
            sa.select(_RULES.c.id, _RULES.c.next_run_at).where(_RULES.c.next_run_at <= now)
        )
        return [DueRun(rule_id, planned) for rule_id, planned in rows]

    def claim(self, run: DueRun, now: datetime) -> bool:
        """Take a due run: move the rule's next run one period past ``now``, only if no one
        moved it since ``run`` was read. False: another worker took it (or the rule is gone)."""
        every = self.session.scalar(
            sa.select(_RULES.c.every_seconds).where(_RULES.c.id == run.rule_id)
        )
        if every is None:
            return False
        claimed = self.session.execute(
            sa.update(_RULES)
            .where(_RULES.c.id == run.rule_id, _RULES.c.next_run_at == run.planned)
            .values(next_run_at=now + timedelta(seconds=every))
        )
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    # -- alerts ---------------------------------------------------------------------------
    def alerts(
        self, *, deployment_id: int | None = None, state: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Alerts, newest first, of one deployment (``None``: of all), in one state or any."""
        q = _ALERTS_OF
        if deployment_id is not None:
            q = q.where(AlertRuleRow.deployment_id == deployment_id)
        if state is not None:
            q = q.where(AlertRow.state == state)
        rows = self.session.execute(q.order_by(AlertRow.id.desc()).limit(limit))
        return [_alert(a, r, d) for a, r, d in rows]

    def open_alert(self, rule_id: int) -> Alert | None:
        """The rule's firing alert, its row held until the transaction ends."""
        found = self.session.execute(
            _ALERTS_OF.where(
                AlertRow.rule_id == rule_id, AlertRow.state == "firing"
            ).with_for_update(of=AlertRow)
        ).one_or_none()
        return None if found is None else _alert(*found)

    def fire(self, rule_id: int, value: float, message: str, now: datetime) -> int:
        """Open an alert for the rule; its id."""
        return int(
            self.session.execute(
                sa.insert(_ALERTS)
                .values(
                    rule_id=rule_id,
                    state="firing",
                    value=value,
                    last_value=value,
                    message=message,
                    fired_at=now,
                    last_evaluated_at=now,
                )
                .returning(_ALERTS.c.id)
            ).scalar_one()
        )

    def observe(self, alert_id: int, value: float, now: datetime) -> None:
        """Record the value an open alert's rule saw at ``now``."""
        self.session.execute(
            sa.update(_ALERTS)
            .where(_ALERTS.c.id == alert_id)
            .values(last_value=value, last_evaluated_at=now)
        )

    def resolve(self, alert_id: int, now: datetime) -> None:
        self.session.execute(
            sa.update(_ALERTS)
            .where(_ALERTS.c.id == alert_id)
            .values(state="resolved", resolved_at=now)
        )
