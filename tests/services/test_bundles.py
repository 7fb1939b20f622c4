"""Signed bundles between installations: two servers exchange one, and every kind of bad
bundle is refused with nothing written."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from pydantic import SecretStr

from modelyard import Client, Conflict, InvalidInput, Settings
from modelyard.services.bundles import BundleService
from modelyard.services.container import Services
from tests.monitoring.conftest import FEATURES, invoices
from tests.services.test_promotions import pipeline
from tests.support.live import live_server


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


def installation_of(home: Path) -> str:
    """The installation id a home signs its bundles with."""
    services = Services.open(Settings(home=home))
    try:
        return services.local().bundles.installation()
    finally:
        services.close()


def test_two_servers_exchange_a_bundle(tmp_path: Path) -> None:
    source = seeded(tmp_path / "a")
    data = invoices(300, seed=9)[FEATURES]
    expected = source.load_model("payments:1").predict_proba(data)
    installation = installation_of(tmp_path / "a")
    tokens = {}
    for name in ("a", "b"):
        with Client(settings=Settings(home=tmp_path / name, actor="root")) as c:
            c.create_user("ops", is_admin=True)
            tokens[name] = c.create_token("t", user="ops").secret
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
        assert b.list_evaluations("production/payments:1")[0].metrics["f1_macro"] > 0
        assert b.get_baseline("production/payments:1")["rows"] == 1500
        with pytest.raises(Conflict, match="is locked"):
            b.set_version_tags("production/payments:1", {"team": "other"})
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


class Exchange(NamedTuple):
    """A good bundle from home A, and home B that trusts A's key: its client, and its
    services (for its artifact store)."""

    data: bytes
    b: Client
    home: Services


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
    a = seeded(tmp_path / "a")
    key = a.create_key("release")
    buf = io.BytesIO()
    a.write_bundle("payments:1", buf, key="release")
    a.close()
    with Client(settings=Settings(home=tmp_path / "b", actor="bob")) as b:
        b.trust_key("site-a", key.public_key)
        home = Services.open(b.settings)
        try:
            yield Exchange(buf.getvalue(), b, home)
        finally:
            home.close()


def state(x: Exchange) -> tuple[int, int, int]:
    objects = sum(1 for _ in x.home.artifacts.iter_digests())
    return len(x.b.audit(limit=10_000)), len(x.b.list_models(environment="production")), objects


def refused(x: Exchange, data: bytes, message: str, service: BundleService | None = None) -> None:
    before = state(x)
    importer = x.b.import_bundle if service is None else service.import_bundle
    with pytest.raises(InvalidInput, match=message):
        importer(io.BytesIO(data), environment="production")
    assert state(x) == before, "a refused bundle wrote something"
    assert not list((x.b.settings.resolved_home / "tmp").glob("bundle-*"))


def test_the_good_bundle_imports(exchange: Exchange) -> None:
    data, b, _ = exchange
    found = b.import_bundle(io.BytesIO(data), environment="production")
    assert found.created and found.version.locked and not b.doctor().findings


def test_a_flipped_byte_in_any_member_is_refused(exchange: Exchange) -> None:
    data, _, _ = exchange
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
                exchange,
                pack(changed),
                messages.get(info.name, "does not match its digest|signature"),
            )


def test_wrong_or_unknown_signatures_are_refused(exchange: Exchange, tmp_path: Path) -> None:
    data, _, _ = exchange
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
        exchange,
        pack([members[0], (members[1][0], json.dumps(forged).encode()), *members[2:]]),
        f"signed by key {stranger.key_id}, which this installation does not trust",
    )
    wrong = {**sig, "signature": base64.b64encode(private.sign(members[0][1])).decode()}  # type: ignore[union-attr]
    refused(
        exchange,
        pack([members[0], (members[1][0], json.dumps(wrong).encode()), *members[2:]]),
        "signature does not verify",
    )
    other.close()


def link(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "/etc/passwd"
    return info


def test_unsafe_members_are_refused(exchange: Exchange) -> None:
    data, _, _ = exchange
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
        refused(exchange, pack(changed), message)


def test_truncated_and_oversized_bundles_are_refused(exchange: Exchange) -> None:
    data, _, home = exchange
    for cut in (10, len(data) // 3, len(data) - 20):
        refused(exchange, data[:cut], "truncated or corrupt|too large|has no")
    refused(exchange, b"not a bundle at all", "not a readable bundle")

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
    bob = home.local()  # home B's bundle service, with a lower size limit
    small = BundleService(
        home.store,
        bob.registry,
        bob.datasets,
        bob.evaluations,
        home.artifacts,
        home.settings.resolved_home,
        bob.principal,
        max_bytes=50 << 20,
    )
    refused(exchange, bomb.getvalue(), "too large", small)


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
