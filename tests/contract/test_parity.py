"""Every contract operation behaves the same embedded and over HTTP.

The cases are keyed by the contracts themselves (``services.contracts``): an operation
added to a contract without a case here fails ``test_every_operation_has_a_case``.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelyard import Client
from modelyard.services.contracts import CONTRACTS, operations_of
from modelyard.wire.codec import Codec
from tests.contract.cases import CASES
from tests.contract.conftest import World

#: Values that differ between two installations by nature, not by behaviour.
VOLATILE = frozenset(
    {
        "created_at",
        "updated_at",
        "time",
        "last_used_at",
        "revoked_at",
        "expires_at",
        "fired_at",
        "last_evaluated_at",
        "next_run_at",
        "resolved_at",
        "since",
        "until",
        "hash",
        "prev_hash",
        "secret",
        "prefix",
        "public_key",
        "key_id",
        "source",
        "id",
        "new_keys",
    }
)


def declared() -> set[str]:
    return {
        f"{attr}.{op}" for attr, contract in CONTRACTS.items() for op in operations_of(contract)
    }


def test_every_operation_has_a_case() -> None:
    missing = sorted(declared() - set(CASES))
    stale = sorted(set(CASES) - declared())
    assert not missing, f"contract operations without a parity case: {missing}"
    assert not stale, f"parity cases for operations no contract declares: {stale}"


def normal(value: Any) -> Any:
    """The JSON of a result, without what differs between installations by nature."""
    encoded = Codec().encode(value)

    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in VOLATILE}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return strip(encoded)


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where two JSON values differ, as paths with both values (the first few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = [f"{path}.{k}: only one side" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            found += differences(a[k], b[k], f"{path}.{k}")
        return found[:5]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ][:5]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.mark.remote
@pytest.mark.xdist_group("contract")
@pytest.mark.parametrize("key", sorted(CASES))
def test_operation_behaves_the_same_both_ways(
    key: str, pair: tuple[Client, Client], world: World
) -> None:
    embedded, remote = pair
    here = normal(CASES[key](embedded, world))
    there = normal(CASES[key](remote, world))
    assert here == there, f"embedded and remote differ at {differences(here, there)}"
    assert here not in (None, [], {}), "a case must return what a caller would look at"
