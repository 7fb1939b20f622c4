"""Evaluations and promotions over HTTP: the same methods as the embedded services."""

from __future__ import annotations

from typing import Any

from modelyard.domain.promotions import Evaluation, Gates, PromotionRequest
from modelyard.remote import Http


class RemoteEvaluations:
    def __init__(self, http: Http) -> None:
        self.http = http

    def evaluate(
        self,
        ref: str,
        dataset: str,
        *,
        actor: Any = None,
        label: str | None = None,
        environment: str | None = None,
    ) -> Evaluation:
        version = f"{environment}/{ref}" if environment and "/" not in ref else ref
        body = {"version": version, "dataset": dataset, "label": label}
        return Evaluation.from_dict(self.http.json("POST", "/api/v1/evaluations", json=body))

    def list_evaluations(
        self, ref: str | None = None, *, actor: Any = None, environment: str | None = None
    ) -> list[Evaluation]:
        params = {}
        if ref is not None:
            params["version"] = f"{environment}/{ref}" if environment and "/" not in ref else ref
        found = self.http.json("GET", "/api/v1/evaluations", params=params)
        return [Evaluation.from_dict(e) for e in found]

    def get(self, evaluation_id: int, *, actor: Any = None) -> Evaluation:
        return Evaluation.from_dict(self.http.json("GET", f"/api/v1/evaluations/{evaluation_id}"))

    def compare(
        self, refs: list[str], *, actor: Any = None, dataset: str | None = None
    ) -> dict[str, Any]:
        body = {"versions": refs, "dataset": dataset}
        return dict(self.http.json("POST", "/api/v1/evaluations/compare", json=body))


class RemotePromotions:
    def __init__(self, http: Http) -> None:
        self.http = http

    def get_gates(self, environment: str, *, actor: Any = None) -> Gates:
        return Gates.from_dict(self.http.json("GET", f"/api/v1/environments/{environment}/gates"))

    def set_gates(self, environment: str, gates: dict[str, Any], *, actor: Any = None) -> Gates:
        found = self.http.json("PUT", f"/api/v1/environments/{environment}/gates", json=gates)
        return Gates.from_dict(found)

    def promote(self, ref: str, *, to: str, actor: Any = None, note: str = "") -> PromotionRequest:
        body = {"version": ref, "to": to, "note": note}
        return PromotionRequest.from_dict(self.http.json("POST", "/api/v1/promotions", json=body))

    def approve(self, request_id: int, *, actor: Any = None, comment: str = "") -> PromotionRequest:
        path = f"/api/v1/promotions/{request_id}/approve"
        return PromotionRequest.from_dict(self.http.json("POST", path, json={"comment": comment}))

    def reject(self, request_id: int, *, actor: Any = None, comment: str = "") -> PromotionRequest:
        path = f"/api/v1/promotions/{request_id}/reject"
        return PromotionRequest.from_dict(self.http.json("POST", path, json={"comment": comment}))

    def get(self, request_id: int, *, actor: Any = None) -> PromotionRequest:
        return PromotionRequest.from_dict(self.http.json("GET", f"/api/v1/promotions/{request_id}"))

    def list_requests(
        self, *, actor: Any = None, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        found = self.http.json("GET", "/api/v1/promotions", params=params)
        return [PromotionRequest.from_dict(p) for p in found]
