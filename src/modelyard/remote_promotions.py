"""Evaluations and promotions over HTTP: the same methods as the embedded services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from modelyard.domain.promotions import Evaluation, Gates, PromotionRequest
from modelyard.remote import Http
from modelyard.services.bundles import ImportResult, TrustedKey
from modelyard.services.experiments import ExperimentRun


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


class RemoteBundles:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_key(self, name: str, *, actor: Any = None) -> TrustedKey:
        return _key(self.http.json("POST", "/api/v1/keys", json={"name": name}))

    def trust(self, name: str, public_key: str, *, actor: Any = None) -> TrustedKey:
        body = {"name": name, "public_key": public_key}
        return _key(self.http.json("POST", "/api/v1/keys/trusted", json=body))

    def list_keys(self, *, actor: Any = None) -> list[TrustedKey]:
        return [_key(k) for k in self.http.json("GET", "/api/v1/keys")]

    def export(self, ref: str, out: IO[bytes], *, key: str, actor: Any = None) -> dict[str, Any]:
        params = {"version": ref, "key": key}
        with self.http.client.stream("GET", "/api/v1/bundles/export", params=params) as response:
            if response.status_code >= 400:
                response.read()
                self.http.check(response)
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
            return {
                "source": response.headers.get("Modelyard-Bundle-Source", ref),
                "key_id": response.headers.get("Modelyard-Key-Id", ""),
            }

    def import_bundle(
        self, source: IO[bytes], *, actor: Any = None, environment: str | None = None
    ) -> ImportResult:
        from modelyard.remote import version_from

        params = {"environment": environment} if environment else {}
        found = self.http.json(
            "POST",
            "/api/v1/bundles",
            params=params,
            content=_chunks(source),
            headers={"Content-Type": "application/octet-stream"},
        )
        return ImportResult(
            version_from(found["version"]), found["created"], found["source"], found["key_id"]
        )


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(1 << 20):
        yield chunk


def _key(d: dict[str, Any]) -> TrustedKey:
    return TrustedKey(d["name"], d["key_id"], d["public_key"], d["created_by"])


class RemoteExperiments:
    def __init__(self, http: Http) -> None:
        self.http = http

    def record(
        self,
        experiment: str,
        name: str,
        *,
        params: dict[str, Any],
        data_fingerprint: str,
        rows: int,
        metrics: dict[str, float],
        actor: Any = None,
        environment: str | None = None,
    ) -> ExperimentRun:
        body = {
            "name": name,
            "params": params,
            "data_fingerprint": data_fingerprint,
            "rows": rows,
            "metrics": metrics,
            "environment": environment,
        }
        found = self.http.json("POST", f"/api/v1/experiments/{experiment}/runs", json=body)
        return ExperimentRun.from_dict(found)

    def runs(
        self,
        experiment: str,
        *,
        actor: Any = None,
        environment: str | None = None,
        rank_by: str | None = None,
    ) -> list[ExperimentRun]:
        params = {k: v for k, v in {"environment": environment, "rank_by": rank_by}.items() if v}
        found = self.http.json("GET", f"/api/v1/experiments/{experiment}/runs", params=params)
        return [ExperimentRun.from_dict(r) for r in found]
