"""The reports repository: a report is kept whole and read back only for its deployment;
summaries come newest first, for trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from modelyard.store.monitoring import REFERENCE_LENGTH, StoredReport
from modelyard.store.unit import Store, Tx

SINCE = datetime(2024, 5, 1, 12, tzinfo=UTC)


def add(tx: Tx, deployment: str, hour: int, **report: object) -> int:
    since = SINCE + timedelta(hours=hour)
    return tx.reports.add(
        deployment=deployment,
        environment="sandbox",
        since=since,
        until=since + timedelta(hours=1),
        reference="baseline",
        rows=10 * hour,
        summary={"rows": 10 * hour, "drift_share": hour / 10},
        report={"deployment": deployment, "variants": [], **report},
        actor="alice",
    )


def test_a_report_reads_back_whole_for_its_deployment_only(store: Store) -> None:
    with store.write() as tx:
        found = add(tx, "pay", 1, performance={"accuracy": 0.9}, odd=Decimal("1.5"))
        other = add(tx, "other", 1)
    assert found != other
    with store.read() as tx:
        report = tx.reports.get("pay", found)
        assert tx.reports.get("other", found) is None
        assert tx.reports.get("pay", other) is None
        assert tx.reports.get("pay", found + other + 1) is None
    # what JSON cannot hold is kept as its text
    assert report == {
        "deployment": "pay",
        "variants": [],
        "performance": {"accuracy": 0.9},
        "odd": "1.5",
    }


def test_summaries_come_newest_first_up_to_the_limit(store: Store) -> None:
    with store.write() as tx:
        ids = [add(tx, "pay", hour) for hour in range(1, 4)]
        add(tx, "other", 9)
    with store.read() as tx:
        newest = tx.reports.summaries("pay", limit=2)
        every = tx.reports.summaries("pay", limit=10)
        assert tx.reports.summaries("nope", limit=10) == []
    assert [s.id for s in newest] == ids[:0:-1]
    assert [s.id for s in every] == ids[::-1]
    first = every[-1]
    assert isinstance(first, StoredReport)
    assert (first.since, first.until) == (
        SINCE + timedelta(hours=1),
        SINCE + timedelta(hours=2),
    )
    assert (first.reference, first.summary) == ("baseline", {"rows": 10, "drift_share": 0.1})
    assert first.created_at.tzinfo is not None
    assert first.created_at <= every[0].created_at


def test_a_long_reference_is_cut_to_the_column(store: Store) -> None:
    label = "2024-05-01T00:00:00+00:00.." * 20
    with store.write() as tx:
        found = tx.reports.add(
            deployment="pay",
            environment="sandbox",
            since=SINCE,
            until=SINCE + timedelta(hours=1),
            reference=label,
            rows=0,
            summary={},
            report={"against": label},
            actor="alice",
        )
    with store.read() as tx:
        (summary,) = tx.reports.summaries("pay", limit=1)
        report = tx.reports.get("pay", found)
    assert summary.reference == label[:REFERENCE_LENGTH]
    assert report == {"against": label}  # the report itself keeps it whole
