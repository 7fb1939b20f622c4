"""The embedded client: direct service calls, or HTTP to an in-process app?

    .venv/bin/python benchmarks/embedded.py [--calls 2000] [--registrations 100] [--quick]

The embedded ``Client`` calls the services directly (``Services.local()``); the
alternative datasette and starlette's ``TestClient`` use is to speak HTTP to the app in
the same process, which would delete the HTTP implementation's twin. This measures what
that would cost a user, in one process, on one home (SQLite, local artifact folder):

- ``direct``: ``Client(home=...)``, as shipped.
- ``in-process HTTP``: the same home served by ``create_app`` and reached through
  ``starlette.testclient.TestClient`` (an ``httpx.Client`` over the ASGI app), plugged
  into the SDK's own HTTP implementation; the app's background threads run, as they
  would.

Operations, each timed per call with ``time.perf_counter`` after 50 untimed calls:
``get_version`` and ``list_models`` (20 models), and ``register`` of a small packaged
folder (``--registrations``, distinct packages). Results: the ``## Embedded client``
section of ``docs/benchmarks.md`` and ``docs/benchmarks/embedded.json``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.log import log
from harness.registration import build_packages, register
from harness.report import closing, generated_by, modelyard_provenance
from harness.run import Run, parse, parser
from harness.servers import ADMIN_TOKEN

SECTION = "## Embedded client"
MODELS = 20
WARMUP = 50


def timed(call: Callable[[int], Any], count: int) -> dict[str, float]:
    """Per-call milliseconds of ``call(i)`` for ``count`` calls, after ``WARMUP`` ones."""
    for i in range(WARMUP):
        call(i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "calls": count,
        "median_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * (count - 1))],
    }


def in_process_client(home: Path) -> tuple[Any, Callable[[], None]]:
    """A ``Client`` whose HTTP implementation talks to ``create_app`` in this process."""
    from starlette.testclient import TestClient

    from modelyard import Client, Settings
    from modelyard.api.app import create_app

    app = create_app(Settings(home=home))
    app_client = TestClient(app, base_url="http://127.0.0.1")
    app_client.__enter__()  # runs the app's lifespan: services, background threads
    app.state.services.authenticator.bootstrap(ADMIN_TOKEN)  # as `modelyard server` does
    client = Client(url="http://127.0.0.1", token=ADMIN_TOKEN)
    client.api.http.client.close()  # type: ignore[union-attr]
    app_client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    client.api.http.client = app_client  # type: ignore[union-attr]
    return client, lambda: app_client.__exit__(None, None, None)


def operations(
    client: Any, packages: list[Path], calls: int, registrations: int
) -> dict[str, dict[str, float]]:
    """Each operation's per-call times through ``client``."""
    return {
        "get_version": timed(lambda i: client.get_version("m00:1"), calls),
        "list_models": timed(lambda i: client.list_models(), calls),
        "register": timed(lambda i: register(client, "reg", packages.pop(), i), registrations),
    }


def measure(tmp: Path, calls: int, registrations: int) -> dict[str, Any]:
    from modelyard import Client

    packages = build_packages(
        tmp / "packages", 2 * (MODELS + WARMUP + registrations), manifest=True
    )
    results: dict[str, Any] = {}
    for way, start in (
        ("direct", lambda home: (Client(home=home), None)),
        ("in-process HTTP", in_process_client),
    ):
        log(f"measuring: {way}")
        home = tmp / way.replace(" ", "-")
        client, stop = start(home)
        try:
            for i in range(MODELS):
                register(client, f"m{i:02d}", packages.pop(), 0)
            ops = operations(client, packages, calls, registrations)
        finally:
            client.close()
            if stop is not None:
                stop()
        results[way] = ops
    return results


def render_section(result: dict[str, Any]) -> str:
    direct, http = result["ways"]["direct"], result["ways"]["in-process HTTP"]
    rows = [
        f"| `{op}` | {direct[op]['median_ms']:.2f} | {direct[op]['p90_ms']:.2f} "
        f"| {http[op]['median_ms']:.2f} | {http[op]['p90_ms']:.2f} "
        f"| {http[op]['median_ms'] / direct[op]['median_ms']:.1f}x |"
        for op in direct
    ]
    return "\n".join(
        [
            SECTION,
            "",
            generated_by("embedded"),
            "",
            *modelyard_provenance(result),
            "",
            "The embedded `Client` calls the services directly. Speaking HTTP to the app in the "
            "same process (`starlette.testclient.TestClient` plugged into the SDK's HTTP "
            "implementation, as datasette's internal client does) would delete the HTTP "
            "implementation's twin; this is what it would cost per call, on one SQLite home "
            f"with {MODELS} models. Milliseconds per call.",
            "",
            "| operation | direct median | direct p90 | in-process HTTP median "
            "| in-process HTTP p90 | cost |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "The direct path stays: the HTTP implementation is one short method per operation, "
            "checked against the same Protocol by mypy and against the embedded one by "
            "`tests/contract/`, so the two cannot drift.",
            "",
            *closing("embedded"),
        ]
    )


def main() -> int:
    p = parser("embedded client: direct service calls vs HTTP to an in-process app")
    p.add_argument("--calls", type=int, default=2000, help="calls per read operation")
    p.add_argument("--registrations", type=int, default=100, help="timed registrations")
    args = parse(p, quick={"calls": 100, "registrations": 10})
    with Run("embedded", SECTION, args) as run:
        run.result["parameters"] = {"calls": args.calls, "registrations": args.registrations}
        run.result["ways"] = measure(run.tmp, args.calls, args.registrations)
    run.publish(render_section(run.result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
