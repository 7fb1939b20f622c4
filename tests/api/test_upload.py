"""A small package registers in one request; a bad archive is refused whole, with nothing
written; a large one still skips the files the server has."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from modelyard import Client, Settings
from modelyard.wire import archive
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.live import live_server

# Their score.py folders register without an input example, which warns (as it should).
pytestmark = pytest.mark.filterwarnings("ignore::modelyard.domain.errors.ModelyardWarning")


URL = "/api/v1/models/sandbox/scored/upload"


def package(tmp_path: Path, size: int = 1000) -> Path:
    folder = tmp_path / "pkg"
    folder.mkdir(exist_ok=True)
    (folder / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    (folder / "weights.bin").write_bytes(bytes(range(256)) * (size // 256 + 1))
    return folder


@pytest.fixture
def remote(settings: Settings, tmp_path: Path) -> Iterator[tuple[Client, list[str]]]:
    """A client on a live server, and the requests it sends (method and path)."""
    bootstrap(settings)
    sent: list[str] = []
    with live_server(settings) as url:
        remote = Settings(home=tmp_path / "client", url=url, token=SecretStr(ADMIN_TOKEN))
        with Client(settings=remote) as client:
            hooks = client.api.http.client.event_hooks  # type: ignore[attr-defined]
            hooks["request"].append(lambda r: sent.append(f"{r.method} {r.url.path}"))
            yield client, sent


def test_a_small_package_is_one_request(remote: tuple[Client, list[str]], tmp_path: Path) -> None:
    client, sent = remote
    v = client.register("scored", package(tmp_path), tags={"team": "risk"})
    assert sent == ["POST /api/v1/models/sandbox/scored/upload"]
    assert (v.ref, v.tags) == ("sandbox/scored:1", {"team": "risk"})
    loaded = client.load_model("scored:1")
    assert list(loaded.predict([1, 2])) == [1, 2]


def test_the_one_request_body_is_a_standard_tar(tmp_path: Path) -> None:
    """Any tar tool reads what the SDK sends: the same bytes ``tarfile`` itself writes."""
    folder = package(tmp_path, 3000)
    files = [
        ("sha256:" + "a" * 64, folder / "weights.bin"),
        ("sha256:" + "b" * 64, folder / "score.py"),
    ]
    body = archive.write({"tags": {"team": "risk"}}, b"flavor: python\n", files)
    expected = io.BytesIO()
    with tarfile.open(fileobj=expected, mode="w", format=tarfile.PAX_FORMAT) as tar:
        members = [
            (archive.METADATA, b'{"tags": {"team": "risk"}}'),
            (archive.MANIFEST, b"flavor: python\n"),
        ]
        members += [(f"files/sha256-{d[7:]}", p.read_bytes()) for d, p in files]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert body == expected.getvalue()
    assert archive.read(body).files["sha256:" + "a" * 64] == (folder / "weights.bin").read_bytes()


def test_a_large_package_sends_only_what_the_server_lacks(
    remote: tuple[Client, list[str]], tmp_path: Path
) -> None:
    client, sent = remote
    big = package(tmp_path, archive.MAX_BYTES + 1024)
    client.register("big", big)
    puts = [s for s in sent if s.startswith("PUT ")]
    assert len(puts) == 2  # score.py and weights.bin
    sent.clear()
    (big / "note.txt").write_text("a new file")
    client.register("big", big)
    assert len([s for s in sent if s.startswith("PUT ")]) == 1  # only the new file


def body(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def http(settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Client, dict]]:
    """The app, an embedded client on the same home, and a valid archive's members."""
    bootstrap(settings)
    from modelyard.api import create_app

    with (
        Client(settings=settings) as embedded,
        embedded.packager.stage(package(tmp_path)) as staged,
    ):
        members = {
            archive.METADATA: json.dumps({"tags": {"a": "1"}}).encode(),
            archive.MANIFEST: staged.manifest_bytes,
            **{
                f"files/sha256-{info.digest.removeprefix('sha256:')}": (
                    staged.folder / path
                ).read_bytes()
                for path, info in staged.manifest.files.items()
            },
        }
        with TestClient(create_app(settings), raise_server_exceptions=False) as app:
            app.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            app.headers["Content-Type"] = archive.MEDIA_TYPE
            yield app, embedded, members


def state(client: Client) -> tuple[int, int]:
    return len(client.audit(limit=10_000)), len(client.list_models())


def test_a_valid_archive_makes_a_version(http: tuple[TestClient, Client, dict]) -> None:
    app, embedded, members = http
    answer = app.post(URL, content=body(members))
    assert answer.status_code == 201, answer.text
    assert embedded.get_version("scored:1").tags == {"a": "1"}


def _weights(members: dict[str, bytes]) -> str:
    """The member holding weights.bin (the largest file)."""
    return max((k for k in members if k.startswith("files/")), key=lambda k: len(members[k]))


BAD = {
    "a file missing": lambda m: {k: v for k, v in m.items() if k != _weights(m)},
    "a file changed": lambda m: {**m, _weights(m): m[_weights(m)][:-1] + b"!"},
    "a stray member": lambda m: {**m, "other.txt": b"x"},
    "a file no manifest lists": lambda m: {**m, "files/sha256-" + "0" * 64: b"x"},
    "no manifest": lambda m: {k: v for k, v in m.items() if k != archive.MANIFEST},
    "metadata not JSON": lambda m: {**m, archive.METADATA: b"{"},
    "an unknown field": lambda m: {**m, archive.METADATA: b'{"promoted_from": "x/y:1"}'},
    "a bad tag": lambda m: {**m, archive.METADATA: b'{"tags": {"bad key!": "1"}}'},
    "a bad metric": lambda m: {**m, archive.METADATA: b'{"metrics": {"f1": "high"}}'},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_archive_changes_nothing(http: tuple[TestClient, Client, dict], case: str) -> None:
    app, embedded, members = http
    before = state(embedded)
    answer = app.post(URL, content=body(BAD[case](members)))
    assert 400 <= answer.status_code < 500, answer.text
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert state(embedded) == before


def test_not_an_archive_and_too_large(http: tuple[TestClient, Client, dict]) -> None:
    app, embedded, _ = http
    before = state(embedded)
    assert app.post(URL, content=b"not a tar at all").status_code == 400
    huge = app.post(URL, content=b"0" * (archive.MAX_BYTES + (2 << 20)))
    assert huge.status_code == 413
    assert state(embedded) == before


def test_a_refused_large_upload_is_answered_and_leaves_nothing(
    remote: tuple[Client, list[str]], tmp_path: Path
) -> None:
    """The server stores a file while it arrives; refused midway or before it starts, the
    client still reads the one-line error (not a connection closed under its upload) and
    no temporary bytes stay behind."""
    client, _ = remote
    folder = package(tmp_path, 1000)
    with client.packager.stage(folder) as staged:
        manifest = staged.manifest_bytes.decode()
    http = client.api.http.client  # type: ignore[attr-defined]
    begun = http.post("/api/v1/packages", json={"manifest": manifest}).json()
    weights = begun["missing"][0]
    big = bytes(32 << 20)  # far more than the sockets buffer
    wrong = http.put(f"/api/v1/packages/{begun['digest']}/files/{weights}", content=big)
    assert wrong.status_code == 400
    assert "do not match" in wrong.json()["error"]["message"]
    stray = "sha256:" + "0" * 64
    unknown = http.put(f"/api/v1/packages/{begun['digest']}/files/{stray}", content=big)
    assert unknown.status_code == 404
    assert "has no file" in unknown.json()["error"]["message"]
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size >= 32 << 20]
    assert leftovers == []
