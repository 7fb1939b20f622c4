"""Evaluations and promotions: metrics on datasets, and the gates a version passes to
reach another environment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from modelyard.domain.promotions import DEFAULT_APPROVALS

if TYPE_CHECKING:
    from modelyard.domain.promotions import Comparison, Evaluation, Gates, PromotionRequest


class Evaluations(Protocol):
    def evaluate(
        self, ref: str, dataset: str, *, label: str | None = None, environment: str | None = None
    ) -> Evaluation:
        """Score a version on a dataset version; the metrics are stored with both."""
        ...

    def list_evaluations(
        self, ref: str | None = None, *, environment: str | None = None
    ) -> list[Evaluation]:
        """Evaluations of one version, or all, newest first."""
        ...

    def get_evaluation(self, evaluation_id: int) -> Evaluation:
        """One evaluation."""
        ...

    def compare_versions(self, refs: list[str], *, dataset: str | None = None) -> Comparison:
        """The versions' newest evaluations on one dataset, metrics side by side."""
        ...


class Promotions(Protocol):
    def get_gates(self, environment: str) -> Gates:
        """What a promotion into ``environment`` must pass."""
        ...

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
        """Replace the gates of ``environment``: a passing evaluation on a dataset,
        metric thresholds (``f1_macro >= 0.6``), beating the champion on a metric, and
        the approvals needed (by someone other than the requester unless allowed; one
        unless set: 0 opens the environment to anyone who may request)."""
        ...

    def promote(self, ref: str, *, to: str, note: str = "") -> PromotionRequest:
        """Request a version's promotion into ``to``: gates checked now, approvals later;
        promoted at once when no approval is needed."""
        ...

    def approve(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        """Approve a pending request; the last approval copies the version."""
        ...

    def reject(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        """Reject a pending request (final)."""
        ...

    def get_promotion_request(self, request_id: int) -> PromotionRequest:
        """One request, its gate results and approvals."""
        ...

    def list_promotion_requests(
        self, *, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        """Requests, newest first (``state``: pending, blocked, promoted, rejected)."""
        ...
