"""The SDK against a server: the same service methods as the embedded ones, over HTTP.

``Client`` picks this when ``MODELYARD_URL`` (or ``Client(url=...)``) is set. Each class
mirrors one service (``RegistryService``, ``AuthService``, ``DoctorService``) so the
client's code is the same both ways; the server decides who the caller is from the
token, so ``actor``/``by`` arguments are accepted and ignored here. Packages are staged
locally, then uploaded file by file, streamed, only the files the server lacks;
downloads are verified against their digests before anything is loaded.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from modelyard.artifacts.store import CHUNK, PREFIX, digest_bytes
from modelyard.domain import errors as e
from modelyard.domain.auth import IssuedToken, Token, User
from modelyard.domain.entities import (
    AliasChange,
    AuditEvent,
    DoctorFinding,
    DoctorReport,
    Lineage,
    Model,
    ModelVersion,
    Page,
)
from modelyard.domain.names import ModelRef, parse_ref
from modelyard.flavors.base import LoadedModel
from modelyard.services.packages import PackageService
from modelyard.settings import Settings

_ERRORS: dict[str, type[e.ModelyardError]] = {
    cls.code: cls
    for cls in (
        e.NotFound,
        e.Conflict,
        e.AlreadyExists,
        e.DependencyExists,
        e.InvalidInput,
        e.InvalidName,
        e.InvalidFilter,
        e.InvalidPackage,
        e.PermissionDenied,
        e.Unauthenticated,
        e.IntegrityFailure,
        e.StorageUnavailable,
        e.InvalidData,
        e.PayloadTooLarge,
        e.UnsupportedMediaType,
        e.Overloaded,
        e.ModelTimeout,
        e.ModelFailed,
        e.NotReady,
    )
}


class Http:
    """One httpx client; errors come back as the same exceptions the embedded API raises."""

    def __init__(self, url: str, token: str | None, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise e.StorageUnavailable(f"cannot reach {self.client.base_url}: {exc}") from None
        self.check(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    @staticmethod
    def check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()["error"]
            code, message, details = body["code"], body["message"], body.get("details") or {}
        except (ValueError, KeyError, TypeError):
            code, message, details = "internal", f"HTTP {response.status_code}", {}
        cls = _ERRORS.get(code, e.ModelyardError)
        raise cls(message, **details)

    def close(self) -> None:
        self.client.close()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def version_from(d: dict[str, Any]) -> ModelVersion:
    lineage = d["lineage"]
    return ModelVersion(
        environment=d["environment"],
        name=d["name"],
        version=d["version"],
        package_digest=d["package_digest"],
        flavor=d["flavor"],
        signature=d["signature"],
        requirements=tuple(d["requirements"]),
        size_bytes=d["size_bytes"],
        status=d["status"],
        description=d["description"],
        tags=d["tags"],
        metrics=d["metrics"],
        params=d["params"],
        aliases=tuple(d["aliases"]),
        lineage=Lineage(
            tuple(lineage["datasets"]),
            lineage["source"],
            lineage["git_commit"],
            lineage["promoted_from"],
        ),
        created_by=d["created_by"],
        created_at=datetime.fromisoformat(d["created_at"]),
        locked=bool(d.get("locked", False)),
    )


def model_from(d: dict[str, Any]) -> Model:
    return Model(
        environment=d["environment"],
        name=d["name"],
        description=d["description"],
        tags=d["tags"],
        aliases=d["aliases"],
        latest_version=d["latest_version"],
        created_at=datetime.fromisoformat(d["created_at"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
    )


def _alias_from(d: dict[str, Any]) -> AliasChange:
    return AliasChange(d["environment"], d["name"], d["alias"], d["version"], d["previous_version"])


def _user_from(d: dict[str, Any]) -> User:
    return User(
        d["name"],
        d["is_admin"],
        d["disabled"],
        {k: tuple(v) for k, v in d["roles"].items()},
        datetime.fromisoformat(d["created_at"]),
    )


def _token_from(d: dict[str, Any]) -> Token:
    return Token(
        d["id"],
        d["user"],
        d["name"],
        d["prefix"],
        datetime.fromisoformat(d["created_at"]),
        _time(d["expires_at"]),
        _time(d["last_used_at"]),
        _time(d["revoked_at"]),
    )


class RemoteFiles:
    """Package files of one version, fetched from the server and verified on arrival."""

    def __init__(self, http: Http, base: str) -> None:
        self.http = http
        self.base = base

    def get_file(self, digest: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        h = hashlib.sha256()
        try:
            with self.http.client.stream("GET", f"{self.base}/files/{digest}") as response:
                if response.status_code >= 400:
                    response.read()
                    Http.check(response)
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            if PREFIX + h.hexdigest() != digest:
                raise e.IntegrityFailure(f"downloaded file does not match {digest}", digest=digest)
            os.replace(tmp, dest)
        except httpx.HTTPError as exc:
            raise e.StorageUnavailable(f"download of {digest} failed: {exc}") from None
        finally:
            tmp.unlink(missing_ok=True)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


class RemoteRegistry:
    def __init__(self, http: Http, packages: PackageService, default_environment: str) -> None:
        self.http = http
        self.packages = packages
        self.default_environment = default_environment

    def _ref(self, text: str | ModelRef, environment: str | None) -> ModelRef:
        if isinstance(text, ModelRef):
            return text
        return parse_ref(text, environment, default=self.default_environment)

    @staticmethod
    def _path(r: ModelRef) -> str:
        return f"/api/v1/models/{r.environment}/{r.name}"

    def _version_path(self, r: ModelRef) -> str:
        if r.version is not None:
            return f"{self._path(r)}/versions/{r.version}"
        if r.alias is not None and r.alias != "latest":
            return f"{self._path(r)}/aliases/{r.alias}"
        detail = self.http.json("GET", self._path(r))
        if not detail["versions"]:
            raise e.NotFound(f"model {r.model} has no versions")
        return f"{self._path(r)}/versions/{detail['versions'][-1]['version']}"

    def _resolved(self, r: ModelRef) -> ModelRef:
        if r.version is not None:
            return r
        v = version_from(self.http.json("GET", self._version_path(r)))
        return ModelRef(r.environment, r.name, v.version)

    # registration
    def register(
        self,
        name: str,
        source: Any,
        *,
        actor: Any = None,
        environment: str | None = None,
        input_example: Any = None,
        flavor: str | None = None,
        **metadata: Any,
    ) -> ModelVersion:
        r = self._ref(name, environment)
        if r.version is not None or r.alias is not None:
            raise e.InvalidName(f"register takes a model name, not a version: {name!r}")
        with self.packages.stage(source, input_example=input_example, flavor=flavor) as staged:
            begun = self.http.json(
                "POST",
                "/api/v1/packages",
                json={"manifest": staged.manifest_bytes.decode(), "environment": r.environment},
            )
            missing = set(begun["missing"])
            for file, info in sorted(staged.manifest.files.items()):
                if info.digest in missing:
                    missing.discard(info.digest)
                    self.http.request(
                        "PUT",
                        f"/api/v1/packages/{begun['digest']}/files/{info.digest}",
                        content=_chunks(staged.folder / file),
                        headers={"Content-Type": "application/octet-stream"},
                    )
            body = {
                "package_digest": begun["digest"],
                "tags": dict(metadata.get("tags") or {}),
                "metrics": dict(metadata.get("metrics") or {}),
                "params": {k: str(v) for k, v in (metadata.get("params") or {}).items()},
                "datasets": list(metadata.get("datasets") or ()),
                "eval_datasets": list(metadata.get("eval_datasets") or ()),
                "description": metadata.get("description") or "",
                "source": metadata.get("source_uri"),
                "git_commit": metadata.get("git_commit"),
            }
            return version_from(self.http.json("POST", f"{self._path(r)}/versions", json=body))

    # reading
    def get_model(self, ref: Any, *, actor: Any = None, environment: str | None = None) -> Model:
        r = self._ref(ref, environment)
        return model_from(self.http.json("GET", self._path(r))["model"])

    def list_models(self, *, actor: Any = None, environment: str | None = None) -> list[Model]:
        params = {"environment": environment} if environment else {}
        return [model_from(m) for m in self.http.json("GET", "/api/v1/models", params=params)]

    def get_version(
        self, ref: Any, *, actor: Any = None, environment: str | None = None
    ) -> ModelVersion:
        return version_from(self.http.json("GET", self._version_path(self._ref(ref, environment))))

    def baseline(
        self, ref: Any, *, actor: Any = None, environment: str | None = None
    ) -> dict[str, Any]:
        version = self.get_version(ref, environment=environment)
        path = f"/api/v1/models/{version.environment}/{version.name}/versions/{version.version}"
        return dict(self.http.json("GET", path + "/baseline"))

    def list_versions(
        self, ref: Any, *, actor: Any = None, environment: str | None = None
    ) -> list[ModelVersion]:
        r = self._ref(ref, environment)
        return [version_from(v) for v in self.http.json("GET", self._path(r))["versions"]]

    def search_versions(
        self,
        filter: str | None = None,
        *,
        order_by: Any = None,
        max_results: int = 100,
        page_token: str | None = None,
        environment: str | None = None,
        actor: Any = None,
    ) -> Page[ModelVersion]:
        order = [order_by] if isinstance(order_by, str) else list(order_by or [])
        page = self.http.json(
            "POST",
            "/api/v1/versions/search",
            json={
                "filter": filter or "",
                "order_by": order,
                "max_results": max_results,
                "page_token": page_token,
                "environment": environment,
            },
        )
        return Page([version_from(v) for v in page["items"]], page["next_page_token"])

    def load_model(
        self, ref: Any, *, actor: Any = None, environment: str | None = None
    ) -> LoadedModel:
        r = self._resolved(self._ref(ref, environment))
        base = f"{self._path(r)}/versions/{r.version}"
        text = self.http.json("GET", f"{base}/manifest")["manifest"]
        return self.packages.load(digest_bytes(text.encode()), text, RemoteFiles(self.http, base))

    # changing
    def set_alias(
        self,
        model: Any,
        alias: str,
        version: int,
        *,
        actor: Any = None,
        environment: str | None = None,
    ) -> AliasChange:
        r = self._ref(model, environment)
        return _alias_from(
            self.http.json("PUT", f"{self._path(r)}/aliases/{alias}", json={"version": version})
        )

    def delete_alias(
        self, model: Any, alias: str, *, actor: Any = None, environment: str | None = None
    ) -> AliasChange:
        r = self._ref(model, environment)
        return _alias_from(self.http.json("DELETE", f"{self._path(r)}/aliases/{alias}"))

    def set_version_tags(
        self,
        ref: Any,
        tags: Any,
        *,
        actor: Any = None,
        remove: Any = (),
        environment: str | None = None,
    ) -> ModelVersion:
        r = self._resolved(self._ref(ref, environment))
        return version_from(
            self.http.json(
                "PATCH",
                f"{self._path(r)}/versions/{r.version}/tags",
                json={"set": dict(tags), "remove": list(remove)},
            )
        )

    def set_version_metrics(
        self, ref: Any, metrics: Any, *, actor: Any = None, environment: str | None = None
    ) -> ModelVersion:
        r = self._resolved(self._ref(ref, environment))
        return version_from(
            self.http.json(
                "POST",
                f"{self._path(r)}/versions/{r.version}/metrics",
                json={"metrics": {k: float(v) for k, v in metrics.items()}},
            )
        )

    def set_model_tags(
        self,
        ref: Any,
        tags: Any,
        *,
        actor: Any = None,
        remove: Any = (),
        environment: str | None = None,
        description: str | None = None,
    ) -> Model:
        r = self._ref(ref, environment)
        return model_from(
            self.http.json(
                "PATCH",
                self._path(r),
                json={"set": dict(tags), "remove": list(remove), "description": description},
            )
        )

    def archive(
        self,
        ref: Any,
        *,
        actor: Any = None,
        environment: str | None = None,
        restore: bool = False,
    ) -> ModelVersion:
        r = self._resolved(self._ref(ref, environment))
        return version_from(
            self.http.json(
                "POST", f"{self._path(r)}/versions/{r.version}/archive", json={"restore": restore}
            )
        )

    def delete_version(
        self, ref: Any, *, actor: Any = None, environment: str | None = None
    ) -> ModelVersion:
        r = self._ref(ref, environment)
        if r.version is None:
            raise e.InvalidInput(f"say which version of {r.model} to delete (NAME:VERSION)")
        return version_from(self.http.json("DELETE", f"{self._path(r)}/versions/{r.version}"))

    def delete_model(self, ref: Any, *, actor: Any = None, environment: str | None = None) -> Model:
        r = self._ref(ref, environment)
        return model_from(self.http.json("DELETE", self._path(r)))


class RemoteAuth:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_user(self, name: str, *, by: Any = None, is_admin: bool = False) -> User:
        return _user_from(
            self.http.json("POST", "/api/v1/users", json={"name": name, "is_admin": is_admin})
        )

    def list_users(self, *, by: Any = None) -> list[User]:
        return [_user_from(u) for u in self.http.json("GET", "/api/v1/users")]

    def grant(self, name: str, environment: str, role: str, *, by: Any = None) -> User:
        return _user_from(
            self.http.json(
                "POST",
                f"/api/v1/users/{name}/roles",
                json={"environment": environment, "role": role},
            )
        )

    def revoke(self, name: str, environment: str, role: str, *, by: Any = None) -> User:
        return _user_from(
            self.http.json("DELETE", f"/api/v1/users/{name}/roles/{environment}/{role}")
        )

    def create_token(
        self,
        *,
        by: Any = None,
        name: str,
        user: str | None = None,
        expires_in_days: int | None = None,
    ) -> IssuedToken:
        d = self.http.json(
            "POST",
            "/api/v1/tokens",
            json={"name": name, "user": user, "expires_in_days": expires_in_days},
        )
        return IssuedToken(_token_from(d["token"]), d["secret"])

    def list_tokens(self, *, by: Any = None, user: str | None = None) -> list[Token]:
        params = {"user": user} if user else {}
        return [_token_from(t) for t in self.http.json("GET", "/api/v1/tokens", params=params)]

    def revoke_token(self, token_id: int, *, by: Any = None) -> Token:
        return _token_from(self.http.json("DELETE", f"/api/v1/tokens/{token_id}"))


class RemoteDoctor:
    def __init__(self, http: Http) -> None:
        self.http = http

    def check(self, *, by: Any = None, deep: bool = True, gc: bool = False) -> DoctorReport:
        d = self.http.json(
            "POST", "/api/v1/doctor", params={"quick": str(not deep).lower(), "gc": str(gc).lower()}
        )
        return DoctorReport(
            [
                DoctorFinding(f["severity"], f["kind"], f["subject"], f["message"])
                for f in d["findings"]
            ],
            versions_checked=d["versions_checked"],
            objects_checked=d["objects_checked"],
        )


class RemoteServices:
    """What ``Client`` uses when it talks to a server."""

    def __init__(self, settings: Settings) -> None:
        assert settings.url
        token = settings.token.get_secret_value() if settings.token else None
        self.settings = settings
        self.http = Http(settings.url, token)
        home = settings.resolved_home
        self.packages = PackageService(None, home / "tmp", settings.cache_dir)  # type: ignore[arg-type]
        self.registry = RemoteRegistry(self.http, self.packages, settings.environment)
        self.auth = RemoteAuth(self.http)
        self.doctor = RemoteDoctor(self.http)
        from modelyard.remote_deployments import RemoteDeployments  # imports this module

        self.deployments = RemoteDeployments(self.http)
        from modelyard.remote_monitoring import RemoteAlerts, RemoteDatasets, RemoteMonitoring

        self.datasets = RemoteDatasets(self.http, settings.environment)
        self.monitoring = RemoteMonitoring(self.http, self.datasets)
        self.alerts = RemoteAlerts(self.http)
        from modelyard.remote_promotions import (
            RemoteBundles,
            RemoteEvaluations,
            RemoteExperiments,
            RemotePromotions,
        )

        self.evaluations = RemoteEvaluations(self.http)
        self.promotions = RemotePromotions(self.http)
        self.bundles = RemoteBundles(self.http)
        self.experiments = RemoteExperiments(self.http)
        self.local_actor = "remote"

    def audit_events(
        self,
        *,
        by: Any = None,
        subject_prefix: str | None = None,
        action: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEvent]:
        params: dict[str, Any] = {"after": after_seq, "limit": limit}
        if subject_prefix:
            params["subject"] = subject_prefix
        if action:
            params["action"] = action
        return [
            AuditEvent(
                d["seq"],
                datetime.fromisoformat(d["time"]),
                d["actor"],
                d["action"],
                d["subject"],
                d["before"],
                d["after"],
                d["prev_hash"],
                d["hash"],
            )
            for d in self.http.json("GET", "/api/v1/audit", params=params)
        ]

    def close(self) -> None:
        self.http.close()
