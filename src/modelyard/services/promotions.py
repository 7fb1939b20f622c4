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

from modelyard.domain.auth import Permission, Principal, Role
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.domain.names import check_name, parse_ref
from modelyard.domain.promotions import DEFAULT_APPROVALS, GateResult, Gates, PromotionRequest
from modelyard.services import lookup
from modelyard.services.auth import require
from modelyard.services.registry import RegistryService, point_alias
from modelyard.store.unit import Store, Tx
from modelyard.wire.codec import Codec

LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})
#: The alias a completed promotion points at its version in the target environment.
CHAMPION = "champion"


class PromotionService:
    def __init__(self, store: Store, registry: RegistryService, principal: Principal) -> None:
        self.principal = principal
        self.store = store
        self.registry = registry

    # -- gates ------------------------------------------------------------------------------
    def get_gates(self, environment: str) -> Gates:
        require(self.principal, Permission.READ, environment)
        with self.store.read() as tx:
            return _gates(tx, environment)

    def set_gates(
        self,
        environment: str,
        *,
        evaluation: str | None = None,
        thresholds: Iterable[str] = (),
        beat_champion: str | None = None,
        approvals: int = DEFAULT_APPROVALS,
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
        with self.store.write() as tx:
            before = _gates(tx, environment)
            tx.promotions.set_gates(environment, parsed)
            tx.audit.append(
                actor=self.principal.name,
                action="environment.gates_changed",
                subject=f"environment:{environment}/gates",
                before=before.to_dict(),
                after=parsed.to_dict(),
            )
        return parsed

    def check(self, source: ModelVersion, target: str, gates: Gates) -> list[GateResult]:
        """Every gate but approvals, evaluated now."""
        results: list[GateResult] = []
        with self.store.read() as tx:
            version_id = lookup.version(tx, self.registry.ref(source.ref)).version_id
            values = dict(source.metrics)
            if gates.evaluation:
                found = tx.evaluations.latest(version_id, gates.evaluation)
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
                results.append(self._champion(tx, source, target, gates, values))
        return results

    def _champion(
        self,
        tx: Tx,
        source: ModelVersion,
        target: str,
        gates: Gates,
        values: dict[str, float],
    ) -> GateResult:
        metric = gates.beat_champion
        assert metric is not None
        try:
            champion = lookup.resolve(tx, self.registry.ref(f"{target}/{source.name}@{CHAMPION}"))
        except NotFound:
            return GateResult("champion", True, f"{target}/{source.name} has no champion yet")
        theirs: float | None = champion.metrics.get(metric)
        for ref in (champion.ref, champion.lineage.promoted_from):
            if ref is None or not gates.evaluation:
                continue
            try:
                version_id = lookup.version(tx, self.registry.ref(ref)).version_id
            except NotFound:
                continue
            found = tx.evaluations.latest(version_id, gates.evaluation)
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
        with self.store.read() as tx:  # the requester need not read the target's gates
            gates = _gates(tx, to)
        results = self.check(source, to, gates)
        blocked = any(not r.passed for r in results)
        results.append(
            GateResult("approvals", gates.approvals == 0, f"0 of {gates.approvals} approvals")
        )
        state = "blocked" if blocked else "pending"
        with self.store.write() as tx:
            found = lookup.version(tx, self.registry.ref(source.ref))
            request_id = tx.promotions.add(
                source=source.ref,
                source_version_id=found.version_id,
                target_environment=to,
                state=state,
                note=note,
                gates=results,
                required_approvals=gates.approvals,
                requested_by=self.principal.name,
            )
            tx.audit.append(
                actor=self.principal.name,
                action="promotion.requested",
                subject=_subject(to, request_id),
                after={
                    "source": source.ref,
                    "state": state,
                    "gates": Codec().encode(results),
                },
            )
        if not blocked and gates.approvals == 0:
            return self._complete(request_id)
        return self.get_promotion_request(request_id)

    def approve(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        with self.store.write() as tx:
            request = _request(tx, request_id, lock=True)
            require(self.principal, Permission.APPROVE, request.target_environment)
            _check_pending(request)
            gates = _gates(tx, request.target_environment)
            if self.principal.name == request.requested_by and not gates.self_approval:
                raise PermissionDenied(
                    f"user {self.principal.name!r} requested promotion {request.id} and may "
                    "not approve it: another approver must",
                    user=self.principal.name,
                )
            if any(a.user == self.principal.name for a in request.approvals):
                raise Conflict(
                    f"user {self.principal.name!r} has already approved promotion {request.id}"
                )
            approvals = tx.promotions.add_approval(request_id, self.principal.name, comment)
            tx.audit.append(
                actor=self.principal.name,
                action="promotion.approved",
                subject=_subject(request.target_environment, request_id),
                after={"approvals": approvals, "required": request.required_approvals},
            )
        if approvals >= request.required_approvals:
            return self._complete(request_id)
        return self.get_promotion_request(request_id)

    def reject(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        with self.store.write() as tx:
            request = _request(tx, request_id, lock=True)
            require(self.principal, Permission.APPROVE, request.target_environment)
            if request.state not in ("pending", "blocked"):
                raise Conflict(
                    f"promotion {request.id} is {request.state}: it can no longer be rejected"
                )
            tx.promotions.reject(request_id, by=self.principal.name, comment=comment)
            tx.audit.append(
                actor=self.principal.name,
                action="promotion.rejected",
                subject=_subject(request.target_environment, request_id),
                after={"comment": comment},
            )
        return self.get_promotion_request(request_id)

    def _complete(self, request_id: int) -> PromotionRequest:
        """Check the gates once more, then copy the version into the target environment."""
        with self.store.read() as tx:
            request = _request(tx, request_id)
            target = request.target_environment
            gates = _gates(tx, target)
            source = lookup.resolve(tx, self.registry.ref(request.source))
        results = self.check(source, target, gates)
        if any(not r.passed for r in results):
            with self.store.write() as tx:
                request = _request(tx, request_id, lock=True)
                checked = [
                    *results,
                    GateResult("approvals", True, f"{len(request.approvals)} approvals"),
                ]
                tx.promotions.block(request_id, checked)
                tx.audit.append(
                    actor=self.principal.name,
                    action="promotion.blocked",
                    subject=_subject(target, request_id),
                    after={"gates": Codec().encode(checked)},
                )
            return self.get_promotion_request(request_id)
        promoted = self.registry.versions.copy_version(source, target)
        with self.store.write() as tx:
            request = _request(tx, request_id, lock=True)
            approvals = f"{len(request.approvals)} of {request.required_approvals} approvals"
            tx.promotions.complete(
                request_id,
                by=self.principal.name,
                result=promoted.ref,
                gates=[*results, GateResult("approvals", True, approvals)],
            )
            tx.audit.append(
                actor=self.principal.name,
                action="promotion.completed",
                subject=_subject(target, request_id),
                after={"source": source.ref, "version": promoted.ref},
            )
            # the promoted version is the one the next promotion must beat
            point_alias(tx, parse_ref(promoted.ref), CHAMPION, self.principal)
        return self.get_promotion_request(request_id)

    def get_promotion_request(self, request_id: int) -> PromotionRequest:
        with self.store.read() as tx:
            request = _request(tx, request_id)
        if not self._may_read(request):
            require(self.principal, Permission.READ, request.target_environment)
        return request

    def list_promotion_requests(
        self, *, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        if state not in (None, "pending", "blocked", "rejected", "promoted"):
            raise InvalidInput(f"unknown state {state!r}: pending, blocked, rejected, promoted")
        with self.store.read() as tx:
            found = tx.promotions.list_requests(state=state, limit=limit)
        return [r for r in found if self._may_read(r)]

    def _may_read(self, request: PromotionRequest) -> bool:
        """Readers of either environment, the target or the source's, see a request."""
        return self.principal.can(
            Permission.READ, request.target_environment
        ) or self.principal.can(Permission.READ, request.source.split("/", 1)[0])


def _gates(tx: Tx, environment: str) -> Gates:
    found = tx.promotions.gates(environment)
    if found is None:
        lookup.check_environment(tx, environment)  # raises, naming the known ones
    assert found is not None
    return found


def _request(tx: Tx, request_id: int, *, lock: bool = False) -> PromotionRequest:
    found = tx.promotions.get(request_id, lock=lock)
    if found is None:
        raise NotFound(f"promotion request {request_id} does not exist")
    return found


def _check_pending(request: PromotionRequest) -> None:
    if request.state == "blocked":
        failed = "; ".join(g.detail for g in request.gates if not g.passed)
        raise Conflict(f"promotion {request.id} is blocked by its gates: {failed}")
    if request.state != "pending":
        raise Conflict(f"promotion {request.id} is {request.state}")


def _subject(target_environment: str, request_id: int) -> str:
    return f"promotion:{target_environment}/{request_id}"
