"""Server benchmark: modelyard's server against MLflow 3.x's tracking server, same run.

    make bench        # runs every benchmark
    .venv/bin/python benchmarks/server.py [--n 200] [--clients 8] [--per-client 50]
        [--kinds file,scorepy,packaged] [--mlflow-model-n 20] [--quick]

1. Registrations per second over HTTP, with 1 client (sequential) and with 8 concurrent
   clients (8 threads, one client each), for three kinds of input (``harness.kinds``): a
   bare model file (a pickled scikit-learn model), a ``score.py`` folder that modelyard's
   client packages at registration, and a packaged folder (manifest written beforehand);
   each input distinct, with 1 MiB of random weights, registered with 2 tags and 2
   metrics; p50/p95 latency. One fresh server per kind and worker count.
   modelyard: ``modelyard server`` (SQLite + local artifact folder), with ``--workers 1``
   and ``--workers 2``; the client is ``Client(url=..., token=...)`` in this process.
   MLflow: ``mlflow server`` on a ``sqlite:///`` store with ``--serve-artifacts`` (clients
   upload artifacts through the server, as modelyard's do), with 1, 2 and 4 (its default)
   workers; the client runs in ``.bench/mlflow-venv`` (``mlflow_server_side.py``). For a
   model file MLflow's side has two variants (``harness.kinds.MLFLOW_VARIANTS``):
   ``log_model``, the same work as modelyard's (a servable version with a signature and
   pinned requirements; the goals are judged on it), about 3 s a registration, so its
   phases are shorter (``--mlflow-model-n``) and run at 1 and 4 workers; and
   ``log_artifact``, an upload of the file only, kept for reference.
2. A large package (1 GiB file) uploaded through the remote client and downloaded over
   ``GET .../files/{sha}``, the server's resident memory sampled every 50 ms.

Every server listens on 127.0.0.1 only, in its own process group, and is stopped (the
whole group) when its phase ends, even on errors. Everything runs in one fresh temporary
folder, deleted at the end.

Results: the ``## Server`` section of ``docs/benchmarks.md`` (``server_report.py``;
regenerated, other sections kept) and ``docs/benchmarks/server.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

from harness.clients import Register, run_clients, split_batches
from harness.kinds import (
    KINDS,
    MLFLOW_VARIANTS,
    build_inputs,
    kind_list,
    mlflow_inputs,
    registration,
)
from harness.log import log
from harness.memory import MB, RssSampler
from harness.procfs import own_rss_bytes, tree_io, tree_pids
from harness.references import MLFLOW
from harness.registration import PAYLOAD_BYTES, SCORE_PY, make_package, register
from harness.run import Run, int_list, parse, parser
from harness.servers import ADMIN_TOKEN, Server, modelyard_server, serve
from harness.sides import run_side
from server_report import SECTION, evaluate_goals, find_problems, render_section


# -- the MLflow server ---------------------------------------------------------------------
def mlflow_server_cmd(
    work: Path, port: int | str, workers: int | str, *, direct: bool = False
) -> list[str]:
    if direct:
        # the setup modelyard's server does not offer: clients write artifacts straight
        # into a folder they share with the server; only metadata goes over HTTP
        artifacts = ["--no-serve-artifacts", "--default-artifact-root", str(work / "mlartifacts")]
    else:
        # no --default-artifact-root: new experiments get mlflow-artifacts:/, so clients
        # upload and download artifacts through the server, stored under this folder
        artifacts = ["--serve-artifacts", "--artifacts-destination", str(work / "mlartifacts")]
    return [
        MLFLOW.command("mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{work / 'mlflow.db'}",
        *artifacts,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def mlflow_server(
    work: Path, workers: int, *, direct: bool = False
) -> contextlib.AbstractContextManager[Server]:
    def command(port: int) -> list[str]:
        return mlflow_server_cmd(work, port, workers, direct=direct)

    return serve(work, command, MLFLOW.env(), "/health")


# -- registrations over HTTP ---------------------------------------------------------------
def modelyard_phase(
    server: Server,
    sampler: RssSampler,
    client_homes: Path,
    model: str,
    batches: list[list[Path]],
    warmups: list[Path],
    register: Register,
) -> dict[str, Any]:
    """``len(batches)`` remote clients registering into ``model`` with ``register``
    (``harness.clients``), then the versions checked gap-free with one package each."""
    from modelyard import Client

    def open_client(i: int) -> Any:
        return Client(client_homes / f"{model}-{i}", url=server.url, token=ADMIN_TOKEN)

    result = run_clients(open_client, register, model, batches, warmups, server.pid, sampler)
    n = result["n"]
    with Client(client_homes / "check", url=server.url, token=ADMIN_TOKEN) as check:
        versions = check.list_versions(model)
    numbers = sorted(v.version for v in versions)
    digests = {v.package_digest for v in versions}
    if numbers != list(range(1, n + 1)) or len(digests) != n:
        raise SystemExit(
            f"modelyard {model}: expected versions 1..{n} with {n} packages, found "
            f"{len(numbers)} versions, {len(digests)} packages"
        )
    return {**result, "versions_gap_free": True}


def bench_modelyard(
    work: Path, workers: int, kind: str, inputs: list[Path], args: argparse.Namespace
) -> dict[str, Any]:
    parts = split_batches(inputs, args.clients, args.n, args.per_client)
    reg = registration(kind)
    with modelyard_server(work, workers) as server, RssSampler(server.pid) as sampler:
        idle = sampler.sample()[0]
        clients = work / "clients"
        seq = modelyard_phase(
            server, sampler, clients, "bench-1", parts["seq"], parts["seq_warm"], reg
        )
        par = modelyard_phase(
            server, sampler, clients, f"bench-{args.clients}", parts["par"], parts["par_warm"], reg
        )
    if not args.keep:  # up to a GB per run: not kept until the end of the run
        shutil.rmtree(work / "home" / "artifacts", ignore_errors=True)
    return {
        "kind": kind,
        "workers": workers,
        "startup_s": server.startup_s,
        "settle_s": server.settle_s,
        "idle_rss_mb": idle / MB,
        "sequential": seq,
        "concurrent": par,
    }


def registrations(args: argparse.Namespace) -> int:
    """Inputs one server run registers: 1 + ``clients`` warm-ups and both phases."""
    return 1 + args.clients + args.n + args.clients * args.per_client


def mlflow_counts(args: argparse.Namespace, variant: str) -> tuple[int, int]:
    """``(sequential, per client)`` registrations of MLflow's ``variant``: ``log_model``
    takes seconds each, so at most ``--mlflow-model-n`` per phase (whole clients)."""
    if variant != "log_model":
        return args.n, args.per_client
    cap = args.mlflow_model_n
    return min(args.n, cap), min(args.per_client, -(-cap // args.clients))


def check_stored(artifacts: Path, count: int, variant: str) -> int:
    """The bytes MLflow stored for ``count`` registrations, checked: each stored at least
    its payload; with ``log_model`` each also wrote an MLmodel with a signature and a
    requirements.txt next to it (a servable model)."""
    files = [f for f in artifacts.rglob("*") if f.is_file()]
    stored = sum(f.stat().st_size for f in files)
    if stored < count * PAYLOAD_BYTES:
        raise SystemExit(
            f"MLflow stored {stored} artifact bytes, expected {count * PAYLOAD_BYTES}+"
        )
    if variant == "log_model":
        models = [f for f in files if f.name == "MLmodel"]
        servable = [
            f
            for f in models
            if "signature:" in f.read_text() and (f.parent / "requirements.txt").is_file()
        ]
        if len(models) != count or len(servable) != count:
            raise SystemExit(
                f"MLflow log_model: {count} registrations stored {len(models)} MLmodel files, "
                f"{len(servable)} with a signature and requirements"
            )
    return stored


def bench_mlflow(
    work: Path,
    packages: Path,
    workers: int,
    kind: str,
    args: argparse.Namespace,
    *,
    variant: str,
    direct: bool = False,
) -> dict[str, Any]:
    n, per_client = mlflow_counts(args, variant)
    with (
        mlflow_server(work, workers, direct=direct) as server,
        RssSampler(server.pid) as sampler,
    ):
        idle = sampler.sample()[0]
        cfg = {
            "url": server.url,
            "server_pid": server.pid,
            "work_dir": str(work),
            "kind": kind,
            "variant": variant,
            "packages_dir": str(packages),
            "build": registrations(args),
            "n": n,
            "clients": args.clients,
            "per_client": per_client,
            "payload_bytes": PAYLOAD_BYTES,
        }
        result = run_side(MLFLOW, "mlflow_server_side.py", cfg, work)
        count = 1 + args.clients + n + args.clients * per_client
        stored = check_stored(work / "mlartifacts", count, variant)
    if not args.keep:  # up to a GB per run: not kept until the end of the run
        shutil.rmtree(work / "mlartifacts", ignore_errors=True)
    result.update(
        {
            "kind": kind,
            "variant": variant,
            "artifact_bytes_stored": stored,
            "workers": workers,
            "artifacts": "direct" if direct else "proxied",
            "startup_s": server.startup_s,
            "settle_s": server.settle_s,
            "idle_rss_mb": idle / MB,
        }
    )
    return result


# -- a large package ----------------------------------------------------------------------
def build_large(folder: Path, size: int) -> tuple[str, float]:
    """A package whose ``weights.bin`` is ``size`` bytes (a 1 MiB random block repeated)."""
    from modelyard.flavors.package import write_manifest

    folder.mkdir(parents=True)
    (folder / "score.py").write_text(SCORE_PY)
    block = os.urandom(1 << 20)
    h = hashlib.sha256()
    t0 = time.perf_counter()
    with open(folder / "weights.bin", "wb") as out:
        left = size
        while left > 0:
            chunk = block[: min(left, len(block))]
            out.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    write_manifest(folder, flavor="python", entrypoint="score.py")
    return "sha256:" + h.hexdigest(), time.perf_counter() - t0


def bench_large(work: Path, size: int) -> dict[str, Any]:
    import httpx

    from modelyard import Client

    log(f"large package: writing a {size / MB:.0f} MB file")
    folder = work / "large-package"
    digest, build_s = build_large(folder, size)
    small = make_package(work / "small-package", 1 << 10)
    download = work / "downloaded.bin"
    result: dict[str, Any] = {"bytes": size, "build_s": build_s, "workers": 1}
    try:
        with modelyard_server(work / "server", 1) as server, RssSampler(server.pid) as sampler:
            result["rss_at_start_mb"] = sampler.sample()[0] / MB
            client = Client(work / "client", url=server.url, token=ADMIN_TOKEN)
            try:
                # a first small registration: the server has loaded everything it needs
                register(client, "warmup", small, 0)
                time.sleep(0.5)
                result["idle_rss_mb"] = sampler.sample()[0] / MB
                result["client_rss_before_mb"] = own_rss_bytes() / MB
                pids = tree_pids(server.pid)

                io0 = tree_io(pids)
                with sampler.measure() as up:
                    t0 = time.perf_counter()
                    version = register(client, "large", folder, 0)
                    upload_s = time.perf_counter() - t0
                io1 = tree_io(pids)
                log(f"uploaded in {upload_s:.1f} s; peak server RSS {up.server_peak / MB:.0f} MB")

                path = (
                    f"/api/v1/models/{version.environment}/{version.name}/versions/"
                    f"{version.version}/files/{digest}"
                )
                h = hashlib.sha256()
                got = 0
                headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                with sampler.measure() as down:
                    t0 = time.perf_counter()
                    with (
                        httpx.stream(
                            "GET", server.url + path, headers=headers, timeout=600
                        ) as response,
                        open(download, "wb") as out,
                    ):
                        response.raise_for_status()
                        for chunk in response.iter_bytes(1 << 20):
                            h.update(chunk)
                            out.write(chunk)
                            got += len(chunk)
                    download_s = time.perf_counter() - t0
                io2 = tree_io(pids)
                log(
                    f"downloaded in {download_s:.1f} s; peak server RSS "
                    f"{down.server_peak / MB:.0f} MB"
                )
            finally:
                client.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        download.unlink(missing_ok=True)
    verified = got == size and "sha256:" + h.hexdigest() == digest
    if not verified:
        raise SystemExit(f"the downloaded file does not match (got {got} bytes)")
    result.update(
        {
            "size_bytes_registered": version.size_bytes,
            "upload": {
                "seconds": upload_s,
                "mb_per_s": size / MB / upload_s,
                "server_peak_rss_mb": up.server_peak / MB,
                "client_peak_rss_mb": up.client_peak / MB,
                "samples": up.samples,
                "server_disk_read_mb": (io1[0] - io0[0]) / MB,
                "server_disk_written_mb": (io1[1] - io0[1]) / MB,
            },
            "download": {
                "seconds": download_s,
                "mb_per_s": size / MB / download_s,
                "server_peak_rss_mb": down.server_peak / MB,
                "client_peak_rss_mb": down.client_peak / MB,
                "samples": down.samples,
                "server_disk_read_mb": (io2[0] - io1[0]) / MB,
                "server_disk_written_mb": (io2[1] - io1[1]) / MB,
                "sha256_verified": verified,
            },
        }
    )
    return result


# -- main ----------------------------------------------------------------------------------
QUICK = {
    "n": 10,
    "clients": 2,
    "per_client": 5,
    "workers": [1],
    "mlflow_workers": [1],
    "mlflow_direct_workers": [],
    "mlflow_model_n": 4,
    "mlflow_model_workers": [1],
    "large_mib": 16,
}


def parse_args() -> argparse.Namespace:
    p = parser("modelyard server vs MLflow tracking server", reference=MLFLOW)
    p.add_argument("--n", type=int, default=200, help="sequential registrations (default 200)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--per-client", type=int, default=50, help="registrations per client")
    p.add_argument(
        "--kinds",
        type=kind_list,
        default=list(KINDS),
        help=f"what is registered (default {','.join(KINDS)}: a bare model file, a score.py "
        "folder packaged at registration, a packaged folder)",
    )
    p.add_argument("--workers", type=int_list, default=[1, 2], help="modelyard (default 1,2)")
    p.add_argument(
        "--mlflow-workers",
        type=int_list,
        default=[1, 2, 4],
        help="MLflow, artifacts through the server (default 1,2,4: 4 is its default)",
    )
    p.add_argument(
        "--mlflow-direct-workers",
        type=int_list,
        default=[1],
        help="MLflow, clients writing artifacts to a shared folder; for reference, not "
        "for the goals (default 1; '' to skip; none with --quick)",
    )
    p.add_argument(
        "--mlflow-model-n",
        type=int,
        default=20,
        help="MLflow's log_model on a model file (about 3 s each): at most this many "
        "registrations per phase, sequential min(n, this), per client min(per-client, "
        "this / clients rounded up); rates are per second (default 20; 4 with --quick)",
    )
    p.add_argument(
        "--mlflow-model-workers",
        type=int_list,
        default=[1, 4],
        help="MLflow worker counts for log_model on a model file (default 1,4: 1 is its "
        "best for 1 client, 4 its default; 1 with --quick)",
    )
    p.add_argument("--large-mib", type=int, default=1024, help="large file size (1024 = 1 GiB)")
    p.add_argument("--skip-large", action="store_true", help="no large-package measurement")
    args = parse(p, QUICK)
    if min(args.n, args.clients, args.per_client, args.large_mib, args.mlflow_model_n) < 1:
        p.error("counts must be at least 1")
    if not args.workers:
        p.error("--workers needs at least one worker count")
    if not args.mlflow_workers:
        args.skip_mlflow = True
    if "file" in args.kinds and not args.mlflow_model_workers and not args.skip_mlflow:
        p.error("--mlflow-model-workers needs a worker count: the file goals use log_model")
    return args


def measure_modelyard(tmp: Path, kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every modelyard worker count on ``kind``, its inputs built once for all of them."""
    inputs = build_inputs(tmp / "packages" / kind, kind, registrations(args))
    try:
        return [
            bench_modelyard(tmp / f"modelyard-{kind}-w{w}", w, kind, inputs, args)
            for w in args.workers
        ]
    finally:
        shutil.rmtree(tmp / "packages" / kind, ignore_errors=True)


