"""The rules of deployments, on SQLite and PostgreSQL: every change is a revision, aliases
are resolved once, served versions are protected, bad specs change nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard import Client
from modelyard.domain.errors import (
    AlreadyExists,
    DependencyExists,
    InvalidInput,
    InvalidName,
    NotFound,
)


@pytest.fixture
def three(client: Client, make_package: Callable[..., Path]) -> Client:
    for seed in range(3):
        client.register("payments", make_package(256, seed=seed))
    return client


def test_every_change_is_a_revision(three: Client) -> None:
    c = three
    d = c.create_deployment("pay", ["payments:1"])
    assert (d.revision.number, d.revision.action) == (1, "create")
    assert [(v.name, v.weight) for v in d.revision.live] == [("payments:1", 100.0)]
    assert set(d.new_keys) == {"primary", "secondary"}
    assert all(k.startswith("myk_") for k in d.new_keys.values())

    d = c.update_deployment("pay", ["payments:1=90", "payments:2=10"], shadows=["payments:3=20"])
    assert d.revision.number == 2
    assert [(v.name, v.weight, v.role) for v in d.revision.variants] == [
        ("payments:1", 90.0, "live"),
        ("payments:2", 10.0, "live"),
        ("payments:3", 20.0, "shadow"),
    ]
    d = c.update_deployment("pay", options={"max_batch_size": 32})  # keeps the models
    assert d.revision.number == 3 and len(d.revision.variants) == 3
    assert d.revision.options.max_batch_size == 32

    d = c.rollback_deployment("pay")
    assert (d.revision.number, d.revision.action, d.revision.rolled_back_to) == (4, "rollback", 2)
    assert d.revision.options.max_batch_size == 256
    d = c.rollback_deployment("pay", to=1)
    assert [v.name for v in d.revision.variants] == ["payments:1"]
    assert [r.number for r in c.list_revisions("pay")] == [1, 2, 3, 4, 5]
    actions = [e.action for e in c.audit(subject="deployment:")]
    assert actions == [
        "deployment.created",
        "deployment.updated",
        "deployment.updated",
        "deployment.rolled_back",
        "deployment.rolled_back",
    ]


def test_an_alias_is_resolved_once(three: Client) -> None:
    c = three
    c.set_alias("payments", "champion", 2)
    d = c.create_deployment("pay", ["payments@champion"])
    assert d.revision.live[0].name == "payments:2"
    c.set_alias("payments", "champion", 3)  # moving the alias does not redeploy
    assert c.get_deployment("pay").revision.live[0].name == "payments:2"
    assert c.get_deployment("pay").revision.number == 1
    d = c.update_deployment("pay", ["payments@champion"])
    assert d.revision.live[0].name == "payments:3"


def test_a_served_version_cannot_be_deleted_or_archived(three: Client) -> None:
    c = three
    c.create_deployment("pay", ["payments:1=50", "payments:2=50"], shadows=["payments:3"])
    for ref in ("payments:1", "payments:3"):
        with pytest.raises(DependencyExists, match="deployment 'pay' serves it"):
            c.delete_version(ref)
        with pytest.raises(DependencyExists, match="deployment 'pay' serves it"):
            c.archive(ref)
    with pytest.raises(DependencyExists, match="deployment 'pay'"):
        c.delete_model("payments")
    c.update_deployment("pay", ["payments:2"], shadows=[])
    c.archive("payments:1")  # no longer served by the current revision
    with pytest.raises(InvalidInput, match="archived"):
        c.rollback_deployment("pay")  # revision 1 served it
    c.delete_deployment("pay")
    c.delete_version("payments:2")
    with pytest.raises(NotFound, match="deployment 'pay' does not exist"):
        c.get_deployment("pay")


@pytest.mark.parametrize(
    ("models", "shadows", "error", "words"),
    [
        ([], [], InvalidInput, "at least one live model"),
        (["payments:1=60", "payments:2=60"], [], InvalidInput, "add up to 100, got 120"),
        (["payments:1=150"], [], InvalidInput, "0..100"),
        (["payments:1", "payments:1"], [], InvalidInput, "listed twice"),
        (["payments:1"], ["payments:2=80"], InvalidInput, "1..50 percent"),
        (["payments:9"], [], NotFound, "payments:9 does not exist"),
        (["nope:1"], [], NotFound, "does not exist"),
        (["production/payments:1"], [], InvalidInput, "names environment 'production'"),
        (["payments:1=ten"], [], InvalidInput, "invalid model spec"),
    ],
)
def test_bad_specs_change_nothing(
    three: Client, models: list[str], shadows: list[str], error: type[Exception], words: str
) -> None:
    c = three
    before = c.audit()
    with pytest.raises(error, match=words):
        c.create_deployment("pay", models, environment="sandbox", shadows=shadows)
    assert c.list_deployments() == []
    c.create_deployment("ok", ["payments:1"])
    with pytest.raises(error, match=words):
        c.update_deployment("ok", models, shadows=shadows)
    assert c.get_deployment("ok").revision.number == 1
    assert len(c.audit()) == len(before) + 1


def test_names_keys_and_options(three: Client) -> None:
    c = three
    with pytest.raises(InvalidName):
        c.create_deployment("bad name!", ["payments:1"])
    d = c.create_deployment("pay", ["payments:1"])
    with pytest.raises(AlreadyExists, match="already exists"):
        c.create_deployment("pay", ["payments:1"])
    with pytest.raises(InvalidInput, match="unknown serving option 'batch'"):
        c.update_deployment("pay", options={"batch": 3})
    with pytest.raises(InvalidInput, match="max_batch_size must be"):
        c.update_deployment("pay", options={"max_batch_size": 0})
    with pytest.raises(InvalidInput, match="nothing to update"):
        c.update_deployment("pay")
    with pytest.raises(NotFound, match="no revision 7"):
        c.rollback_deployment("pay", to=7)
    with pytest.raises(NotFound, match="no revision 0 to roll back to"):
        c.rollback_deployment("pay")
    old = {k.slot: k.created_at for k in d.keys}
    rotated = c.regenerate_key("pay", "secondary")
    assert {k.slot: k.created_at for k in rotated.keys}["primary"] == old["primary"]
    assert {k.slot: k.created_at for k in rotated.keys}["secondary"] > old["secondary"]
    assert set(rotated.new_keys) == {"secondary"}
    assert rotated.new_keys["secondary"].startswith(rotated.keys[1].prefix)  # "myk_"
    assert [k.prefix for k in rotated.keys] == ["myk_", "myk_"]  # no part of a secret
    with pytest.raises(InvalidInput, match="primary or secondary"):
        c.regenerate_key("pay", "tertiary")
    assert "deployment.keys_regenerated" in [e.action for e in c.audit()]
