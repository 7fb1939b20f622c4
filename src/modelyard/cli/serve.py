"""``modelyard serve`` (the scoring runtime alone), ``modelyard export --edge``,
``modelyard image`` and ``modelyard edge sync``."""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelyard.cli import output
from modelyard.cli.common import JsonOpt, client

if TYPE_CHECKING:
    from fastapi import FastAPI

    from modelyard.runtimes.host import ModelHost
    from modelyard.serving.runtime import Backend

edge_app = typer.Typer(help="Scored rows kept on a device, sent back to a server.")


def serve(
    folders: Annotated[
        list[Path] | None, typer.Argument(help="Edge exports to serve (modelyard export --edge).")
    ] = None,
    follow: Annotated[
        str | None,
        typer.Option("--follow", help="Follow this server's deployments (token: MODELYARD_TOKEN)."),
    ] = None,
    deployment: Annotated[
        list[str] | None,
        typer.Option("--deployment", "-d", metavar="NAME", help="Only these deployments."),
    ] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust", metavar="KEY", help="Accept exports signed by this public key only."
        ),
    ] = None,
    collect: Annotated[
        str | None,
        typer.Option(
            "--collect",
            "--collect-dir",
            metavar="URL",
            help="Where scored rows are kept: a folder or an object store URL (s3://…). "
            "Default: the export's folder; following, beside MODELYARD_ARTIFACTS when set "
            "(where the server reads them), else the home.",
        ),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8600).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes.")] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="HOST:PORT",
            help="Serve as a Ray Serve application on this Ray cluster (its replicas, "
            "Ray's HTTP proxy on --host/--port) instead of worker processes.",
        ),
    ] = None,
    replicas: Annotated[
        int, typer.Option("--replicas", help="With --ray: replicas (the fewest, autoscaling).")
    ] = 1,
    max_replicas: Annotated[
        int | None,
        typer.Option("--max-replicas", help="With --ray: autoscale up to this many replicas."),
    ] = None,
) -> None:
    """Serve deployments with the scoring runtime alone (no control plane, no database):
    from edge exports, or following a server with a scoring-only credential. Serving one
    deployment, it also answers MLflow's /ping, /health, /version and /invocations. With
    --ray, the same app runs as the replicas of a Ray Serve application."""
    from modelyard.cli.server import run
    from modelyard.cli.worker import SPEC_ENV
    from modelyard.domain.errors import InvalidInput
    from modelyard.sdk.http import HttpApi
    from modelyard.services.auth import check_bind
    from modelyard.services.exports import COLLECTED, verify_export
    from modelyard.settings import Settings

    settings = Settings()
    if bool(folders) == bool(follow):
        raise InvalidInput("serve either edge export folders or --follow URL, one of the two")
    trusted = tuple(trust or ()) or tuple(os.environ.get("MODELYARD_TRUSTED_KEYS", "").split())
    for folder in folders or ():
        found = verify_export(folder.resolve(), trusted)  # refused here: before any worker
        named = found["deployment"]["name"]
        if deployment and named not in deployment:
            raise InvalidInput(f"{folder} exports deployment {named!r}, not one of those named")
    host = host or settings.host
    port = port if port is not None else settings.port
    check_bind(host, settings.auth)
    if collect is None:
        collect = str(folders[0].resolve() / COLLECTED) if folders else settings.collected_url
    spec = {
        "folders": [str(f.resolve()) for f in folders or ()],
        "follow": follow,
        "deployments": deployment or None,
        "trusted": list(trusted),
        "collected": collect,
    }
    if ray:
        from modelyard.serving import rayserve
        from modelyard.serving.raydata import check_address

        if workers:
            raise InvalidInput("--workers is for worker processes; with --ray, say --replicas")
        bounds = rayserve.Replicas(replicas, max_replicas or replicas)
        check_address(ray)
        if follow:  # replicas take traffic once loaded: a server away would hold them
            probe = HttpApi(follow, _token(settings), settings.environment)
            try:
                probe.edge.serving_changes()
            finally:
                probe.close()
        rayserve.serve(
            scoring_app, spec, settings, address=ray, host=host, port=port, replicas=bounds,
            announce=lambda line: output.console.print(line, markup=False),
        )  # fmt: skip
        return
    if replicas != 1 or max_replicas is not None:
        raise InvalidInput("--replicas and --max-replicas are for --ray")
    os.environ[SPEC_ENV] = json.dumps(spec)
    run("modelyard.cli.worker:serve_scoring", host, port, workers or settings.workers, settings)


