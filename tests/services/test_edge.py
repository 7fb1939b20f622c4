"""The rules of scoring elsewhere: an export is verified whole before it serves (changed,
added, missing or re-signed files are refused in one line), an export unpacks only the
members an export may hold, and rows uploaded from a device are checked and stored once."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modelyard import Client
from modelyard.domain.auth import Principal, Role
from modelyard.domain.errors import (
    IntegrityFailure,
    InvalidInput,
    PermissionDenied,
)
from modelyard.flavors.package import write_manifest
from modelyard.monitoring.collector import Record, to_table
from modelyard.sdk.edge import export_to
from modelyard.services import exports
from modelyard.services.bundles import sign
from modelyard.services.container import Services


def make_export(folder: Path, key: Ed25519PrivateKey) -> Path:
    files = {
        exports.EXPORT: json.dumps({"format": 1, "deployment": {"name": "d"}}).encode(),
        exports.REQUIREMENTS: b"modelyard==0.1.0\n",
        f"packages/{'a' * 64}/model.joblib": b"weights",
        "wheels/modelyard-0.1.0-py3-none-any.whl": b"zip",
    }
    listing = {}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        listing[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    body = json.dumps(listing).encode()
    (folder / exports.FILES).write_bytes(body)
    (folder / exports.SIGNATURE).write_text(json.dumps(sign(key, body)))
    return folder


def test_an_export_is_verified_whole(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    folder = make_export(tmp_path / "x", key)
    public = json.loads((folder / exports.SIGNATURE).read_text())["public_key"]
    assert exports.verify_export(folder, (public,))["deployment"] == {"name": "d"}
    (folder / exports.COLLECTED / "deployment=d").mkdir(parents=True)  # rows scored here
    (folder / exports.COLLECTED / "deployment=d" / "part-1.parquet").write_bytes(b"rows")
    exports.verify_export(folder)

    model = f"packages/{'a' * 64}/model.joblib"
    cases = {
        "changed": (lambda f: (f / model).write_bytes(b"other"), f"{model} does not match"),
        "added": (lambda f: (f / "wheels" / "evil.whl").write_bytes(b""), "evil.whl is not part"),
        "missing": (lambda f: (f / exports.REQUIREMENTS).unlink(), "requirements.txt is missing"),
        "listing": (
            lambda f: (f / exports.FILES).write_text("{}"),
            "its signature does not match",
        ),
    }
    for i, (change, message) in enumerate(cases.values()):
        copy = make_export(tmp_path / f"c{i}", key)
        change(copy)
        with pytest.raises(IntegrityFailure, match=message):
            exports.verify_export(copy)
    # re-signed by someone else: whole again, but not by the key this device trusts
    forged = make_export(tmp_path / "forged", Ed25519PrivateKey.generate())
    exports.verify_export(forged)
    with pytest.raises(IntegrityFailure, match="which this device does not trust"):
        exports.verify_export(forged, (public,))
    (tmp_path / "empty").mkdir()
    with pytest.raises(IntegrityFailure, match="is not a modelyard export: FILES.json is missing"):
        exports.verify_export(tmp_path / "empty")
    with pytest.raises(InvalidInput, match="^no such folder: "):
        exports.verify_export(tmp_path / "nothing")


def tar_of(members: dict[str, bytes], link: str | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return out.getvalue()


@pytest.mark.parametrize(
    ("members", "link", "message"),
    [
        ({"../evil": b"x"}, None, "unexpected member '../evil'"),
        ({f"packages/{'a' * 64}/../../x": b"x"}, None, "unexpected member"),
        ({"bin/sh": b"x"}, None, "unexpected member 'bin/sh'"),
        ({}, "wheels/x.whl", "unexpected member 'wheels/x.whl'"),
    ],
)
def test_an_export_unpacks_only_what_an_export_holds(
    tmp_path: Path, members: dict[str, bytes], link: str | None, message: str
) -> None:
    data = tar_of(members, link)
    with pytest.raises(IntegrityFailure, match=message):
        export_to(lambda out: {"written": out.write(data)}, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def rows_file(deployment: str, hours: tuple[int, ...] = (9,)) -> bytes:
    def record(hour: int) -> Record:
        moment = datetime(2026, 12, 7, hour, tzinfo=UTC)
        values = ("m:1", "live", 200, 1.0, {"a": [1.0, 2.0]}, ["x", "y"], None, 2)
        return Record(f"r{hour}", moment, deployment, 1, *values)

    records = [record(h) for h in hours]
    out = io.BytesIO()
    pq.write_table(to_table(records), out)
    return out.getvalue()


def test_rows_from_a_device_are_checked_and_stored_once(
    client: Client, trained_model: object, payments_frame: object
) -> None:
    features = payments_frame.drop(columns="label")  # type: ignore[attr-defined]
    client.log_model(trained_model, "m", input_example=features.head())
    client.create_deployment("d", ["m:1"])
    data = rows_file("d", (9, 10))
    assert client.upload_collected("d", data) == 4  # two requests of two rows, two hours
    assert client.upload_collected("d", data) == 0
    collected = client.settings.home / "collected" / "deployment=d"
    assert sorted(p.name for p in collected.iterdir()) == [
        "hour=2026-12-07T09",
        "hour=2026-12-07T10",
    ]
    with pytest.raises(InvalidInput, match="^the body is not a Parquet file of collected rows$"):
        client.upload_collected("d", b"not parquet")
    bare = io.BytesIO()
    pq.write_table(pa.table({"request_id": ["r"]}), bare)
    with pytest.raises(InvalidInput, match="lack column\\(s\\) row, time, deployment"):
        client.upload_collected("d", bare.getvalue())
    with pytest.raises(PermissionDenied, match="rows of deployment 'other' cannot go to 'd'"):
        client.upload_collected("d", rows_file("other"))
    assert sorted(p.name for p in collected.iterdir()) == [
        "hour=2026-12-07T09",
        "hour=2026-12-07T10",
    ]


def test_an_edge_export_takes_deploy_and_the_servers_environment(
    services: Services, make_package: Callable[..., Path]
) -> None:
    admin = services.local()
    folder = make_package()
    with Client(settings=services.settings) as c:
        c.register("m", folder)
        c.create_deployment("d", ["m:1"])
        old = make_package()
        write_manifest(old, flavor="python", entrypoint="score.py",
                       requirements=("scikit-learn==1.5.2",))  # fmt: skip
        c.register("old", old)
        c.create_deployment("o", ["old:1"])
        c.create_key("k")
    scorer = Principal("edgebox", roles={"sandbox": frozenset({Role.SCORER})})
    with pytest.raises(PermissionDenied, match="may not deploy in 'sandbox'"):
        services.bind(scorer).edge.write_edge("d", io.BytesIO(), key="k")
    out = io.BytesIO()
    with pytest.raises(InvalidInput, match=r"^a model of 'o' needs its own environment "
                       r"\(scikit-learn==1.5.2\); an edge export carries the server's "
                       "environment only$"):  # fmt: skip
        admin.edge.write_edge("o", out, key="k")
    assert out.getvalue() == b""
