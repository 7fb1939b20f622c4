"""Model environments: what serving a model from its own environment costs.

    .venv/bin/python benchmarks/environments.py [--duration 15] [--quick]

The workload is the serving benchmark's pipeline (``harness/payments.py``). It is logged
twice to one home: version 1 as it is (every pin met by the server's environment: it
runs in a model worker on the server's interpreter), version 2 the same package with one
more pin the server does not meet (``threadpoolctl`` at another release), so it runs in
a model worker of an environment built for it, with the same scikit-learn, numpy and
pandas: the difference measured is the mechanism's alone.

1. Building that environment (``runtimes.environments.Environments``: ``uv venv`` and
   ``uv pip install``, wheels only, from the indexes pip uses here), into an empty
   environment cache: once with uv's package cache as this machine has it, once with an
   empty one (every wheel fetched from the indexes).
2. Starting a worker for each version in a fresh model host (``WorkerHost.load`` with
   warm-up: the fork server's start, its imports, the fork, loading the package), in this
   process, ``--starts`` times each; the environment is cached.
3. Throughput: ``modelyard server --workers 1`` with one deployment of each version;
   ``wrk -t2 -c16`` against each, in turns (server environment, own environment, twice),
   the best of each kept; then ``wrk -t1 -c1`` p50 against each.

Results: the ``## Model environments`` section of ``docs/benchmarks.md`` and
``docs/benchmarks/environments.json``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from harness.log import log
from harness.memory import RssSampler
from harness.payments import TRAIN_ROWS, build_workload, deploy
from harness.report import closing, generated_by, modelyard_provenance, yes
from harness.run import Run, parse, parser
from harness.servers import modelyard_server, wait_all_workers_ready
from harness.wrk import measured_wrk, require_wrk

SECTION = "## Model environments"
SERVER, OWN = "in-server", "own-env"
GOAL_SHARE, GOAL_START_S = 0.70, 3.0


def other_pin() -> str:
    """A pin the server's environment does not meet, harmless to the model."""
    here = metadata.version("threadpoolctl")
    return "threadpoolctl==3.5.0" if here != "3.5.0" else "threadpoolctl==3.4.0"


def register(home: Path, tmp: Path, workload: Any) -> tuple[dict[str, str], str]:
    """Version 1 as trained, version 2 with one more pin; a deployment of each."""
    from modelyard import Client, Settings

    version, created = deploy(home, workload, tmp, "payments", {SERVER: {}})
    keys = {SERVER: created[SERVER].new_keys["primary"]}
    with Client(settings=Settings(home=home, actor="bench")) as c:
        folder = c.download_model(version.ref, tmp / "package")
        manifest = folder / "modelyard.yaml"
        data = yaml.safe_load(manifest.read_text())
        data["requirements"] = [*data["requirements"], other_pin()]
        manifest.write_text(yaml.safe_dump(data))
        own = c.register("payments", folder)
        keys[OWN] = c.create_deployment(OWN, [own.ref]).new_keys["primary"]
    log(f"registered {version.ref} and {own.ref} (+ {other_pin()})")
    return keys, own.ref


def builds(home: Path, tmp: Path, ref: str) -> dict[str, Any]:
    """The environment built into an empty cache: with uv's cache as found, then empty."""
    from modelyard import Client, Settings
    from modelyard.flavors.package import Manifest
    from modelyard.runtimes.environments import Environments, Indexes, plan

    with Client(settings=Settings(home=home)) as c:
        text = c.package_source(ref).manifest
    found = plan(Manifest.from_bytes(text.encode(), ref).requirements)
    out: dict[str, Any] = {"requirements": list(found.requirements), "digest": found.digest}
    for label, cache in (("uv_cache_as_found", None), ("uv_cache_empty", tmp / "uv-cache")):
        saved = os.environ.get("UV_CACHE_DIR")
        if cache is not None:
            os.environ["UV_CACHE_DIR"] = str(cache)
        try:
            started = time.perf_counter()
            Environments(tmp / f"envs-{label}", Indexes()).python(found)
            out[label] = time.perf_counter() - started
        finally:
            os.environ.pop("UV_CACHE_DIR", None)
            if saved is not None:
                os.environ["UV_CACHE_DIR"] = saved
        log(f"environment built in {out[label]:.1f} s ({label.replace('_', ' ')})")
    Environments(home / "cache" / "envs", Indexes()).python(found)  # the server's, cached
    return out


def starts(home: Path, tmp: Path, refs: dict[str, str], n: int) -> dict[str, Any]:
    """Seconds from a fresh model host to a loaded, warmed model, for each version."""
    from modelyard import Settings
    from modelyard.runtimes.environments import Environments
    from modelyard.runtimes.host import WorkerHost
    from modelyard.services.container import Services
    from modelyard.serving.schema import InputSchema

    out: dict[str, Any] = {}
    services = Services.open(Settings(home=home))
    try:
        scope = services.local()
        digests = {k: scope.registry.get_version(r).package_digest for k, r in refs.items()}
        packages = {k: services.package_folder(d) for k, d in digests.items()}
    finally:
        services.close()
    environments = Environments(home / "cache" / "envs")
    for key, (folder, manifest) in packages.items():
        warmup = InputSchema(manifest.signature).warmup_columns()
        seconds = []
        for _ in range(n):
            host = WorkerHost(tmp / "workers", tmp / "packages", [home], None, environments)
            try:
                started = time.perf_counter()
                host.load("bench", folder, manifest, warmup)
                seconds.append(time.perf_counter() - started)
            finally:
                host.close()
        out[key] = {"seconds": seconds, "median_s": statistics.median(seconds)}
        log(f"{key}: worker started and model loaded in {out[key]['median_s']:.2f} s (median)")
    return out