def scoring_app(spec: dict[str, Any], settings: Any = None) -> "FastAPI":
    """The app one worker of ``modelyard serve`` runs, from the spec ``serve`` wrote."""
    from modelyard.api.serve import create_scoring_app
    from modelyard.monitoring.lake import Lake
    from modelyard.settings import Settings

    settings = settings or Settings()
    collected = Lake.open(spec["collected"], settings.artifacts_options)
    return create_scoring_app(
        lambda models: backend(spec, settings, models), collected=collected, settings=settings
    )


def backend(spec: dict[str, Any], settings: Any, models: "ModelHost") -> "Backend":
    """Where the deployments of ``spec`` come from: its edge folders, or the server it
    follows (with ``settings``' token)."""
    from modelyard.flavors.registry import Flavors
    from modelyard.flavors.staging import Packager
    from modelyard.sdk.http import HttpApi
    from modelyard.serving.backends import FolderBackend, RemoteBackend

    if spec["folders"]:
        folders = [Path(f) for f in spec["folders"]]
        return FolderBackend(folders, models, auth=settings.auth, trusted=tuple(spec["trusted"]))
    api = HttpApi(spec["follow"], _token(settings), settings.environment)

    def whoami(secret: str) -> Any:
        caller = HttpApi(spec["follow"], secret, settings.environment)
        try:
            return caller.access.whoami()
        finally:
            caller.close()

    packager = Packager(Flavors(), settings.resolved_home / "tmp", settings.cache_dir)
    return RemoteBackend(
        api.edge, whoami, packager, models, deployments=spec["deployments"], auth=settings.auth
    )


def _token(settings: Any) -> str | None:
    return settings.token.get_secret_value() if settings.token else None


def export(
    deployment: Annotated[str, typer.Argument(help="The deployment to export.")],
    output_dir: Annotated[Path, typer.Option("--output", "-o", help="The folder to write.")],
    key: Annotated[str, typer.Option("--key", "-k", help="Signing key name.")],
    edge: Annotated[
        bool, typer.Option("--edge", help="A self-contained folder that serves offline.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Write a deployment as a signed folder that `modelyard serve DIR` serves with no
    server: packages, wheels (modelyard's own too), requirements.txt, a start script."""
    from modelyard.domain.errors import InvalidInput

    if not edge:
        raise InvalidInput("say --edge: the only export of a deployment is the edge folder")
    with client() as c:
        info = c.export_edge(deployment, output_dir, key=key)
    if json_:
        output.emit_json(info)
    else:
        output.console.print(
            f"wrote {output_dir}: deployment {deployment} revision {info['revision']}, "
            f"{info['files']} files signed with key {info['key_id']}. Install it with "
            f"pip install --no-index --find-links {output_dir}/wheels -r "
            f"{output_dir}/requirements.txt, then run modelyard serve {output_dir}",
            markup=False,
        )


def image(
    deployment: Annotated[str, typer.Argument(help="The deployment to package.")],
    output_dir: Annotated[Path, typer.Option("--output", "-o", help="The build context.")],
    key: Annotated[str, typer.Option("--key", "-k", help="Signing key name.")],
    json_: JsonOpt = False,
) -> None:
    """Write a container build context: a Dockerfile (slim Python, non-root user, the
    environment's lock, a healthcheck on /readyz, modelyard serve as the entrypoint) and
    the deployment's edge export. Build it with docker build or any OCI builder."""
    with client() as c:
        info = c.image_context(deployment, output_dir, key=key)
    if json_:
        output.emit_json(info)
    else:
        output.console.print(
            f"wrote the build context {output_dir} (deployment {deployment} revision "
            f"{info['revision']}): docker build -t {deployment} {output_dir}",
            markup=False,
        )


@edge_app.command("sync")
def sync(
    folder: Annotated[Path, typer.Argument(help="An edge export, or a folder of scored rows.")],
    to: Annotated[
        str | None, typer.Option("--to", help="The server (default MODELYARD_URL).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Upload the rows scored on this device to the server's monitoring, each once: files
    sent before are skipped (here and on the server)."""
    from modelyard.sdk.client import Client

    with Client(url=to) as c:
        info = c.sync_edge(folder)
    if json_:
        output.emit_json(info)
    else:
        output.console.print(
            f"sent {info['rows']} rows in {info['sent']} files; {info['skipped']} files were "
            "sent before",
            markup=False,
        )
