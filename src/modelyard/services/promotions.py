"""Promotion between environments, under the target environment's gates.

- Gates live on the environment (``environments.gates``): a required evaluation dataset,
  metric thresholds, "beat the champion" on a metric, a number of approvals, and whether
  a requester may approve their own request (by default not). Only an installation admin,
  or an admin of that environment, changes them.
- ``promote`` (needs register in the source environment) records a request with every
  gate's result: ``blocked`` if one fails, else ``pending``. With no approvals required
  the version is promoted at once.
- ``approve`` / ``reject`` need the approve permission in the target environment. The last
  approval checks the gates again, then copies the version into the target environment
  (``RegistryService.copy_version``). Nothing is deployed: deployments change only by an
  explicit update.
- Every step is audited (``promotion.*``), so webhook subscribers hear of it.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.auth import Permission, Principal, Role
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.domain.names import check_name
from modelyard.domain.promotions import GateResult, Gates, PromotionRequest
from modelyard.services import lookup
from modelyard.services.auth import require
from modelyard.services.evaluations import EvaluationService
from modelyard.services.registry import RegistryService
from modelyard.store.audit import AuditLog
from modelyard.store.database import Database
from modelyard.store.tables import EnvironmentRow, PromotionRequestRow, utcnow
from modelyard.store.unit import Tx

LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})


class PromotionService:
    def __init__(
        self,
        db: Database,
        registry: RegistryService,
        evaluations: EvaluationService,
        principal: Principal,
    ) -> None:
        self.principal = principal
        self.db = db
        self.registry = registry
        self.evaluations = evaluations

    # -- gates ------------------------------------------------------------------------------
    def get_gates(self, environment: str) -> Gates:
        require(self.principal, Permission.READ, environment)
        with self.db.read() as session:
            return Gates.from_dict(self._environment(session, environment).gates)

    def set_gates(
        self,
        environment: str,
        *,
        evaluation: str | None = None,
        thresholds: Iterable[str] = (),
        beat_champion: str | None = None,
        approvals: int = 0,
        self_approval: bool = False,
    ) -> Gates:
        who = self.principal
        if not (who.is_admin or Role.ADMIN in who.roles.get(environment, ())):
            raise PermissionDenied(
                f"user {who.name!r} may not change the gates of {environment!r}: it needs "
                "an admin of that environment",
                user=who.name,
                environment=environment,
            )
        parsed = Gates.from_dict(
            {
                "evaluation": evaluation,
                "thresholds": list(thresholds),
                "beat_champion": beat_champion,
                "approvals": approvals,
                "self_approval": self_approval,
            }
        )
        if parsed.evaluation:
            check_name(parsed.evaluation.rsplit("/", 1)[-1].split(":", 1)[0], "dataset name")
        with self.db.write() as session:
            row = self._environment(session, environment)
            before = Gates.from_dict(row.gates).to_dict()
            row.gates = parsed.to_dict()
            AuditLog(session).append(
                actor=self.principal.name,
                action="environment.gates_changed",
                subject=f"environment:{environment}/gates",
                before=before,
                after=parsed.to_dict(),
            )
        return parsed

    def _environment(self, session: Session, name: str) -> EnvironmentRow:
        row = session.get(EnvironmentRow, name)
        if row is None:
            lookup.check_environment(Tx(session), name)  # raises, naming the known ones
        assert row is not None
        return row

    def check(self, source: ModelVersion, target: str, gates: Gates) -> list[GateResult]:
        """Every gate but approvals, evaluated now."""
        results: list[GateResult] = []
        with self.db.read() as session:
            version_id = lookup.version(Tx(session), self.registry.ref(source.ref)).version_id
            values = dict(source.metrics)
            if gates.evaluation:
                found = self.evaluations.latest(session, version_id, gates.evaluation)
                if found is None:
                    results.append(
                        GateResult(
                            "evaluation",
                            False,
                            f"no evaluation on {gates.evaluation}: run modelyard evaluate "
                            f"{source.ref} --dataset {gates.evaluation}",
                        )
                    )
                else:
                    values.update(found.metrics)
                    results.append(GateResult("evaluation", True, f"evaluated on {found.dataset}"))
            for threshold in gates.thresholds:
                value = values.get(threshold.metric)
                if value is None:
                    results.append(
                        GateResult("threshold", False, f"{threshold}: no {threshold.metric} value")
                    )
                else:
                    results.append(
                        GateResult(
                            "threshold",
                            threshold.passes(value),
                            f"{threshold}: {threshold.metric} = {value:.4g}",
                        )
                    )
            if gates.beat_champion:
                results.append(self._champion(session, source, target, gates, values))
        return results

    def _champion(
        self,
        session: Session,
        source: ModelVersion,
        target: str,
        gates: Gates,
        values: dict[str, float],
    ) -> GateResult:
        metric = gates.beat_champion
        assert metric is not None
        try:
            champion = lookup.resolve(
                Tx(session), self.registry.ref(f"{target}/{source.name}@champion")
            )
        except NotFound:
            return GateResult("champion", True, f"{target}/{source.name} has no champion yet")
        theirs: float | None = champion.metrics.get(metric)
        for ref in (champion.ref, champion.lineage.promoted_from):
            if ref is None or not gates.evaluation:
                continue
            try:
                version_id = lookup.version(Tx(session), self.registry.ref(ref)).version_id
            except NotFound:
                continue
            found = self.evaluations.latest(session, version_id, gates.evaluation)
            if found is not None and metric in found.metrics:
                theirs = found.metrics[metric]
                break
        ours = values.get(metric)
        if ours is None or theirs is None:
            missing = source.ref if ours is None else champion.ref
            return GateResult("champion", False, f"no {metric} value for {missing}")
        better = ours < theirs if metric in LOWER_IS_BETTER else ours > theirs
        return GateResult(
            "champion",
            better,
            f"{metric} {ours:.4g} vs champion {champion.ref} {theirs:.4g}",
        )

    # -- requests ---------------------------------------------------------------------------
    def promote(self, ref: str, *, to: str, note: str = "") -> PromotionRequest:
        source = self.registry.get_version(ref)
        require(self.principal, Permission.REGISTER, source.environment)
        if to == source.environment:
            raise InvalidInput(f"{source.ref} is already in {to!r}")
        if source.status != "ready":
            raise InvalidInput(f"{source.ref} is {source.status}: only a ready version is promoted")
        if len(note) > 10_000:
            raise InvalidInput("the note is longer than 10,000 characters")
        with self.db.read() as session:  # the requester need not read the target's gates
            gates = Gates.from_dict(self._environment(session, to).gates)
        results = self.check(source, to, gates)
        blocked = any(not r.passed for r in results)
        results.append(
            GateResult("approvals", gates.approvals == 0, f"0 of {gates.approvals} approvals")
        )
        with self.db.write() as session:
            found = lookup.version(Tx(session), self.registry.ref(source.ref))
            row = PromotionRequestRow(
                source=source.ref,
                source_version_id=found.version_id,
                target_environment=to,
                state="blocked" if blocked else "pending",
                note=note,
                gates=[r.to_dict() for r in results],
                approvals=[],
                required_approvals=gates.approvals,
                requested_by=self.principal.name,
            )
            session.add(row)
            session.flush()
            AuditLog(session).append(
                actor=self.principal.name,
                action="promotion.requested",
                subject=_subject(row),
                after={"source": source.ref, "state": row.state, "gates": row.gates},
            )
            request_id = row.id
        if not blocked and gates.approvals == 0:
            return self._complete(request_id)
        return self.get_promotion_request(request_id)

    def approve(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        with self.db.write() as session:
            row = self._row(session, request_id, lock=True)
            require(self.principal, Permission.APPROVE, row.target_environment)
            self._check_pending(row)
            gates = Gates.from_dict(self._environment(session, row.target_environment).gates)
            if self.principal.name == row.requested_by and not gates.self_approval:
                raise PermissionDenied(
                    f"user {self.principal.name!r} requested promotion {row.id} and may not "
                    "approve it: another approver must",
                    user=self.principal.name,
                )
            if any(a["user"] == self.principal.name for a in row.approvals):
                raise Conflict(
                    f"user {self.principal.name!r} has already approved promotion {row.id}"
                )
            row.approvals = [
                *row.approvals,
                {"user": self.principal.name, "comment": comment, "at": utcnow().isoformat()},
            ]
            row.updated_at = utcnow()
            AuditLog(session).append(
                actor=self.principal.name,
                action="promotion.approved",
                subject=_subject(row),
                after={"approvals": len(row.approvals), "required": row.required_approvals},
            )
            done = len(row.approvals) >= row.required_approvals
        if done:
            return self._complete(request_id)
        return self.get_promotion_request(request_id)

    def reject(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        with self.db.write() as session:
            row = self._row(session, request_id, lock=True)
            require(self.principal, Permission.APPROVE, row.target_environment)
            if row.state not in ("pending", "blocked"):
                raise Conflict(f"promotion {row.id} is {row.state}: it can no longer be rejected")
            row.state = "rejected"
            row.decided_by = self.principal.name
            row.decision_comment = comment
            row.updated_at = utcnow()
            AuditLog(session).append(
                actor=self.principal.name,
                action="promotion.rejected",
                subject=_subject(row),
                after={"comment": comment},
            )
        return self.get_promotion_request(request_id)

    def _complete(self, request_id: int) -> PromotionRequest:
        """Check the gates once more, then copy the version into the target environment."""
        with self.db.read() as session:
            row = self._row(session, request_id)
            target = row.target_environment
            gates = Gates.from_dict(self._environment(session, target).gates)
            source = lookup.resolve(Tx(session), self.registry.ref(row.source))
        results = self.check(source, target, gates)
        if any(not r.passed for r in results):
            with self.db.write() as session:
                row = self._row(session, request_id, lock=True)
                row.state = "blocked"
                row.gates = [r.to_dict() for r in results] + [
                    GateResult("approvals", True, f"{len(row.approvals)} approvals").to_dict()
                ]
                row.updated_at = utcnow()
                AuditLog(session).append(
                    actor=self.principal.name,
                    action="promotion.blocked",
                    subject=_subject(row),
                    after={"gates": row.gates},
                )
            return self.get_promotion_request(request_id)
        promoted = self.registry.versions.copy_version(source, target)
        with self.db.write() as session:
            row = self._row(session, request_id, lock=True)
            row.state = "promoted"
            row.result = promoted.ref
            row.decided_by = self.principal.name
            row.gates = [r.to_dict() for r in results] + [
                GateResult(
                    "approvals", True, f"{len(row.approvals)} of {row.required_approvals} approvals"
                ).to_dict()
            ]
            row.updated_at = utcnow()
            AuditLog(session).append(
                actor=self.principal.name,
                action="promotion.completed",
                subject=_subject(row),
                after={"source": source.ref, "version": promoted.ref},
            )
        return self.get_promotion_request(request_id)

    def _check_pending(self, row: PromotionRequestRow) -> None:
        if row.state == "blocked":
            failed = "; ".join(g["detail"] for g in row.gates if not g["passed"])
            raise Conflict(f"promotion {row.id} is blocked by its gates: {failed}")
        if row.state != "pending":
            raise Conflict(f"promotion {row.id} is {row.state}")

    def _row(self, session: Session, request_id: int, *, lock: bool = False) -> PromotionRequestRow:
        q = sa.select(PromotionRequestRow).where(PromotionRequestRow.id == request_id)
        row = session.scalar(q.with_for_update() if lock else q)
        if row is None:
            raise NotFound(f"promotion request {request_id} does not exist")
        return row

    def get_promotion_request(self, request_id: int) -> PromotionRequest:
        with self.db.read() as session:
            row = self._row(session, request_id)
            if not (
                self.principal.can(Permission.READ, row.target_environment)
                or self.principal.can(Permission.READ, row.source.split("/", 1)[0])
            ):
                require(self.principal, Permission.READ, row.target_environment)
            return _entity(row)

    def list_promotion_requests(
        self, *, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        if state not in (None, "pending", "blocked", "rejected", "promoted"):
            raise InvalidInput(f"unknown state {state!r}: pending, blocked, rejected, promoted")
        with self.db.read() as session:
            q = sa.select(PromotionRequestRow)
            if state is not None:
                q = q.where(PromotionRequestRow.state == state)
            rows = session.scalars(q.order_by(PromotionRequestRow.id.desc()).limit(limit))
            return [
                _entity(r)
                for r in rows
                if self.principal.can(Permission.READ, r.target_environment)
                or self.principal.can(Permission.READ, r.source.split("/", 1)[0])
            ]


def _subject(row: PromotionRequestRow) -> str:
    return f"promotion:{row.target_environment}/{row.id}"


def _entity(row: PromotionRequestRow) -> PromotionRequest:
    return PromotionRequest(
        id=row.id,
        source=row.source,
        target_environment=row.target_environment,
        state=row.state,
        note=row.note,
        gates=tuple(GateResult(**g) for g in row.gates),
        approvals=tuple(row.approvals),
        required_approvals=row.required_approvals,
        requested_by=row.requested_by,
        decided_by=row.decided_by,
        decision_comment=row.decision_comment,
        result=row.result,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
