"""The search filter language over versions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelyard import Client, InvalidFilter


@pytest.fixture
def catalog(yard: Client, make_package: Callable[..., Path]) -> Client:
    pkg = make_package()  # identical packages: stored once, registered many times
    rows = [
        ("payments", "risk", 0.91, "lr", "C=1"),
        ("payments", "risk", 0.85, "gbm", "C=2"),
        ("payments", "growth", 0.95, "gbm", "C=3"),
        ("churn", "growth", 0.70, "lr", "C=1"),
        ("churn", "risk", 0.99, "rf", "C=5"),
    ]
    for name, team, acc, algo, c in rows:
        yard.register(
            name,
            pkg,
            tags={"team": team, "algo": algo},
            metrics={"accuracy": acc},
            params={"C": c.split("=")[1]},
        )
    yard.register("production/payments", pkg, tags={"team": "risk"}, metrics={"accuracy": 0.9})
    yard.set_alias("payments", "champion", 2)
    return yard


def refs(yard: Client, text: str, **kw: object) -> list[str]:
    return [v.ref for v in yard.search_versions(text, **kw).items]  # type: ignore[arg-type]


def test_tag_and_metric_comparisons(catalog: Client) -> None:
    got = refs(
        catalog,
        "tags.team = 'risk' and metrics.accuracy > 0.88",
        order_by="metrics.accuracy DESC",
        environment="*",
    )
    assert got == ["sandbox/churn:2", "sandbox/payments:1", "production/payments:1"]


def test_or_and_parentheses(catalog: Client) -> None:
    got = refs(
        catalog,
        "name = 'churn' and (tags.algo = 'rf' or metrics.accuracy < 0.75)",
        order_by="version",
    )
    assert got == ["sandbox/churn:1", "sandbox/churn:2"]
    got = refs(
        catalog,
        "name = 'churn' and tags.algo = 'rf' or metrics.accuracy < 0.75",
        order_by="version",
    )
    assert got == ["sandbox/churn:1", "sandbox/churn:2"]
    got = refs(catalog, "not (name = 'payments') and env = 'sandbox'", order_by="version")
    assert got == ["sandbox/churn:1", "sandbox/churn:2"]


def test_like_in_and_null(catalog: Client) -> None:
    assert len(refs(catalog, "name like 'pay%'", environment="*")) == 4
    assert refs(catalog, "name like 'PAY%'") == []
    assert len(refs(catalog, "name ilike 'PAY%'", environment="*")) == 4
    assert len(refs(catalog, "tags.algo in ('rf', 'lr')")) == 3
    assert refs(catalog, "tags.algo is null", environment="*") == ["production/payments:1"]
    assert len(refs(catalog, "params.C != '1'")) == 3


def test_alias_and_environment(catalog: Client) -> None:
    assert refs(catalog, "alias = 'champion'") == ["sandbox/payments:2"]
    assert refs(catalog, "metrics.accuracy > 0", environment="production") == [
        "production/payments:1"
    ]


def test_without_an_environment_search_covers_the_default_one(
    catalog: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As every name a user types: sandbox unless told; ``*`` or a filter on the
    environment itself covers every environment the caller may read."""
    assert refs(catalog, "name = 'payments'", order_by="version") == [
        "sandbox/payments:1",
        "sandbox/payments:2",
        "sandbox/payments:3",
    ]
    assert refs(catalog, "name = 'payments'", environment="production") == ["production/payments:1"]
    assert len(refs(catalog, "name = 'payments'", environment="*")) == 4
    assert refs(catalog, "env != 'sandbox'") == ["production/payments:1"]
    assert refs(catalog, "not (environment = 'sandbox') and name = 'payments'") == [
        "production/payments:1"
    ]


def test_created_time(catalog: Client) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert len(refs(catalog, f"created_at > '{past}'", environment="*")) == 6
    assert refs(catalog, f"created >= '{future}'") == []


def test_order_by_and_page_tokens(catalog: Client) -> None:
    seen: list[str] = []
    token = None
    while True:
        page = catalog.search_versions(
            "",
            order_by=["metrics.accuracy ASC"],
            max_results=2,
            page_token=token,
            environment="*",
        )
        seen += [f"{v.metrics['accuracy']:.2f}" for v in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["0.70", "0.85", "0.90", "0.91", "0.95", "0.99"]
    with pytest.raises(InvalidFilter, match="different search"):
        catalog.search_versions(
            "name = 'churn'",
            max_results=2,
            page_token=catalog.search_versions("", max_results=2).next_page_token,
        )
    with pytest.raises(InvalidFilter, match="invalid page token"):
        catalog.search_versions("", page_token="garbage!")


#: (filter, position of the offending token, the token)
MALFORMED = [
    ("metrics.accuracy >", 19, ""),
    ("name = 'a' and and", 16, "and"),
    ("nmae = 'a'", 1, "nmae"),
    ("version = 'one'", 11, "'one'"),
    ("(name = 'a'", 12, ""),
    ("name = 'a')", 11, ")"),
    ("metrics.accuracy like '0.9%'", 18, "like"),
    ("created_at > 'yesterday'", 14, "'yesterday'"),
    ("name = 'open", 8, "'"),
    ("name ~ 'x'", 6, "~"),
    ("(" * 500 + "name = 'x'" + ")" * 500, 51, "("),  # the parser recurses: bounded
    ("not " * 60 + "name = 'x'", 201, "not"),
    ("metrics.accuracy > " + "9" * 9999, 20, "9" * 9999),  # beyond int('…') and SQL
    ("metrics.accuracy > 1e999", 20, "1e999"),
]


def test_malformed_filters_point_at_the_token(catalog: Client) -> None:
    """Every case against one catalog (a catalog per case costs a server start each)."""
    for text, position, token in MALFORMED:
        with pytest.raises(InvalidFilter) as info:
            catalog.search_versions(text)
        found = (info.value.details["position"], info.value.details["token"])
        assert found == (position, token), text[:80]
        assert "\n" not in info.value.message, text[:80]


def test_bad_order_by(catalog: Client) -> None:
    with pytest.raises(InvalidFilter, match="invalid order_by field 'speed'"):
        catalog.search_versions("", order_by="speed")
    with pytest.raises(InvalidFilter, match="ASC or DESC"):
        catalog.search_versions("", order_by="version UP")
