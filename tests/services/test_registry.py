"""Registry rules, run against SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import Client, DependencyExists, InvalidInput, InvalidName, NotFound
from modelyard.domain.entities import ModelVersion
from modelyard.services.container import Services
from modelyard.services.metadata import draft
from modelyard.services.registry import RegistryService


def test_versions_number_from_one_per_environment_and_name(
    yard: Client, make_package: Callable[..., Path]
) -> None:
    a1 = yard.register("payments", make_package())
    a2 = yard.register("payments", make_package())
    b1 = yard.register("production/payments", make_package())
    c1 = yard.register("churn", make_package())
    assert (a1.version, a2.version, b1.version, c1.version) == (1, 2, 1, 1)
    assert a1.environment == "sandbox" and b1.environment == "production"
    assert [v.version for v in yard.list_versions("payments")] == [1, 2]
    assert yard.get_model("payments").latest_version == 2


def test_every_home_has_sandbox_and_production(yard: Client) -> None:
    assert yard.list_models(environment="sandbox") == []
    assert yard.list_models(environment="production") == []
    with pytest.raises(NotFound, match="unknown environment 'staging'"):
        yard.list_models(environment="staging")


def test_version_records_metadata_and_lineage(
    yard: Client, make_package: Callable[..., Path]
) -> None:
    for rows in (10, 20, 30):
        yard.register_dataset("invoices", pd.DataFrame({"amount": np.arange(rows, dtype=float)}))
    v = yard.register(
        "payments",
        make_package(),
        tags={"team": "risk"},
        metrics={"f1_macro": 0.71},
        params={"C": 1.0},
        datasets=["invoices:3"],
        description="first cut",
        git_commit="a" * 40,
    )
    got = yard.get_version("sandbox/payments:1")
    assert got == v
    assert got.tags == {"team": "risk"}
    assert got.metrics == {"f1_macro": 0.71}
    assert got.params == {"C": "1.0"}
    assert got.lineage.datasets == ("sandbox/invoices:3",)
    assert yard.get_dataset("invoices:3").used_by == ("sandbox/payments:1 (training)",)
    assert yard.get_baseline("payments:1")["rows"] == 30
    assert got.lineage.git_commit == "a" * 40
    assert got.created_by == "alice"
    assert got.flavor == "python"
    assert got.package_digest.startswith("sha256:")


def test_identical_packages_share_storage(
    client: Client, services: Services, make_package: Callable[..., Path]
) -> None:
    v1 = client.register("payments", make_package(4096, seed=1))
    v2 = client.register("churn", make_package(4096, seed=1))
    assert v1.package_digest == v2.package_digest
    # score.py, weights.bin and the manifest: three objects, stored once
    assert len(list(services.artifacts.iter_digests())) == 3


def test_alias_moves_and_records_previous_version(
    yard: Client, make_package: Callable[..., Path]
) -> None:
    for _ in range(3):
        yard.register("payments", make_package())
    first = yard.set_alias("payments", "champion", 1)
    assert first.previous_version is None
    moved = yard.set_alias("payments", "champion", 3)
    assert (moved.version, moved.previous_version) == (3, 1)
    assert yard.get_version("payments@champion").version == 3
    assert yard.get_model("payments").aliases == {"champion": 3}
    events = yard.audit(subject="alias:sandbox/payments@champion")
    assert [(e.before, e.after) for e in events] == [
        ({"version": None}, {"version": 1}),
        ({"version": 1}, {"version": 3}),
    ]
    with pytest.raises(NotFound, match="version sandbox/payments:9 does not exist"):
        yard.set_alias("payments", "champion", 9)
    with pytest.raises(InvalidName, match="reserved"):
        yard.set_alias("payments", "latest", 1)


def test_latest_resolves_to_newest_version(yard: Client, make_package: Callable[..., Path]) -> None:
    yard.register("payments", make_package())
    yard.register("payments", make_package())
    assert yard.get_version("payments").version == 2
    assert yard.get_version("payments@latest").version == 2


def test_archive_and_restore(yard: Client, make_package: Callable[..., Path]) -> None:
    yard.register("payments", make_package())
    assert yard.archive("payments:1").status == "archived"
    with pytest.raises(InvalidInput, match="archived"):
        yard.set_alias("payments", "champion", 1)
    assert yard.archive("payments:1", restore=True).status == "ready"


def test_a_version_with_dependents_cannot_be_deleted_or_archived(
    client: Client, services: Services, make_package: Callable[..., Path]
) -> None:
    client.register("payments", make_package())
    client.set_alias("payments", "champion", 1)
    with pytest.raises(DependencyExists, match="alias 'champion' points to it"):
        client.delete_version("payments:1")
    with pytest.raises(DependencyExists):
        client.archive("payments:1")

    # the hook other services use: a dependents check names what holds the version; a
    # registry is given its checks when it is made (as ``Scope.registry`` is)
    def deployed(_tx: object, _version: ModelVersion) -> list[str]:
        return ["deployment 'web' serves it"]

    local = services.local()
    registry = RegistryService(
        services.store,
        local.versions,
        services.settings.environment,
        local.principal,
        dependents=(deployed,),
    )
    client.delete_alias("payments", "champion")
    with pytest.raises(DependencyExists, match="deployment 'web' serves it"):
        registry.delete_version("payments:1")
    with pytest.raises(DependencyExists, match="deployment 'web' serves it"):
        registry.archive("payments:1")
    with pytest.raises(DependencyExists, match="deployment 'web'"):
        registry.delete_model("payments")
    assert client.get_version("payments:1").version == 1


def test_delete_version_then_model(yard: Client, make_package: Callable[..., Path]) -> None:
    yard.register("payments", make_package())
    yard.register("payments", make_package())
    yard.delete_version("payments:1")
    with pytest.raises(NotFound):
        yard.get_version("payments:1")
    # numbers are never reused
    assert yard.register("payments", make_package()).version == 3
    yard.set_alias("payments", "champion", 3)
    yard.delete_model("payments")  # its own aliases go with it
    with pytest.raises(NotFound, match="model sandbox/payments does not exist"):
        yard.get_model("payments")
    actions = [e.action for e in yard.audit(subject="model")]
    assert actions.count("version.created") == 3
    assert "version.deleted" in actions and "model.deleted" in actions


def test_every_mutation_is_audited_with_actor(
    yard: Client, make_package: Callable[..., Path]
) -> None:
    yard.register("payments", make_package(), tags={"a": "1"})
    yard.set_version_tags("payments:1", {"b": "2"})
    yard.log_metrics("payments:1", {"auc": 0.9})
    yard.set_alias("payments", "champion", 1)
    events = [e for e in yard.audit() if e.action.split(".")[0] in ("model", "version", "alias")]
    assert [e.action for e in events] == [
        "model.created",
        "version.created",
        "version.tags_changed",
        "version.metrics_logged",
        "alias.set",
    ]
    assert {e.actor for e in events} == {"alice"}
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 5))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert yard.doctor().ok


def test_a_limited_audit_shows_the_newest_events_and_after_pages_from_the_first(
    yard: Client, make_package: Callable[..., Path]
) -> None:
    for _ in range(3):
        yard.register("payments", make_package())
    subjects = [f"model_version:sandbox/payments:{n}" for n in (1, 2, 3)]
    newest = yard.audit(subject="model_version:", limit=2)
    assert [e.subject for e in newest] == subjects[1:]  # the newest two, oldest first
    first = yard.audit(subject="model_version:", after=0, limit=2)
    assert [e.subject for e in first] == subjects[:2]
    assert [e.subject for e in yard.audit(subject="model_version:", after=first[-1].seq)] == [
        subjects[2]
    ]


def test_model_tags_and_description(yard: Client, make_package: Callable[..., Path]) -> None:
    yard.register("payments", make_package())
    m = yard.set_model_tags("payments", {"owner": "finance"}, description="invoice risk")
    assert (m.tags, m.description) == ({"owner": "finance"}, "invoice risk")
    m = yard.set_model_tags("payments", {}, remove=["owner"])
    assert m.tags == {}
    with pytest.raises(NotFound, match="tag 'nope'"):
        yard.set_model_tags("payments", {}, remove=["nope"])


def test_an_object_no_row_names_is_spared_for_an_hour_then_collected(
    services: Services, make_package: Callable[..., Path]
) -> None:
    """A registration stores its objects just before the transaction that records them:
    doctor takes a young unnamed object for one in flight, an old one for debris."""
    api = services.local()
    api.operations.doctor(gc=True)  # a fresh home: nothing to say
    stray = services.artifacts.put_bytes(b"left by a registration killed before its commit")
    report = api.operations.doctor(gc=True)
    assert report.ok
    assert [(f.severity, f.kind) for f in report.findings if f.subject == stray.digest] == [
        ("warning", "interrupted_registration")
    ]
    assert services.artifacts.exists(stray.digest)  # gc spares it: it may be in flight

    two_hours_ago = time.time() - 7200
    os.utime(services.artifacts.path(stray.digest), (two_hours_ago, two_hours_ago))
    report = api.operations.doctor()
    assert not report.ok
    assert [(f.severity, f.kind) for f in report.findings] == [("error", "object_without_row")]
    assert api.operations.doctor(gc=True).ok
    assert not services.artifacts.exists(stray.digest)

    # a registered version's objects are never debris, whatever their age
    with services.packager.stage(make_package()) as staged:
        version = api.versions.add("payments", staged, draft(), None)
    for digest in [version.package_digest, *(i.digest for i in staged.manifest.files.values())]:
        os.utime(services.artifacts.path(digest), (two_hours_ago, two_hours_ago))
    report = api.operations.doctor(gc=True)
    assert report.ok and report.objects_checked == 3
    assert api.registry.get_version(version.ref).package_digest == version.package_digest
