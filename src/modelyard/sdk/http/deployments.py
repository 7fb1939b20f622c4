"""Deployments over HTTP; batch scoring through the deployment's scoring route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.domain.deployments import BatchTarget, Deployment, Revision, Rollout
from modelyard.sdk.http.transport import Http

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.runtimes.scorer import Output

REQUEST_ROWS = 5_000  # rows per scoring request when a file is scored through a server


class HttpDeployments:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_deployment(
        self,
        name: str,
        models: list[str],
        *,
        environment: str | None = None,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
        description: str = "",
    ) -> Deployment:
        body = {
            "name": name,
            "models": models,
            "shadows": shadows or [],
            "environment": environment,
            "description": description,
            "options": options or None,
        }
        return self.http.post("/api/v1/deployments", Deployment, body)

    def update_deployment(
        self,
        name: str,
        models: list[str] | None = None,
        *,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        body = {"models": models, "shadows": shadows, "options": options or None}
        return self.http.patch(f"/api/v1/deployments/{name}", Deployment, body)

    def rollback_deployment(self, name: str, *, to: int | None = None) -> Deployment:
        return self.http.post(f"/api/v1/deployments/{name}/rollback", Deployment, {"to": to})

    def get_deployment(self, name: str) -> Deployment:
        return self.http.get(f"/api/v1/deployments/{name}", Deployment)

    def list_deployments(self, *, environment: str | None = None) -> list[Deployment]:
        return self.http.get("/api/v1/deployments", list[Deployment], environment=environment)

    def wait_deployment(
        self, name: str, *, revision: int | None = None, timeout: float = 60.0
    ) -> Rollout:
        params = {"revision": revision, "timeout": timeout}
        answer = self.http.request(
            "POST",
            f"/api/v1/deployments/{name}/wait",
            params={k: v for k, v in params.items() if v is not None},
            timeout=timeout + 30,  # the server answers within ``timeout``
        )
        return self.http.codec.decode(Rollout, answer.json())

    def list_revisions(self, name: str) -> list[Revision]:
        return self.http.get(f"/api/v1/deployments/{name}/revisions", list[Revision])

    def delete_deployment(self, name: str) -> Deployment:
        return self.http.delete(f"/api/v1/deployments/{name}", Deployment)

    def regenerate_key(self, name: str, slot: str) -> Deployment:
        path = f"/api/v1/deployments/{name}/keys"
        return self.http.post(path, Deployment, {"regenerate": slot})

    def batch_target(self, name: str, *, variant: str | None = None) -> BatchTarget:
        path = f"/api/v1/deployments/{name}/batch-target"
        return self.http.get(path, BatchTarget, variant=variant)

    def score_frame(
        self, name: str, variant: str, frame: pd.DataFrame, *, explain: int = 0
    ) -> Output:
        """Score checked rows through the server's scoring route, pinned to ``variant``."""
        import numpy as np
        import orjson

        from modelyard.runtimes.explain import Factors
        from modelyard.runtimes.scorer import Output
        from modelyard.serving.protocols import MAX_EXPLAIN_ROWS

        predictions: list[Any] = []
        probabilities: list[Any] = []
        explained: list[dict[str, Any]] = []
        method = output = ""
        step = min(REQUEST_ROWS, MAX_EXPLAIN_ROWS) if explain else REQUEST_ROWS
        for start in range(0, len(frame), step):
            part = frame.iloc[start : start + step]
            split = {"columns": [str(c) for c in part.columns], "data": _rows(part)}
            body: dict[str, Any] = {"dataframe_split": split}
            if explain:
                body["explain"] = explain
            response = self.http.request(
                "POST",
                f"/v1/deployments/{name}/predict",
                content=orjson.dumps(body),
                headers={"content-type": "application/json", "modelyard-variant": variant},
            )
            answer = orjson.loads(response.content)
            predictions.extend(answer["predictions"])
            if "probabilities" in answer:
                probabilities.extend(answer["probabilities"])
            if "explanations" in answer:
                method = answer["explanations"]["method"]
                output = answer["explanations"]["output"]
                explained.extend(answer["explanations"]["rows"])
        proba = np.asarray(probabilities, dtype=np.float64) if probabilities else None
        factors = None
        if explained:
            factors = Factors(
                method,
                output,
                np.asarray([r["base"] for r in explained], dtype=np.float64),
                np.asarray([[f["feature"] for f in r["factors"]] for r in explained], dtype=object),
                np.asarray(
                    [[f["contribution"] for f in r["factors"]] for r in explained],
                    dtype=np.float64,
                ),
            )
        return Output(np.asarray(predictions), proba, factors)


def _rows(frame: pd.DataFrame) -> list[list[Any]]:
    import pandas as pd

    converted = frame.astype(object).where(frame.notna(), None)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
            converted[name] = frame[name].map(lambda t: None if pd.isna(t) else t.isoformat())
    rows: list[list[Any]] = converted.to_numpy().tolist()
    return rows
