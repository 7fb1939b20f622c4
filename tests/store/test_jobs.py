"""The jobs repository: a job reads back with its deployment and last run, a due run is
claimed by exactly one caller and moves to the first planned time after now (missed runs
are not made up), runs are numbered per job, and a job without a schedule is never due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelyard.domain.jobs import BatchJob
from modelyard.store.jobs import DueJob
from modelyard.store.unit import Store, Tx
from tests.store.test_deployments import deploy
from tests.support.race import at_once

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def job(tx: Tx, deployment_id: int, name: str, every: int | None = 86400) -> BatchJob:
    return tx.jobs.add(
        name=name,
        deployment_id=deployment_id,
        input_uri="/srv/jobs/in.csv",
        output_uri="/srv/jobs/out-{run}.csv",
        max_error_rate=0.0,
        every_seconds=every,
        next_run_at=None if every is None else START,
        created_by="alice",
    )


def test_a_job_reads_back_with_its_deployment_and_last_run(store: Store) -> None:
    with store.write() as tx:
        made = job(tx, deploy(tx, "pay", environment="production"), "nightly")
        first = tx.jobs.start_run(made, "schedule", START)
        second = tx.jobs.start_run(made, "manual", START + timedelta(hours=1))
        tx.jobs.finish_run(second.id, state="failed", error="the input is missing")
    assert (first.number, second.number, first.state) == (1, 2, "running")
    with store.read() as tx:
        found = tx.jobs.find("nightly")
        runs = tx.jobs.runs(made)
        assert tx.jobs.find("nope") is None
    assert found is not None and (found.deployment, found.environment) == ("pay", "production")
    assert found.last_run is not None and found.last_run.number == 2
    assert (found.last_run.state, found.last_run.error) == ("failed", "the input is missing")
    assert [(r.number, r.trigger) for r in runs] == [(2, "manual"), (1, "schedule")]


def test_a_due_run_is_claimed_once_and_missed_runs_are_not_made_up(store: Store) -> None:
    with store.write() as tx:
        pay = deploy(tx, "pay")
        made = job(tx, pay, "nightly")
        job(tx, pay, "by-hand", every=None)
    late = START + timedelta(days=3, hours=5)  # no server ran for three days
    with store.read() as tx:
        assert tx.jobs.due(START - timedelta(seconds=1)) == []
        (run,) = tx.jobs.due(late)  # the job without a schedule is never due
    assert run == DueJob(made.id, START)
    with store.write() as tx:
        assert tx.jobs.claim(run, late)
    with store.write() as tx:
        assert not tx.jobs.claim(run, late)  # moved since it was read
        moved = tx.jobs.find("nightly")
    assert moved is not None and moved.next_run_at == START + timedelta(days=4)


def test_concurrent_claims_of_one_run_let_one_through(store: Store) -> None:
    with store.write() as tx:
        made = job(tx, deploy(tx, "pay"), "nightly")
    run = DueJob(made.id, START)

    def claim() -> bool:
        with store.write() as tx:
            return tx.jobs.claim(run, START)

    assert sorted(at_once(claim, 4)) == [False, False, False, True]


def test_a_deleted_job_takes_its_runs_and_cannot_be_claimed(store: Store) -> None:
    with store.write() as tx:
        made = job(tx, deploy(tx, "pay"), "nightly")
        tx.jobs.start_run(made, "schedule", START)
    with store.write() as tx:
        tx.jobs.delete(made.id)
    with store.write() as tx:
        assert not tx.jobs.claim(DueJob(made.id, START), START)
        assert tx.jobs.all() == []
