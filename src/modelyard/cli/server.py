"""``modelyard server``: the control plane (and, later, scoring) on uvicorn."""

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from modelyard.cli import stopping

GRACEFUL_STOP_SECONDS = 20


def server(
    host: Annotated[str | None, typer.Option("--host", help="Address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8600).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes.")] = None,
    migrate_only: Annotated[
        bool,
        typer.Option(
            "--migrate-only", help="Bring the database schema up to date and exit (a Job)."
        ),
    ] = False,
) -> None:
    """Run the modelyard server."""
    from modelyard.services.auth import check_bind
    from modelyard.services.container import Services
    from modelyard.settings import Settings
    from modelyard.store import migrate

    settings = Settings()
    host = host or settings.host
    port = port if port is not None else settings.port
    workers = workers or settings.workers
    check_bind(host, settings.auth)
    services = Services.open(settings)  # migrate once, before any worker starts
    try:  # an artifact store it cannot reach (credentials, bucket) is refused now, in a line
        services.artifacts.ping()
        services.collected.ping()
    except BaseException:
        services.close()
        raise
    if migrate_only:
        services.close()
        sys.stdout.write(f"the database schema is up to date ({migrate.HEAD})\n")
        return
    with stopping.deferred():  # the admin token is created once: never stop before it is shown
        try:
            admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
            secret = services.authenticator.bootstrap(admin_token) if settings.auth else None
        finally:
            services.close()
        if secret is not None:
            # printed once, on the terminal only (never through logging)
            sys.stdout.write(
                "\ncreated the admin user. Its token (shown once, store it now):\n\n"
                f"    {secret}\n\n"
                f"    export MODELYARD_URL=http://{host}:{port} MODELYARD_TOKEN=<that token>\n\n"
            )
            sys.stdout.flush()
    run("modelyard.cli.worker:serve", host, port, workers, settings)


def run(app: str, host: str, port: int, workers: int, settings: Any) -> None:
    """Serve the app factory ``app`` on uvicorn with ``workers`` processes, model code
    confined, until stopped."""
    import uvicorn

    from modelyard.cli import http
    from modelyard.runtimes import sandbox
    from modelyard.runtimes.host import confinement

    sys.stderr.write(f"modelyard: model code runs {confinement()}\n")
    sandbox.shield_environment()  # model workers must not read this process's environment
    # One native thread per worker by default (read by OpenMP and BLAS when they load):
    # online requests are a few rows, where a second thread only adds wake-ups (measured:
    # 13.3 vs 6.8 ms of CPU per one-row request), and two workers each spreading a tree
    # ensemble over every core thrash instead of scoring. Scale with --workers instead.
    threads = settings.model_threads or 1
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, str(threads))
    os.environ["MODELYARD_HOST"] = host
    os.environ["MODELYARD_PORT"] = str(port)
    # read by each connection's protocol (``cli.http``), in every worker
    os.environ[http.HEAD_ENV] = str(settings.request_head_seconds)
    os.environ[http.IDLE_ENV] = str(settings.request_idle_seconds)
    config = uvicorn.Config(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        http="modelyard.cli.http:GuardedHttp",
        # a stop waits for requests in flight, but not for ever (a worker whose supervisor
        # is gone must let go of the port)
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
    )
    if config.workers > 1:
        # uvicorn binds the shared socket itself and leaves Nagle on: every keep-alive
        # response would then wait ~40 ms for a delayed ACK. Linux copies TCP_NODELAY
        # from the listening socket to the connections it accepts.
        import socket

        from modelyard.cli.supervisor import Supervisor, preload

        sock = config.bind_socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(KeyboardInterrupt), shared_metrics(settings.resolved_home):
            preload(app)
            Supervisor(config, sockets=[sock]).run()
    else:
        runner = uvicorn.Server(config)
        runner.run()
        if not runner.started:  # e.g. the port is taken: uvicorn has logged why
            raise SystemExit(1)


@contextlib.contextmanager
def shared_metrics(home: Path) -> Iterator[None]:
    """One folder for every worker's metrics (``serving.metrics``), made before the first
    worker starts (they read it when they import prometheus_client) and removed at the end;
    a folder left by a server that was killed is removed at the next start."""
    import shutil

    from modelyard.runtimes.process import sweep
    from modelyard.serving import MULTIPROCESS_ENV

    servers = home / "serving" / "metrics"
    sweep(servers)  # one folder per server, named by its supervisor's pid
    folder = servers / str(os.getpid())
    shutil.rmtree(folder, ignore_errors=True)  # this pid's, from a server long gone
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROCESS_ENV] = str(folder)
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
