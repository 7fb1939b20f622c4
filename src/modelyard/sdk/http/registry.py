"""The registry over HTTP: a path and a wire shape per method. Packages (``flavors``, YAML)
and the upload archive (``tarfile``) load only in the methods that handle them: reading the
registry needs neither."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from modelyard.artifacts.digests import digest_bytes
from modelyard.domain import errors as e
from modelyard.domain.entities import AliasChange, Model, ModelVersion, Page
from modelyard.domain.filters import parse_filter, search_scope
from modelyard.domain.names import ModelRef, parse_model_name, parse_ref
from modelyard.domain.reports import Baseline
from modelyard.domain.runtimes import EnvironmentCheck
from modelyard.sdk.http.transport import Http, RemoteFiles
from modelyard.wire.registry import CompileBody, EnsembleBody

if TYPE_CHECKING:
    from modelyard.flavors.staging import PackageSource, StagedPackage


class HttpRegistry:
    def __init__(self, http: Http, default_environment: str) -> None:
        self.http = http
        self.default_environment = default_environment

    def _ref(self, text: str, environment: str | None) -> ModelRef:
        return parse_ref(text, environment, default=self.default_environment)

    @staticmethod
    def _model(r: ModelRef) -> str:
        return f"/api/v1/models/{r.environment}/{r.name}"

    def _version(self, r: ModelRef) -> str:
        """The path of the version a reference names (``latest`` is an alias here)."""
        if r.version is not None:
            return f"{self._model(r)}/versions/{r.version}"
        return f"{self._model(r)}/aliases/{r.alias or 'latest'}"

    def _exact(self, ref: str, environment: str | None) -> str:
        """The path of a version by number, for changes (an alias is resolved first)."""
        r = self._ref(ref, environment)
        if r.version is None:
            found = self.http.get(self._version(r), ModelVersion)
            r = ModelRef(r.environment, r.name, found.version)
        return f"{self._model(r)}/versions/{r.version}"

    # registration
    def register_ensemble(
        self,
        name: str,
        members: list[str],
        *,
        combine: str = "mean",
        weights: list[float] | None = None,
        script: str | None = None,
        environment: str | None = None,
        tags: Mapping[str, str] | None = None,
        datasets: Iterable[str] = (),
        eval_datasets: Iterable[str] = (),
        description: str = "",
    ) -> ModelVersion:
        r = parse_model_name(name, environment, default=self.default_environment)
        body = EnsembleBody(
            members=list(members),
            combine=combine,
            weights=None if weights is None else list(weights),
            script=script,
            tags=dict(tags or {}),
            datasets=list(datasets),
            eval_datasets=list(eval_datasets),
            description=description,
        )
        return self.http.post(f"{self._model(r)}/ensembles", ModelVersion, body)

    def register_package(
        self,
        name: str,
        package: StagedPackage,
        *,
        environment: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        datasets: Iterable[str] = (),
        eval_datasets: Iterable[str] = (),
        description: str = "",
        source: str | None = None,
        git_commit: str | None = None,
    ) -> ModelVersion:
        from modelyard.wire import archive

        r = parse_model_name(name, environment, default=self.default_environment)
        metadata = {
            "tags": dict(tags or {}),
            "metrics": dict(metrics or {}),
            "params": {k: str(v) for k, v in (params or {}).items()},
            "datasets": list(datasets),
            "eval_datasets": list(eval_datasets),
            "description": description,
            "source": source,
            "git_commit": git_commit,
        }
        files = {
            info.digest: package.folder / path for path, info in package.manifest.files.items()
        }
        if package.manifest.size_bytes <= archive.MAX_BYTES:  # one request
            body = archive.write(metadata, package.manifest_bytes, files.items())
            return self.http.call(
                "POST",
                f"{self._model(r)}/upload",
                ModelVersion,
                content=body,
                headers={"Content-Type": archive.MEDIA_TYPE},
            )
        begun = self.http.request(
            "POST",
            "/api/v1/packages",
            json={"manifest": package.manifest_bytes.decode(), "environment": r.environment},
        ).json()
        for digest in sorted(set(begun["missing"]) & set(files)):
            with open(files[digest], "rb") as fh:
                self.http.send("PUT", f"/api/v1/packages/{begun['digest']}/files/{digest}", fh)
        commit = {"package_digest": begun["digest"], **metadata}
        return self.http.post(f"{self._model(r)}/versions", ModelVersion, commit)

    # reading
    def get_model(self, name: str, *, environment: str | None = None) -> Model:
        found = self.http.request("GET", self._model(self._ref(name, environment))).json()
        return self.http.codec.decode(Model, found["model"])

    def list_models(self, *, environment: str | None = None) -> list[Model]:
        return self.http.get("/api/v1/models", list[Model], environment=environment)

    def get_version(self, ref: str, *, environment: str | None = None) -> ModelVersion:
        return self.http.get(self._version(self._ref(ref, environment)), ModelVersion)

    def list_versions(self, name: str, *, environment: str | None = None) -> list[ModelVersion]:
        found = self.http.request("GET", self._model(self._ref(name, environment))).json()
        return self.http.codec.decode(list[ModelVersion], found["versions"])

    def search_versions(
        self,
        filter: str | None = None,
        *,
        order_by: list[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        environment: str | None = None,
    ) -> Page[ModelVersion]:
        body = {
            "filter": filter or "",
            "order_by": [order_by] if isinstance(order_by, str) else list(order_by or []),
            "max_results": max_results,
            "page_token": page_token,
            "environment": search_scope(
                environment, parse_filter(filter), self.default_environment
            ),
        }
        return self.http.post("/api/v1/versions/search", Page[ModelVersion], body)

    def get_baseline(self, ref: str, *, environment: str | None = None) -> Baseline:
        return self.http.get(self._exact(ref, environment) + "/baseline", Baseline)

    def compile_version(
        self,
        ref: str,
        *,
        to: str = "onnx",
        dataset: str | None = None,
        environment: str | None = None,
    ) -> ModelVersion:
        body = CompileBody(to=to, dataset=dataset)
        return self.http.post(self._exact(ref, environment) + "/compile", ModelVersion, body)

    def check_version(self, ref: str, *, environment: str | None = None) -> EnvironmentCheck:
        return self.http.get(self._exact(ref, environment) + "/environment", EnvironmentCheck)

    def package_source(self, ref: str, *, environment: str | None = None) -> PackageSource:
        from modelyard.flavors.staging import PackageSource

        base = self._exact(ref, environment)
        text = self.http.request("GET", f"{base}/manifest").json()["manifest"]
        return PackageSource(digest_bytes(text.encode()), text, RemoteFiles(self.http, base))

    # changing
    def set_alias(
        self, name: str, alias: str, version: int, *, environment: str | None = None
    ) -> AliasChange:
        path = f"{self._model(self._ref(name, environment))}/aliases/{alias}"
        return self.http.put(path, AliasChange, {"version": version})

    def delete_alias(self, name: str, alias: str, *, environment: str | None = None) -> AliasChange:
        path = f"{self._model(self._ref(name, environment))}/aliases/{alias}"
        return self.http.delete(path, AliasChange)

    def set_version_tags(
        self,
        ref: str,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        environment: str | None = None,
    ) -> ModelVersion:
        body = {"set": dict(tags), "remove": list(remove)}
        return self.http.patch(self._exact(ref, environment) + "/tags", ModelVersion, body)

    def set_model_tags(
        self,
        name: str,
        tags: Mapping[str, str],
        *,
        remove: Iterable[str] = (),
        description: str | None = None,
        environment: str | None = None,
    ) -> Model:
        body = {"set": dict(tags), "remove": list(remove), "description": description}
        return self.http.patch(self._model(self._ref(name, environment)), Model, body)

    def log_metrics(
        self, ref: str, metrics: Mapping[str, float], *, environment: str | None = None
    ) -> ModelVersion:
        body = {"metrics": {k: float(v) for k, v in metrics.items()}}
        return self.http.post(self._exact(ref, environment) + "/metrics", ModelVersion, body)

    def archive(
        self, ref: str, *, restore: bool = False, environment: str | None = None
    ) -> ModelVersion:
        path = self._exact(ref, environment) + "/archive"
        return self.http.post(path, ModelVersion, {"restore": restore})

    def delete_version(self, ref: str, *, environment: str | None = None) -> ModelVersion:
        r = self._ref(ref, environment)
        if r.version is None:
            raise e.InvalidInput(f"say which version of {r.model} to delete (NAME:VERSION)")
        return self.http.delete(self._version(r), ModelVersion)

    def delete_model(self, name: str, *, environment: str | None = None) -> Model:
        return self.http.delete(self._model(self._ref(name, environment)), Model)
