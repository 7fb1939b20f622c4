"""Datasets, monitoring and alerts over HTTP: the same methods as the embedded services."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from modelyard.domain.datasets import DatasetRef, DatasetVersion, parse_dataset_ref
from modelyard.domain.errors import InvalidInput, InvalidName
from modelyard.domain.monitoring import Alert, AlertRule
from modelyard.monitoring.tables import format_of, read_table
from modelyard.remote import Http

if TYPE_CHECKING:
    import pandas as pd


class RemoteDatasets:
    def __init__(self, http: Http, default_environment: str) -> None:
        self.http = http
        self.default_environment = default_environment

    def ref(self, text: str, environment: str | None = None) -> DatasetRef:
        return parse_dataset_ref(text, environment, self.default_environment)

    def _path(self, ref: DatasetRef) -> str:
        version = "latest" if ref.version is None else str(ref.version)
        return f"/api/v1/datasets/{ref.environment}/{ref.name}/versions/{version}"

    def register(
        self,
        name: str,
        source: Path | pd.DataFrame,
        *,
        actor: Any = None,
        environment: str | None = None,
        format: str | None = None,
        description: str = "",
        source_uri: str | None = None,
    ) -> DatasetVersion:
        target = self.ref(name, environment)
        if target.version is not None:
            raise InvalidName(f"register takes a dataset name, not a version: {name!r}", name=name)
        with tempfile.TemporaryDirectory() as tmp:
            if isinstance(source, str | Path):
                path = Path(source)
                if not path.is_file():
                    raise InvalidInput(f"no such file: {str(path)!r}")
                fmt = format_of(path, format)
                origin = source_uri or str(path.resolve())
            else:
                import pyarrow.parquet as pq

                path, fmt, origin = Path(tmp) / "frame.parquet", "parquet", "dataframe"
                pq.write_table(pa.Table.from_pandas(source, preserve_index=False), path)
            with open(path, "rb") as body:
                found = self.http.json(
                    "POST",
                    f"/api/v1/datasets/{target.environment}/{target.name}/versions",
                    params={"format": fmt, "description": description, "source": origin},
                    content=body,
                    headers={"Content-Type": "application/octet-stream"},
                )
        return DatasetVersion.from_dict(found)

    def get(self, ref: str, *, actor: Any = None, environment: str | None = None) -> DatasetVersion:
        return DatasetVersion.from_dict(
            self.http.json("GET", self._path(self.ref(ref, environment)))
        )

    def versions(
        self, name: str, *, actor: Any = None, environment: str | None = None
    ) -> list[DatasetVersion]:
        target = self.ref(name, environment)
        found = self.http.json(
            "GET", f"/api/v1/datasets/{target.environment}/{target.name}/versions"
        )
        return [DatasetVersion.from_dict(d) for d in found]

    def list_datasets(
        self, *, actor: Any = None, environment: str | None = None
    ) -> list[DatasetVersion]:
        params = {"env": environment} if environment else {}
        return [
            DatasetVersion.from_dict(d)
            for d in self.http.json("GET", "/api/v1/datasets", params=params)
        ]

    def read(self, ref: str, *, actor: Any = None, environment: str | None = None) -> pa.Table:
        target = self.ref(ref, environment)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data"
            with self.http.client.stream("GET", self._path(target) + "/content") as response:
                if response.status_code >= 400:
                    response.read()
                    self.http.check(response)
                fmt = response.headers.get("Modelyard-Format", "parquet")
                with open(path, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
            return read_table(path, fmt)


class RemoteMonitoring:
    def __init__(self, http: Http, datasets: RemoteDatasets) -> None:
        self.http = http
        self.datasets = datasets

    def report(
        self,
        deployment: str,
        *,
        actor: Any = None,
        since: Any = None,
        until: Any = None,
        against: str | None = None,
        store: bool = True,
    ) -> dict[str, Any]:
        params = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in {"since": since, "until": until, "against": against}.items()
            if v is not None
        }
        params["store"] = "true" if store else "false"
        return dict(
            self.http.json("GET", f"/api/v1/deployments/{deployment}/monitoring", params=params)
        )

    def history(self, deployment: str, *, actor: Any = None, limit: int = 100) -> list[Any]:
        return list(
            self.http.json(
                "GET",
                f"/api/v1/deployments/{deployment}/monitoring/history",
                params={"limit": limit},
            )
        )

    def stored(self, deployment: str, report_id: int, *, actor: Any = None) -> dict[str, Any]:
        path = f"/api/v1/deployments/{deployment}/monitoring/reports/{report_id}"
        return dict(self.http.json("GET", path))

    def add_feedback(self, deployment: str, items: Any, *, actor: Any = None) -> int:
        found = self.http.json("POST", f"/v1/deployments/{deployment}/feedback", json=items)
        return int(found["accepted"])

    def snapshot(
        self,
        name: str,
        *,
        deployment: str | None = None,
        dataset: str | None = None,
        actor: Any = None,
        since: Any = None,
        until: Any = None,
        with_feedback: bool = False,
        environment: str | None = None,
        description: str = "",
        drop: Any = (),
        mask: Any = (),
    ) -> DatasetVersion:
        if environment is None and "/" not in name and deployment is not None:
            environment = self.http.json("GET", f"/api/v1/deployments/{deployment}")["environment"]
        target = self.datasets.ref(name, environment)
        body = {
            "deployment": deployment,
            "dataset": dataset,
            "drop": list(drop),
            "mask": list(mask),
            "since": since.isoformat() if hasattr(since, "isoformat") else since,
            "until": until.isoformat() if hasattr(until, "isoformat") else until,
            "with_feedback": with_feedback,
            "description": description,
        }
        found = self.http.json(
            "POST", f"/api/v1/datasets/{target.environment}/{target.name}/snapshot", json=body
        )
        return DatasetVersion.from_dict(found)


class RemoteAlerts:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_rule(
        self,
        deployment: str,
        *,
        actor: Any = None,
        name: str,
        signal: str,
        threshold: float,
        op: str = ">",
        feature: str | None = None,
        window: str | int = "1h",
        every: str | int = "5m",
    ) -> AlertRule:
        body = {
            "deployment": deployment,
            "name": name,
            "signal": signal,
            "threshold": threshold,
            "op": op,
            "feature": feature,
            "window": str(window),
            "every": str(every),
        }
        return AlertRule.from_dict(self.http.json("POST", "/api/v1/alerts/rules", json=body))

    def list_rules(self, *, actor: Any = None, deployment: str | None = None) -> list[AlertRule]:
        params = {"deployment": deployment} if deployment else {}
        found = self.http.json("GET", "/api/v1/alerts/rules", params=params)
        return [AlertRule.from_dict(r) for r in found]

    def delete_rule(self, deployment: str, name: str, *, actor: Any = None) -> AlertRule:
        found = self.http.json("DELETE", f"/api/v1/alerts/rules/{deployment}/{name}")
        return AlertRule.from_dict(found)

    def list_alerts(
        self,
        *,
        actor: Any = None,
        deployment: str | None = None,
        state: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        params: dict[str, Any] = {"limit": limit}
        if deployment:
            params["deployment"] = deployment
        if state:
            params["state"] = state
        return [Alert.from_dict(a) for a in self.http.json("GET", "/api/v1/alerts", params=params)]

    def evaluate(self, deployment: str, *, actor: Any = None) -> list[dict[str, Any]]:
        found = self.http.json("POST", "/api/v1/alerts/evaluate", json={"deployment": deployment})
        return list(found)