def measure_mlflow(tmp: Path, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every MLflow setup and variant on ``kind``; its side builds the inputs on the first
    run and the others reuse them (``tmp/mlflow-packages``, deleted by ``main``)."""
    packages = tmp / "mlflow-packages" / mlflow_inputs(kind)
    runs = []
    for variant in reversed(MLFLOW_VARIANTS[kind]):  # the judged one (log_model) last
        counts = args.mlflow_model_workers if variant == "log_model" else args.mlflow_workers
        runs += [
            bench_mlflow(
                tmp / f"mlflow-{kind}-{variant}-w{w}", packages, w, kind, args, variant=variant
            )
            for w in counts
        ]
    upload = MLFLOW_VARIANTS[kind][-1]  # direct artifacts: the upload, for reference
    direct_runs = [
        bench_mlflow(
            tmp / f"mlflow-{kind}-direct-w{w}", packages, w, kind, args, variant=upload, direct=True
        )
        for w in args.mlflow_direct_workers
    ]
    return {"runs": runs, "direct_runs": direct_runs}


def mlflow_result(runs: list[dict[str, Any]], direct_runs: list[dict[str, Any]]) -> dict[str, Any]:
    placeholders = (Path("<tmp>"), "<free port>", "N")
    return {
        "mlflow_version": runs[0]["mlflow_version"],
        "python_version": runs[0]["python_version"],
        "server_command": " ".join(["mlflow", *mlflow_server_cmd(*placeholders)[1:]]),
        "direct_server_command": " ".join(
            ["mlflow", *mlflow_server_cmd(*placeholders, direct=True)[1:]]
        ),
        "runs": runs,
        "direct_runs": direct_runs,
    }


def main() -> int:
    args = parse_args()
    with Run("server", SECTION, args, references=[MLFLOW]) as run:
        result, tmp = run.result, run.tmp
        result["parameters"] = {
            "n": args.n,
            "clients": args.clients,
            "per_client": args.per_client,
            "payload_bytes": PAYLOAD_BYTES,
            "kinds": args.kinds,
            "workers": args.workers,
            "mlflow_workers": [] if args.skip_mlflow else args.mlflow_workers,
            "mlflow_direct_workers": [] if args.skip_mlflow else args.mlflow_direct_workers,
            "mlflow_variants": {k: list(MLFLOW_VARIANTS[k]) for k in args.kinds},
            "mlflow_model_n": args.mlflow_model_n,
            "mlflow_model_workers": [] if args.skip_mlflow else args.mlflow_model_workers,
            "mlflow_model_counts": dict(
                zip(("n", "per_client"), mlflow_counts(args, "log_model"), strict=True)
            ),
            "large_bytes": None if args.skip_large else args.large_mib << 20,
        }
        if "file" in args.kinds:
            import sklearn

            result["sklearn_version"] = sklearn.__version__
        # kind by kind, both tools: each kind's numbers are taken close together in time
        mine: list[dict[str, Any]] = []
        theirs: dict[str, list[dict[str, Any]]] = {"runs": [], "direct_runs": []}
        for kind in args.kinds:
            log(f"registering: {kind}")
            mine += measure_modelyard(tmp, kind, args)
            if not args.skip_mlflow:
                for key, runs in measure_mlflow(tmp, kind, args).items():
                    theirs[key] += runs
        shutil.rmtree(tmp / "mlflow-packages", ignore_errors=True)
        result["modelyard"] = mine
        if not args.skip_mlflow:
            result["mlflow"] = mlflow_result(theirs["runs"], theirs["direct_runs"])
        if not args.skip_large:
            result["large"] = bench_large(tmp / "large", args.large_mib << 20)
        result["goals"] = evaluate_goals(result)
        result["problems"] = find_problems(result)
    run.publish(render_section(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
