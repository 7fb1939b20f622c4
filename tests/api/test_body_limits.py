"""No body is read before its sender is authenticated, and every body has a limit: a
request past it is answered 413 in the one error shape, and nothing is written."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from modelyard import Settings
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server

LIMIT = 2048  # MODELYARD_MAX_BODY_BYTES for these servers
GOOD = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(home=tmp_path / "home", max_body_bytes=LIMIT, max_upload_bytes=4096)
    bootstrap(settings)
    with live_server(settings) as url:
        yield url, settings


def _raw(url: str, head: str, first_bytes: bytes = b"") -> tuple[str, float]:
    """Send a request head and the start of its body, then read the answer; returns the
    answer's head and how long it took."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + first_bytes)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer.decode(errors="replace"), time.monotonic() - started


def test_a_control_plane_body_is_not_read_before_its_sender_is_authenticated(
    server: tuple[str, Settings],
) -> None:
    url, _ = server
    for auth in ("", "Authorization: Bearer myd_wrong-000000000000000000000000000000\n"):
        # 300 MB announced, 1 KB sent: the answer comes without waiting for the rest
        head = (
            "POST /api/v1/deployments HTTP/1.1\nHost: x\nContent-Type: application/json\n"
            f"{auth}Content-Length: 300000000\n"
        )
        answer, took = _raw(url, head, b"[" * 1024)
        assert answer.startswith("HTTP/1.1 401"), answer
        assert "connection: close" in answer.lower()
        assert took < 5


def test_every_body_has_a_limit_answered_413_in_the_error_shape(
    server: tuple[str, Settings],
) -> None:
    url, _ = server
    with httpx.Client(base_url=url, headers=GOOD) as http:
        big = {"name": "x" * LIMIT, "variants": ["payments:1"]}
        r = http.post("/api/v1/deployments", json=big)
        assert r.status_code == 413, r.text
        error = r.json()["error"]
        assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"name": "'
            for _ in range(10):
                yield b"x" * 512

        r = http.post(
            "/api/v1/deployments", content=chunks(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

        form = {"token": "x" * 5000}  # the sign-in form takes one token
        r = http.post("/login", data=form)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

        csv = b"a,b\n" + b"1,2\n" * 2000  # over MODELYARD_MAX_UPLOAD_BYTES (4096)
        r = http.post("/api/v1/datasets/sandbox/big/versions?format=csv", content=csv)
        assert r.status_code == 413, r.text
        assert "4096" in r.json()["error"]["message"]
        assert http.get("/api/v1/datasets").json() == []  # nothing was written

        small = {"name": "bob"}  # under the limit: read and done
        assert http.post("/api/v1/users", json=small).status_code == 201


def test_a_package_file_takes_no_more_bytes_than_its_manifest_says(
    server: tuple[str, Settings], make_package: Callable[..., Path]
) -> None:
    url, _ = server
    folder = make_package(size=100)
    weights = (folder / "weights.bin").read_bytes()
    digest = "sha256:" + hashlib.sha256(weights).hexdigest()
    manifest = {"manifest": (folder / "modelyard.yaml").read_text()}
    with httpx.Client(base_url=url, headers=GOOD) as http:
        begun = http.post("/api/v1/packages", json=manifest).json()
        assert digest in begun["missing"]
        files = f"/api/v1/packages/{begun['digest']}/files"
        r = http.put(f"{files}/{digest}", content=weights + b"\0" * 10_000)
        assert r.status_code == 400 and "do not match" in r.json()["error"]["message"]
        assert digest in http.post("/api/v1/packages", json=manifest).json()["missing"]
        assert http.put(f"{files}/{digest}", content=weights).status_code == 204
