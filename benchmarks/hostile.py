"""Hostile bodies: what unauthenticated 300 MB requests cost a running server's memory.

    .venv/bin/python benchmarks/hostile.py [--mb 300] [--quick]

One ``modelyard server --workers 1`` on a fresh SQLite home (127.0.0.1 only). Each case
sends ``--mb`` MB without credentials, over a raw socket, as fast as the server takes it,
until the server answers and closes the connection (or every byte is sent):

1. a JSON ``POST /api/v1/deployments`` with its ``Content-Length``;
2. three of those at once;
3. the same body chunked (no ``Content-Length``);
4. a form ``POST /login``, chunked.

Measured per case, from ``/proc``: the server's resident memory before and after (all its
processes), the largest peak (``VmHWM``) any of them reached, the answer's status line,
and how many bytes the client got to send before the server closed. The goal (issue 14):
resident memory grows by less than 50 MB.

Results: the ``## Unauthenticated bodies`` section of ``docs/benchmarks.md`` and
``docs/benchmarks/hostile.json``.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from pathlib import Path
from typing import Any

from harness.log import log
from harness.procfs import tree_pids
from harness.report import closing, generated_by, modelyard_provenance
from harness.run import Run, parse, parser
from harness.servers import modelyard_server

SECTION = "## Unauthenticated bodies"
GOAL_MB = 50
CHUNK = 1 << 20
MB = 1_000_000


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def memory(root: int) -> tuple[int, int]:
    """Resident bytes of the server's processes, summed, and the largest peak of any."""
    pids = tree_pids(root)
    return sum(_status(p, "VmRSS") for p in pids), max(_status(p, "VmHWM") for p in pids)


def send(url: str, path: str, size: int, *, chunked: bool, form: bool) -> dict[str, Any]:
    """Send ``size`` bytes to ``path`` without credentials; the answer and bytes sent."""
    host, port = url.removeprefix("http://").split(":")
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {kind}\r\n{length}\r\n\r\n"
    piece = (b"token=" + b"a" * (CHUNK - 6)) if form else (b"[" + b"1," * (CHUNK // 2 - 1) + b"1")
    sent = 0
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            while sent < size:
                data = piece[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the rest is not wanted
            pass
        answer = b""
        try:
            while b"\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except OSError:
            pass
    return {
        "status": answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)",
        "sent_mb": sent / MB,
        "seconds": time.monotonic() - started,
    }


CASES = [
    ("JSON with Content-Length", "/api/v1/deployments", 1, False, False),
    ("3 at once, JSON with Content-Length", "/api/v1/deployments", 3, False, False),
    ("JSON, chunked", "/api/v1/deployments", 1, True, False),
    ("form to /login, chunked", "/login", 1, True, True),
]


def measure(work: Path, size: int) -> list[dict[str, Any]]:
    rows = []
    with modelyard_server(work, 1) as server:
        for name, path, parallel, chunked, form in CASES:
            before, _ = memory(server.pid)
            with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                calls = [
                    pool.submit(send, server.url, path, size, chunked=chunked, form=form)
                    for _ in range(parallel)
                ]
                answers = [call.result() for call in calls]
            time.sleep(1)
            after, peak = memory(server.pid)
            row = {
                "case": name,
                "rss_before_mb": before / MB,
                "rss_after_mb": after / MB,
                "peak_mb": peak / MB,
                "answers": answers,
            }
            log(f"{name}: {row}")
            rows.append(row)
    return rows


def render_section(result: dict[str, Any]) -> str:
    size = result["parameters"]["mb"]
    lines = [
        f"| {r['case']} | {r['answers'][0]['status']} | "
        f"{max(a['sent_mb'] for a in r['answers']):.1f} | {r['rss_before_mb']:.0f} | "
        f"{r['rss_after_mb']:.0f} | {r['rss_after_mb'] - r['rss_before_mb']:+.1f} | "
        f"{r['peak_mb']:.0f} |"
        for r in result["cases"]
    ]
    worst = max(r["peak_mb"] - result["cases"][0]["rss_before_mb"] for r in result["cases"])
    return "\n".join(
        [
            SECTION,
            "",
            generated_by("hostile"),
            "",
            *modelyard_provenance(result),
            "",
            f"`modelyard server --workers 1` on SQLite; each case sends {size} MB without "
            "credentials, as fast as the server takes it. Sent: what the client got to send "
            "before the server answered and closed. Memory in MB (10^6 bytes), all the "
            "server's processes; peak is the largest `VmHWM` since the server started.",
            "",
            "| case | answer | MB sent | RSS before | RSS after | growth | peak |",
            "|---|---|---:|---:|---:|---:|---:|",
            *lines,
            "",
            f"Goal: resident memory grows by less than {GOAL_MB} MB. Largest peak above the "
            f"first case's starting memory: {worst:.1f} MB. Before the fix (issue 14) one such "
            "body took the server from 290 MB to 1.24 GB, three at once to 3.0 GB.",
            "",
            *closing("hostile"),
        ]
    )


def main() -> int:
    p = parser("unauthenticated 300 MB bodies against a running server")
    p.add_argument("--mb", type=int, default=300, help="MB sent per request")
    args = parse(p, quick={"mb": 20})
    with Run("hostile", SECTION, args) as run:
        run.result["parameters"] = {"mb": args.mb}
        run.result["cases"] = measure(run.tmp, args.mb * MB)
    run.publish(render_section(run.result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
