"""Signed bundles between installations: two servers exchange one, and every kind of bad
bundle is refused with nothing written."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from modelyard import Client, Conflict, InvalidInput, Settings
from modelyard.domain.auth import Principal
from modelyard.services.bundles import BundleService
from tests.monitoring.conftest import FEATURES, invoices
from tests.services.test_promotions import pipeline
from tests.support.live import live_server

ROOT = Principal("root", is_admin=True)


def seeded(home: Path) -> Client:
    c = Client(settings=Settings(home=home, actor="alice"))
    data = invoices(1500, seed=1)
    c.register_dataset("train", data)
    c.register_dataset("holdout", invoices(400, seed=2))
    c.log_model(
        pipeline(15).fit(data[FEATURES], data["label"]),
        "payments",
        input_example=data[FEATURES].head(),
        datasets=["train"],
        tags={"team": "finance"},
    )
    c.evaluate("payments:1", "holdout")
    return c


def remote(home: Path, url: str, token: str) -> Client:
    return Client(settings=Settings(home=home, url=url, token=SecretStr(token)))


def test_two_servers_exchange_a_bundle(tmp_path: Path) -> None:
    source = seeded(tmp_path / "a")
    data = invoices(300, seed=9)[FEATURES]
    expected = source.load_model("payments:1").predict_proba(data)
    installation = source._services.bundles.installation()
    tokens = {}
    for name in ("a", "b"):
        with Client(settings=Settings(home=tmp_path / name, actor="root")) as c:
            c._services.auth.create_user("ops", by=ROOT, is_admin=True)
            tokens[name] = c._services.auth.create_token(by=ROOT, user="ops", name="t").secret
    source.close()
    with (
        live_server(Settings(home=tmp_path / "a")) as url_a,
        live_server(Settings(home=tmp_path / "b")) as url_b,
    ):
        a = remote(tmp_path / "ca", url_a, tokens["a"])
        b = remote(tmp_path / "cb", url_b, tokens["b"])
        key = a.create_key("release")
        assert b.trust_key("site-a", key.public_key).key_id == key.key_id
        bundle = tmp_path / "payments-1.bundle"
        info = a.export_bundle("sandbox/payments:1", bundle, key="release")
        assert info["key_id"] == key.key_id and bundle.stat().st_size > 1000

        first = b.import_bundle(bundle, environment="production")
        assert first.created and first.version.ref == "production/payments:1"
        assert first.version.locked
        # the lineage names the source installation and version
        assert first.version.lineage.promoted_from == f"{installation}/sandbox/payments:1"
        assert first.version.tags == {"team": "finance"}
        again = b.import_bundle(bundle, environment="production")
        assert not again.created and again.version.ref == "production/payments:1"
        assert [v.version for v in b.list_versions("production/payments")] == [1]
        got = b.load_model("production/payments:1").predict_proba(data)
        assert np.array_equal(got, expected)
        assert b.evaluations("production/payments:1")[0].metrics["f1_macro"] > 0
        assert b.get_baseline("production/payments:1")["rows"] == 1500
        with pytest.raises(Conflict, match="is locked"):
            b.set_tags("production/payments:1", {"team": "other"})
        a.close()
        b.close()


# -- bad bundles ----------------------------------------------------------------------------
Members = list[tuple[tarfile.TarInfo, bytes]]


def members_of(data: bytes) -> Members:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar:
            handle = tar.extractfile(m)
            out.append((m, handle.read() if handle else b""))
    return out


def pack(members: Members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for original, body in members:
            if original.isreg():
                tar.addfile(_sized(original.name, len(body)), io.BytesIO(body))
            else:
                tar.addfile(original)
    return buf.getvalue()


def flipped(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]


@pytest.fixture
def exchange(tmp_path: Path) -> tuple[bytes, Client]:
    """A good bundle from home A, and home B that trusts A's key."""
    a = seeded(tmp_path / "a")
    key = a.create_key("release")
    buf = io.BytesIO()
    a._services.bundles.export("payments:1", buf, key="release", actor=a.actor)
    a.close()
    b = Client(settings=Settings(home=tmp_path / "b", actor="bob"))
    b.trust_key("site-a", key.public_key)
    return buf.getvalue(), b


def state(b: Client) -> tuple[int, int, int]:
    objects = sum(1 for _ in b._services.artifacts.iter_digests())
    return len(b.audit(limit=10_000)), len(b.list_models(environment="production")), objects


