"""What every caller of an installation shares, built once from ``Settings`` in dependency
order; ``bind`` gives one caller's view of the services (``Scope``). The CLI, the SDK and
the server all start here."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from modelyard.artifacts.store import ArtifactStore, open_store
from modelyard.domain.auth import Principal, local_admin
from modelyard.domain.clock import utcnow
from modelyard.domain.deployments import ServingState
from modelyard.domain.errors import NotFound, StorageUnavailable
from modelyard.flavors.package import Manifest
from modelyard.flavors.registry import Flavors
from modelyard.flavors.staging import Packager, PackageSource
from modelyard.monitoring.lake import Lake
from modelyard.runtimes.environments import Environments, Indexes
from modelyard.runtimes.host import InProcessHost, ModelHost, WorkerHost
from modelyard.services.auth import Authenticator
from modelyard.services.deployments import Scorers
from modelyard.services.packages import PackageStore
from modelyard.services.scope import Scope
from modelyard.services.versions import ManifestCache
from modelyard.settings import Settings
from modelyard.store import migrate
from modelyard.store.database import Database
from modelyard.store.unit import Store


@dataclass
class Services:
    settings: Settings
    home: Path  # ``settings.resolved_home``, resolved once
    db: Database
    store: Store
    artifacts: ArtifactStore
    collected: Lake  # scored rows: in the home, or beside the artifacts every node shares
    feedback: Lake
    flavors: Flavors
    packager: Packager
    packages: PackageStore
    manifests: ManifestCache
    scorers: Scorers
    authenticator: Authenticator
    models: ModelHost

    @classmethod
    def open(
        cls, settings: Settings, *, database_may_be_away: bool = False, server: bool = False
    ) -> Services:
        """Open the stores, bringing the schema up to date. A server worker opens with
        ``database_may_be_away``: its supervisor brought the schema up to date before it
        started, and a worker started during an outage must serve what it can and wait
        for the database (every call meanwhile answers 503). A ``server`` runs model code
        only in model workers (``runtimes.host``); embedded use runs it in this process."""
        home = settings.resolved_home
        home.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url, timeout=settings.db_timeout)
        try:
            try:
                migrate.upgrade(db, home)
            except StorageUnavailable as e:
                if not database_may_be_away:
                    raise
                db.outage.failed(e.message)
            artifacts = open_store(settings.artifacts_url, settings.artifacts_options)
            collected = collected_lake(settings)
        except BaseException:
            db.dispose()
            raise
        flavors = Flavors()
        store = Store(db)
        return cls(
            settings=settings,
            home=home,
            db=db,
            store=store,
            artifacts=artifacts,
            collected=collected,
            feedback=collected.beside("feedback"),
            flavors=flavors,
            packager=Packager(flavors, home / "tmp", settings.cache_dir),
            packages=PackageStore(artifacts),
            manifests=ManifestCache(),
            scorers=Scorers(),
            authenticator=Authenticator(store),
            models=worker_host(settings, home, server)
            if server
            else InProcessHost(flavors, worker_host(settings, home, server)),
        )

    def bind(self, principal: Principal) -> Scope:
        """Every service as ``principal`` sees them: each checks what it may do."""
        return Scope(self, principal)

    def local(self) -> Scope:
        """The embedded home's view: its single local admin."""
        return self.bind(local_admin(self.local_actor))

    @property
    def local_actor(self) -> str:
        """The embedded home's single local admin."""
        if self.settings.actor:
            return self.settings.actor
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "local"

    # -- what the scoring runtime needs (``serving.runtime.Backend``) ------------------------
    @property
    def auth_enabled(self) -> bool:
        return self.settings.auth

    def serving_states(self) -> list[ServingState]:
        with self.store.read() as tx:
            return tx.deployments.serving_states()

    def serving_changes(self) -> int:
        with self.store.read() as tx:
            return tx.deployments.serving_changes()

    def report_serving(self, worker: str, served: dict[str, Any]) -> None:
        with self.store.write() as tx:
            tx.workers.report(worker, served, utcnow())

    def forget_worker(self, worker: str) -> None:
        """Its row, and those of workers silent for an hour (killed, never to return)."""
        with self.store.write() as tx:
            tx.workers.forget(worker, before=utcnow() - timedelta(hours=1))

    def package_folder(self, digest: str) -> tuple[Path, Manifest]:
        """A stored package's verified local folder, by digest: the runtime serves what a
        revision pinned (permission was checked when it was deployed). With the database
        away, its manifest comes from the artifact store, where it is kept under the
        package's digest and verified against it as it is read."""
        try:
            with self.store.read() as tx:
                text = tx.packages.manifest(digest)
        except StorageUnavailable:
            text = self.artifacts.get_bytes(digest).decode()
        if text is None:
            raise NotFound(f"package {digest} does not exist")
        return self.packager.materialize(PackageSource(digest, text, self.artifacts))

    def authenticate(self, secret: str | None) -> Principal:
        return self.authenticator.authenticate(secret)

    def cached_principal(self, secret: str) -> Principal | None:
        return self.authenticator.cached(secret)

    def close(self) -> None:
        self.models.close()
        self.db.dispose()


def indexes_of(settings: Settings) -> Indexes:
    """Where environments' wheels come from, as the settings say."""
    return Indexes(
        settings.index_url,
        tuple(settings.extra_index_urls.split()),
        tuple(settings.find_links.split()),
    )


def collected_lake(settings: Settings) -> Lake:
    """Where scored rows go (``Settings.collected_url``); an object store's URL is opened
    with the artifact store's options (its endpoint, its credentials)."""
    return Lake.open(settings.collected_url, settings.artifacts_options)


def worker_host(settings: Settings, home: Path, server: bool) -> WorkerHost:
    """Model workers that can see neither the home nor a local artifact store. Embedded
    use runs only the models whose environment differs from the caller's in them."""
    hidden = [home]
    url = settings.artifacts_url
    if url and "://" not in url:
        hidden.append(Path(url).expanduser().resolve())
    elif url and url.startswith("file://"):
        hidden.append(Path(url.removeprefix("file://")).resolve())
    loop: asyncio.AbstractEventLoop | None = None
    if server:  # a server opens its services on its event loop, which then reads model replies
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
    environments = Environments(settings.cache_dir / "envs", indexes_of(settings))
    return WorkerHost(
        settings.cache_dir / "workers", settings.cache_dir / "packages", hidden, loop, environments
    )