def throughput(tmp: Path, home: Path, keys: dict[str, str], args: Any) -> dict[str, Any]:
    body = tmp / "bodies-native.jsonl"
    runs: dict[str, list[dict[str, Any]]] = {SERVER: [], OWN: []}
    one: dict[str, dict[str, Any]] = {}
    with modelyard_server(tmp, 1, home=home) as server:
        wait_all_workers_ready(server.url, 1)
        sampler = RssSampler(server.pid)
        for name in (SERVER, OWN, SERVER, OWN):
            path, auth = f"/v1/deployments/{name}/predict", f"Bearer {keys[name]}"
            common = {"path": path, "bodies": body, "auth": auth}
            if len(runs[name]) == 0:  # warm up
                measured_wrk(server, sampler, connections=16, threads=2, seconds=2, **common)
            runs[name].append(
                measured_wrk(
                    server, sampler, connections=16, threads=2, seconds=args.duration, **common
                )
            )
        for name in (SERVER, OWN):
            path, auth = f"/v1/deployments/{name}/predict", f"Bearer {keys[name]}"
            one[name] = measured_wrk(
                server,
                sampler,
                connections=1,
                threads=1,
                seconds=args.duration_one,
                path=path,
                bodies=body,
                auth=auth,
            )
    best = {k: max(v, key=lambda r: r["per_second"]) for k, v in runs.items()}
    return {"sixteen": runs, "best": best, "one": one}


def failed(t: dict[str, Any]) -> int:
    runs = [*(r for v in t["sixteen"].values() for r in v), *t["one"].values()]
    return sum(r["non_2xx"] + r["socket_errors"] for r in runs)


def render(result: dict[str, Any]) -> str:
    b, s, t = result["builds"], result["starts"], result["throughput"]
    best, one = t["best"], t["one"]
    share = best[OWN]["per_second"] / best[SERVER]["per_second"]
    start = s[OWN]["median_s"]
    lines = [
        SECTION,
        "",
        generated_by("environments")
        + "The serving benchmark's pipeline, served from the server's environment and from "
        "an environment built for it with uv (the same libraries, one pin more), both in "
        "model workers.",
        "",
        *modelyard_provenance(result),
        f"| uv | {result['uv']} |",
        "",
        "| measure | server's environment | own environment | goal | met |",
        "|---|---|---|---|---|",
        f"| req/s at 16 connections (best of 2) | {best[SERVER]['per_second']:,.0f} | "
        f"{best[OWN]['per_second']:,.0f} ({share:.0%}) | ≥ {GOAL_SHARE:.0%} | "
        f"{yes(share >= GOAL_SHARE)} |",
        f"| p99 at 16 connections | {best[SERVER]['p99_ms']:.1f} ms | "
        f"{best[OWN]['p99_ms']:.1f} ms | | |",
        f"| p50 at 1 connection | {one[SERVER]['p50_ms']:.2f} ms | {one[OWN]['p50_ms']:.2f} ms "
        "| | |",
        f"| worker start and model load, environment cached (median of {len(s[OWN]['seconds'])})"
        f" | {s[SERVER]['median_s']:.2f} s | {start:.2f} s | ≤ {GOAL_START_S:g} s | "
        f"{yes(start <= GOAL_START_S)} |",
        f"| first build of the environment, uv's cache as found | | "
        f"{b['uv_cache_as_found']:.1f} s | reported | |",
        f"| first build, uv's cache empty (every wheel read from the indexes) | | "
        f"{b['uv_cache_empty']:.1f} s | reported | |",
        "",
        f"Failed requests (non-2xx and socket errors, every run): {failed(t)}.",
        f"The environment's pins: `{' '.join(b['requirements'])}`.",
    ]
    return "\n".join([*lines, *closing("environments")])


def main() -> int:
    p = parser("a model in its own environment against one in the server's")
    p.add_argument("--duration", type=int, default=15, help="seconds per 16-connection run")
    p.add_argument("--duration-one", type=int, default=8, help="seconds per 1-connection run")
    p.add_argument("--starts", type=int, default=5, help="worker starts timed per version")
    p.add_argument("--train-rows", type=int, default=TRAIN_ROWS, help="rows the model learns")
    args = parse(p, {"duration": 2, "duration_one": 2, "starts": 2, "train_rows": 5_000})
    require_wrk()
    from modelyard.runtimes.environments import uv_binary

    with Run("environments", SECTION, args) as run:
        tmp, result = run.tmp, run.result
        result["uv"] = subprocess.run(
            [uv_binary(), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        workload, result["workload"] = build_workload(tmp, args.train_rows)
        home = tmp / "home"
        keys, own = register(home, tmp, workload)
        result["builds"] = builds(home, tmp, own)
        refs = {SERVER: "payments:1", OWN: own}
        result["starts"] = starts(home, tmp, refs, args.starts)
        result["throughput"] = throughput(tmp, home, keys, args)
    run.publish(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
