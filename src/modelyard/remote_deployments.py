"""``DeploymentService`` over HTTP, and remote batch scoring through the scoring route."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

from modelyard.domain.deployments import (
    Deployment,
    Revision,
    ScoringKey,
    ServingOptions,
    Variant,
)
from modelyard.remote import Http
from modelyard.services.deployments import pick_batch_variant
from modelyard.serving.scorer import Output

REQUEST_ROWS = 5_000  # rows per scoring request when a file is scored through a server


def revision_from(name: str, d: dict[str, Any]) -> Revision:
    return Revision(
        deployment=name,
        number=d["number"],
        variants=tuple(Variant.from_dict(v) for v in d["variants"]),
        options=ServingOptions.from_dict(d["options"]),
        action=d["action"],
        rolled_back_to=d["rolled_back_to"],
        created_by=d["created_by"],
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def deployment_from(d: dict[str, Any]) -> Deployment:
    return Deployment(
        name=d["name"],
        environment=d["environment"],
        description=d["description"],
        revision=revision_from(d["name"], d["revision"]),
        keys=tuple(
            ScoringKey(k["slot"], k["prefix"], datetime.fromisoformat(k["created_at"]))
            for k in d["keys"]
        ),
        created_by=d["created_by"],
        created_at=datetime.fromisoformat(d["created_at"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
        new_keys=d.get("new_keys") or {},
    )


class RemoteDeployments:
    def __init__(self, http: Http) -> None:
        self.http = http

    def get(self, name: str, *, actor: Any = None) -> Deployment:
        return deployment_from(self.http.json("GET", f"/api/v1/deployments/{name}"))

    def list_deployments(
        self, *, actor: Any = None, environment: str | None = None
    ) -> list[Deployment]:
        params = {"environment": environment} if environment else {}
        return [
            deployment_from(d) for d in self.http.json("GET", "/api/v1/deployments", params=params)
        ]

    def revisions(self, name: str, *, actor: Any = None) -> list[Revision]:
        return [
            revision_from(name, r)
            for r in self.http.json("GET", f"/api/v1/deployments/{name}/revisions")
        ]

    def create(
        self,
        name: str,
        models: list[str],
        *,
        actor: Any = None,
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
        return deployment_from(self.http.json("POST", "/api/v1/deployments", json=body))

    def update(
        self,
        name: str,
        models: list[str] | None = None,
        *,
        actor: Any = None,
        shadows: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        body = {"models": models, "shadows": shadows, "options": options or None}
        return deployment_from(self.http.json("PATCH", f"/api/v1/deployments/{name}", json=body))

    def rollback(self, name: str, *, actor: Any = None, to: int | None = None) -> Deployment:
        return deployment_from(
            self.http.json("POST", f"/api/v1/deployments/{name}/rollback", json={"to": to})
        )

    def delete(self, name: str, *, actor: Any = None) -> Deployment:
        return deployment_from(self.http.json("DELETE", f"/api/v1/deployments/{name}"))

    def regenerate_key(self, name: str, slot: str, *, actor: Any = None) -> Deployment:
        return deployment_from(
            self.http.json("POST", f"/api/v1/deployments/{name}/keys", json={"regenerate": slot})
        )

    def batch_variant(
        self, name: str, *, actor: Any = None, variant: str | None = None
    ) -> tuple[Deployment, Variant]:
        deployment = self.get(name)
        return deployment, pick_batch_variant(deployment, variant)

    def score_frame(self, name: str, variant: str, frame: pd.DataFrame) -> Output:
        """Score checked rows through the server's scoring route, pinned to ``variant``."""
        predictions: list[Any] = []
        probabilities: list[Any] = []
        for start in range(0, len(frame), REQUEST_ROWS):
            part = frame.iloc[start : start + REQUEST_ROWS]
            split = {
                "columns": [str(c) for c in part.columns],
                "data": _rows(part),
            }
            response = self.http.request(
                "POST",
                f"/v1/deployments/{name}/predict",
                content=orjson.dumps({"dataframe_split": split}),
                headers={"content-type": "application/json", "modelyard-variant": variant},
            )
            Http.check(response)
            answer = orjson.loads(response.content)
            predictions.extend(answer["predictions"])
            if "probabilities" in answer:
                probabilities.extend(answer["probabilities"])
        proba = np.asarray(probabilities, dtype=np.float64) if probabilities else None
        return Output(np.asarray(predictions), proba)


def _rows(frame: pd.DataFrame) -> list[list[Any]]:
    converted = frame.astype(object).where(frame.notna(), None)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
            converted[name] = frame[name].map(lambda t: None if pd.isna(t) else t.isoformat())
    rows: list[list[Any]] = converted.to_numpy().tolist()
    return rows
