"""Evaluations and promotions over HTTP."""

from __future__ import annotations

from collections.abc import Iterable

from modelyard.domain.promotions import (
    DEFAULT_APPROVALS,
    Comparison,
    Evaluation,
    Gates,
    PromotionRequest,
)
from modelyard.sdk.http.transport import Http


class HttpEvaluations:
    def __init__(self, http: Http) -> None:
        self.http = http

    def evaluate(
        self, ref: str, dataset: str, *, label: str | None = None, environment: str | None = None
    ) -> Evaluation:
        body = {"version": ref, "dataset": dataset, "label": label, "environment": environment}
        return self.http.post("/api/v1/evaluations", Evaluation, body)

    def list_evaluations(
        self, ref: str | None = None, *, environment: str | None = None
    ) -> list[Evaluation]:
        return self.http.get(
            "/api/v1/evaluations", list[Evaluation], version=ref, environment=environment
        )

    def get_evaluation(self, evaluation_id: int) -> Evaluation:
        return self.http.get(f"/api/v1/evaluations/{evaluation_id}", Evaluation)

    def compare_versions(self, refs: list[str], *, dataset: str | None = None) -> Comparison:
        body = {"versions": refs, "dataset": dataset}
        return self.http.post("/api/v1/evaluations/compare", Comparison, body)


class HttpPromotions:
    def __init__(self, http: Http) -> None:
        self.http = http

    def get_gates(self, environment: str) -> Gates:
        return self.http.get(f"/api/v1/environments/{environment}/gates", Gates)

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
        body = {
            "evaluation": evaluation,
            "thresholds": list(thresholds),
            "beat_champion": beat_champion,
            "approvals": approvals,
            "self_approval": self_approval,
        }
        return self.http.put(f"/api/v1/environments/{environment}/gates", Gates, body)

    def promote(self, ref: str, *, to: str, note: str = "") -> PromotionRequest:
        body = {"version": ref, "to": to, "note": note}
        return self.http.post("/api/v1/promotions", PromotionRequest, body)

    def approve(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        path = f"/api/v1/promotions/{request_id}/approve"
        return self.http.post(path, PromotionRequest, {"comment": comment})

    def reject(self, request_id: int, *, comment: str = "") -> PromotionRequest:
        path = f"/api/v1/promotions/{request_id}/reject"
        return self.http.post(path, PromotionRequest, {"comment": comment})

    def get_promotion_request(self, request_id: int) -> PromotionRequest:
        return self.http.get(f"/api/v1/promotions/{request_id}", PromotionRequest)

    def list_promotion_requests(
        self, *, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        return self.http.get("/api/v1/promotions", list[PromotionRequest], state=state, limit=limit)