def refused(b: Client, data: bytes, message: str, service: BundleService | None = None) -> None:
    before = state(b)
    svc = service or b._services.bundles
    with pytest.raises(InvalidInput, match=message):
        svc.import_bundle(io.BytesIO(data), actor=b.actor, environment="production")
    assert state(b) == before, "a refused bundle wrote something"
    assert not list((b.settings.resolved_home / "tmp").glob("bundle-*"))


def test_the_good_bundle_imports(exchange: tuple[bytes, Client]) -> None:
    data, b = exchange
    found = b._services.bundles.import_bundle(
        io.BytesIO(data), actor=b.actor, environment="production"
    )
    assert found.created and found.version.locked and not b.doctor().findings


def test_a_flipped_byte_in_any_member_is_refused(exchange: tuple[bytes, Client]) -> None:
    data, b = exchange
    members = members_of(data)
    assert [m.name for m, _ in members][:2] == ["bundle.json", "bundle.sig"]
    messages = {
        "bundle.json": "signature does not verify",
        "bundle.sig": "signature (file is malformed|does not verify)",
    }
    for i, (info, body) in enumerate(members):
        for at in (0, len(body) // 2, len(body) - 2):
            changed = list(members)
            changed[i] = (info, flipped(body, at))
            refused(
                b, pack(changed), messages.get(info.name, "does not match its digest|signature")
            )


def test_wrong_or_unknown_signatures_are_refused(
    exchange: tuple[bytes, Client], tmp_path: Path
) -> None:
    data, b = exchange
    members = members_of(data)
    sig = json.loads(members[1][1])
    other = Client(settings=Settings(home=tmp_path / "c", actor="eve"))
    stranger = other.create_key("stranger")
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(
        (other.settings.resolved_home / "keys" / "stranger.key").read_bytes(), None
    )
    forged = {
        **sig,
        "key_id": stranger.key_id,
        "signature": base64.b64encode(private.sign(members[0][1])).decode(),
    }  # type: ignore[union-attr]
    refused(
        b,
        pack([members[0], (members[1][0], json.dumps(forged).encode()), *members[2:]]),
        f"signed by key {stranger.key_id}, which this installation does not trust",
    )
    wrong = {**sig, "signature": base64.b64encode(private.sign(members[0][1])).decode()}  # type: ignore[union-attr]
    refused(
        b,
        pack([members[0], (members[1][0], json.dumps(wrong).encode()), *members[2:]]),
        "signature does not verify",
    )
    other.close()


def link(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "/etc/passwd"
    return info


def test_unsafe_members_are_refused(exchange: tuple[bytes, Client]) -> None:
    data, b = exchange
    members = members_of(data)
    obj = members[2][1]
    cases: list[tuple[Members, str]] = [
        ([*members, (tarfile.TarInfo("objects/../../evil"), obj)], "unsafe member path"),
        ([*members, (tarfile.TarInfo("/tmp/evil"), obj)], "unsafe member path"),
        ([*members, (link("objects/link", tarfile.SYMTYPE), b"")], "is a symbolic link"),
        ([*members, (link("objects/dev", tarfile.CHRTYPE), b"")], "is a device"),
        ([*members, (link("objects/hard", tarfile.LNKTYPE), b"")], "is a hard link"),
        ([*members, (tarfile.TarInfo("notes.txt"), b"hi")], "unexpected bundle member"),
        (members[:2] + members[3:], "lacks member 'objects/sha256-"),
        (members[1:], "has no bundle.json"),
    ]
    for changed, message in cases:
        refused(b, pack(changed), message)


def test_truncated_and_oversized_bundles_are_refused(
    exchange: tuple[bytes, Client], tmp_path: Path
) -> None:
    data, b = exchange
    for cut in (10, len(data) // 3, len(data) - 20):
        refused(b, data[:cut], "truncated or corrupt|too large|has no")
    refused(b, b"not a bundle at all", "not a readable bundle")

    # a decompression bomb: 200 MB of zeros that compress to a few hundred kB; refused
    # by its header, before it is inflated
    members = members_of(data)
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as tar:
        for info, body in members:
            tar.addfile(_sized(info.name, len(body)), io.BytesIO(body))
        huge = _sized("objects/sha256-" + "0" * 64, 200 << 20)
        tar.addfile(huge, _Zeros(200 << 20))
    assert len(bomb.getvalue()) < 2 << 20
    small = BundleService(
        b._services.db,
        b._services.registry,
        b._services.datasets,
        b._services.evaluations,
        b._services.artifacts,
        b.settings.resolved_home,
        max_bytes=50 << 20,
    )
    refused(b, bomb.getvalue(), "too large", small)


def _sized(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)
