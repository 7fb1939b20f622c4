"""Monitoring's rules: what a report compares, who may read it, how feedback is accepted,
and how collected data goes back to training as a dataset.

- A report covers one deployment's live rows in ``[since, until)`` (default: the last 24
  hours), one section per model version that served them, each against that version's
  baseline (or, with ``against``, against the same deployment's rows in another window).
- Every report is stored (``monitoring_reports``), so trends can be drawn from the summaries.
- Feedback is validated whole before anything is written; one call writes one Parquet file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pyarrow as pa

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.datasets import DatasetVersion
from modelyard.domain.errors import InvalidInput, NotFound
from modelyard.domain.monitoring import FeedbackResult, parse_duration, window
from modelyard.domain.reports import (
    Baseline,
    Estimate,
    LatestPredictions,
    MoneyView,
    MonitoringReport,
    ReportListing,
    VariantReport,
)
from modelyard.monitoring import estimate as est
from modelyard.monitoring import report as r
from modelyard.monitoring.lake import Lake
from modelyard.monitoring.maturity import Maturity, cohorts, pending
from modelyard.monitoring.summary import summarize
from modelyard.services import feedback_items as checked
from modelyard.services import latest, money, windows
from modelyard.services.auth import require
from modelyard.services.datasets import DatasetService
from modelyard.services.deployments import DeploymentService
from modelyard.services.registry import RegistryService
from modelyard.store.unit import Store

MAX_FEEDBACK = 100_000
MAX_SEGMENTS = 20  # the most frequent values of a segment column get a section each
REFERENCE_DAYS = 90  # estimated performance is calibrated on this many days of labels
LISTED_KEYS = 20  # unknown keys a feedback result names (it counts them all)


class MonitoringService:
    def __init__(
        self,
        store: Store,
        registry: RegistryService,
        deployments: DeploymentService,
        datasets: DatasetService,
        collected: Lake,
        feedback: Lake,
        principal: Principal,
        retention: timedelta = timedelta(days=400),
    ) -> None:
        self.principal = principal
        self.retention = retention
        self.store = store
        self.registry = registry
        self.deployments = deployments
        self.datasets = datasets
        self.collected = collected
        self.feedback = feedback

    # -- reports --------------------------------------------------------------------------
    def monitor(
        self,
        deployment: str,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        against: str | None = None,
        store: bool = True,
        now: datetime | None = None,
        offset: str | None = None,
        by: str | None = None,
    ) -> MonitoringReport:
        """Drift, quality and performance of a deployment's live traffic over a window.
        ``against``: ``baseline`` (default), ``previous`` (the window just before, of
        the same length) or ``SINCE..UNTIL``. ``offset``: the window ends that long
        before now (spans count back from there). ``by``: the same per segment, for each
        of the most frequent values of an input or key column."""
        found = self.deployments.get_deployment(deployment)
        real_now = now or datetime.now(UTC)
        now = real_now - (parse_duration(offset, "--offset") if offset else timedelta(0))
        start, end = window(since, until, now)
        self.check_reach(real_now - start)
        reference_window = windows.reference_window(against, start, end, now)
        data = r.Window(self.collected, deployment, start, end)
        try:
            reference: Baseline | None = None
            if reference_window is not None:
                ref_start, ref_end = reference_window
                before = r.Window(self.collected, deployment, ref_start, ref_end)
                try:
                    names = before.inputs()
                    reference = r.window_profile(before.table([*names, r.PREDICTION]), names)
                finally:
                    before.close()
            options = found.revision.options
            dated = options.maturity_column
            due = Maturity(options.maturity_days, dated, is_key=dated in options.keys)
            measured = self._measure(found.environment, data, reference, due, real_now)
            weeks = cohorts(data, self.feedback, due, real_now, measured.pop("regression"))
            served = {s["variant"]: s["rows"] for s in measured["variants"]}
            estimated = self._estimate(found.environment, data, served, due, real_now)
            worth = options.amount_column and money.section(self, found, data, None, 1, real_now)
            segments = []
            if by is not None:
                column = windows.segment_column(by, options.keys, data)
                for value in data.values(column, MAX_SEGMENTS):
                    part = r.Window(self.collected, deployment, start, end, (column, value))
                    try:
                        found_in = self._measure(
                            found.environment, part, reference, due, real_now, skip=by
                        )
                    finally:
                        part.close()
                    found_in.pop("regression")
                    segment = {"column": by, "value": value, **found_in}
                    segments.append({**segment, "summary": summarize(segment)})
        finally:
            data.close()
        result: dict[str, Any] = {
            "deployment": found.name,
            "environment": found.environment,
            "since": start.isoformat(),
            "until": end.isoformat(),
            "against": (
                "baseline"
                if reference_window is None
                else f"{reference_window[0].isoformat()}..{reference_window[1].isoformat()}"
            ),
            **measured,
            "cohorts": weeks,
            "segments": segments,
            "estimated": estimated,
            "money": worth or None,
        }
        result["summary"] = summarize(result)
        result["created_at"] = datetime.now(UTC).isoformat()
        if store:
            result["id"] = self._store(result)
        return cast(MonitoringReport, result)

    def latest_predictions(
        self,
        deployment: str,
        *,
        key: str | None = None,
        since: str | datetime | None = None,
        limit: int = 100_000,
    ) -> LatestPredictions:
        """Each value of a key column with its newest live prediction (``services.latest``)."""
        return latest.view(self, deployment, key=key, since=since, limit=limit)

    def check_reach(self, back: timedelta) -> None:
        """A window that starts ``back`` before now is read only within the retention."""
        if back > self.retention:
            raise InvalidInput(
                f"the window starts {back.days} days back; reports read "
                f"{self.retention.days} days of collected rows (MODELYARD_RETENTION_DAYS)"
            )

    def _measure(
        self,
        environment: str,
        data: r.Window,
        reference: Baseline | None,
        due: Maturity,
        now: datetime,
        skip: str | None = None,
    ) -> dict[str, Any]:
        """Rows, per-variant drift and quality, matured performance and pending rows
        (``skip``: a segment's own column, constant in it, is not compared)."""
        variants = data.variants()
        labelled = data.labelled(self.feedback, due.matures_at(data.columns), now)
        regression = pa.types.is_floating(labelled.schema.field(r.PREDICTION).type)
        return {
            "rows": sum(variants.values()),
            "variants": [
                self._section(environment, variant, rows, data, reference, skip)
                for variant, rows in variants.items()
            ],
            "performance": r.performance(labelled, regression),
            "pending": pending(data, due, now),
            "regression": regression,
        }

    def _estimate(
        self,
        environment: str,
        data: r.Window,
        variants: dict[str, int],
        due: Maturity,
        now: datetime,
    ) -> Estimate | None:
        """CBPE for the variant that served most rows, calibrated on the labelled, matured
        rows of the ``REFERENCE_DAYS`` before the window ends."""
        if not variants:
            return None
        variant = max(variants, key=lambda v: variants[v])
        try:
            signature = self.registry.get_version(f"{environment}/{variant}").signature
        except NotFound:
            return None
        classes = [str(c) for c in ((signature or {}).get("outputs") or {}).get("classes") or []]
        if not classes:
            return None
        since = data.until - timedelta(days=REFERENCE_DAYS)
        reference = r.Window(self.collected, data.deployment, since, data.until)
        try:
            matures = due.matures_at(reference.columns)
            known = est.labelled_rows(reference, self.feedback, matures, now, variant, classes)
        finally:
            reference.close()
        found = est.estimate(est.window_rows(data, variant, classes), known)
        return None if found is None else cast(Estimate, {"variant": variant, **found})

    def money(
        self,
        deployment: str,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        offset: str | None = None,
        by: str | None = None,
        limit: int = 1000,
    ) -> MoneyView:
        """The amount expected per class over a window, per ``by`` value, and expected
        against realized once outcomes mature (``services.money``)."""
        return money.view(
            self, deployment, since=since, until=until, offset=offset, by=by, limit=limit
        )

    def _section(
        self,
        environment: str,
        variant: str,
        rows: int,
        data: r.Window,
        reference: Baseline | None,
        skip: str | None = None,
    ) -> VariantReport:
        section: VariantReport = {"variant": variant, "rows": rows, "reference": None}
        if reference is None:
            try:
                reference = self.registry.get_baseline(f"{environment}/{variant}")
            except NotFound:
                section["note"] = (
                    f"{environment}/{variant} has no baseline: register it with "
                    "--dataset NAME:VERSION to see drift and data quality"
                )
                return section
            section["reference"] = f"baseline of {environment}/{variant} on {reference['dataset']}"
        elif reference["rows"] == 0:
            section["reference"] = "earlier window"
            section["note"] = "the reference window holds no rows: nothing to compare with"
            return section
        else:
            section["reference"] = "earlier window"
        features = [f for f in reference["features"] if f != skip]
        table = data.table([*features, r.PREDICTION], variant=variant)
        section.update(cast(VariantReport, r.compare(reference, table, features)))
        return section

    def _store(self, result: dict[str, Any]) -> int:
        with self.store.write() as tx:
            return tx.reports.add(
                deployment=result["deployment"],
                environment=result["environment"],
                since=datetime.fromisoformat(result["since"]),
                until=datetime.fromisoformat(result["until"]),
                reference=result["against"],
                rows=result["rows"],
                summary=result["summary"],
                report=result,
                actor=self.principal.name,
            )

    def list_monitoring_reports(self, deployment: str, *, limit: int = 100) -> list[ReportListing]:
        """The summaries of stored reports, newest first: what trends are drawn from."""
        self.deployments.get_deployment(deployment)
        with self.store.read() as tx:
            found = tx.reports.summaries(deployment, limit=max(1, min(limit, 10_000)))
        return [
            ReportListing(
                id=s.id,
                since=s.since.isoformat(),
                until=s.until.isoformat(),
                against=s.reference,
                created_at=s.created_at.isoformat(),
                summary=s.summary,
            )
            for s in found
        ]

    def get_monitoring_report(self, deployment: str, report_id: int) -> MonitoringReport:
        self.deployments.get_deployment(deployment)
        with self.store.read() as tx:
            found = tx.reports.get(deployment, report_id)
        if found is None:
            raise NotFound(f"deployment {deployment!r} has no report {report_id}")
        return found

    # -- feedback -------------------------------------------------------------------------
    def send_feedback(
        self, deployment: str, items: list[dict[str, Any]], *, key: str | None = None
    ) -> FeedbackResult:
        """Record ground truth for scored rows: ``[{request_id, actual, row?}]`` (``row``
        defaults to 0: the first row of the request); or, with ``key`` (a key column of the
        deployment), outcomes by key: ``[{<key>: value, actual, observed_at?}]``, each
        labelling the latest live prediction of that key scored at or before
        ``observed_at`` (default: now)."""
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.SCORE, found.environment)
        return self.record_feedback(deployment, items, key=key)

    def record_feedback(
        self, deployment: str, items: Any, *, key: str | None = None
    ) -> FeedbackResult:
        """``send_feedback`` for a caller the scoring route has authorised already (with a
        scoring key of the deployment, or a token allowed to score)."""
        what = f"{{{key}, actual}}" if key else "{request_id, actual}"
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"feedback must be a non-empty list of {what}")
        if len(items) > MAX_FEEDBACK:
            raise InvalidInput(
                f"at most {MAX_FEEDBACK:,} feedback items per call, got {len(items):,}"
            )
        now = datetime.now(UTC)
        if key is not None:
            return self._outcomes(deployment, items, key, now)
        ids: list[str] = []
        rows: list[int] = []
        actuals: list[str] = []
        for i, item in enumerate(items):
            ids.append(checked.request_id(item, i))
            rows.append(checked.row(item, i))
            actuals.append(checked.actual(item, i))
        self._write_feedback(deployment, ids, rows, actuals, [now] * len(ids), now)
        return FeedbackResult(len(ids))

    def _outcomes(
        self, deployment: str, items: list[Any], key: str, now: datetime
    ) -> FeedbackResult:
        declared = self.deployments.get_deployment(deployment).revision.options.keys
        if key not in declared:
            raise InvalidInput(
                f"unknown key column {key!r}: deployment {deployment!r} declares "
                + (", ".join(declared) if declared else "none (deployments update --key)"),
                key=key,
            )
        values = [checked.key_value(item, i, key) for i, item in enumerate(items)]
        actuals = [checked.actual(item, i) for i, item in enumerate(items)]
        observed = [checked.observed(item, i, now) for i, item in enumerate(items)]
        outcomes = pa.table({
            "idx": pa.array(range(len(items)), pa.int64()),
            "value": pa.array(values, pa.string()),
            "observed_at": pa.array(observed, pa.timestamp("us", tz="UTC")),
        })  # fmt: skip
        # the rows reports may read: scored within the retention, before now
        data = r.Window(self.collected, deployment, now - self.retention, now + timedelta(hours=1))
        try:
            matched = data.latest_by_key(key, outcomes).to_pydict()
        finally:
            data.close()
        found = set(matched["idx"])
        unknown = [values[i] for i in range(len(items)) if i not in found]
        if not found:
            raise InvalidInput(
                f"none of the {len(items):,} outcomes matches a live prediction of its "
                f"{key} scored before it was observed (first: {unknown[0]!r})",
                unknown=len(unknown),
            )
        order = matched["idx"]
        self._write_feedback(
            deployment,
            matched["request_id"],
            matched["row"],
            [actuals[i] for i in order],
            [observed[i] for i in order],
            now,
        )
        return FeedbackResult(len(order), len(unknown), unknown[:LISTED_KEYS])

    def _write_feedback(
        self,
        deployment: str,
        ids: list[str],
        rows: list[int],
        actuals: list[str],
        observed: list[datetime],
        now: datetime,
    ) -> None:
        """One Parquet part: the newest feedback of a row wins (``time``);
        ``observed_at`` is when the outcome was observed."""
        stamp = pa.timestamp("us", tz="UTC")
        table = pa.table({
            "request_id": pa.array(ids, pa.string()),
            "row": pa.array(rows, pa.int64()),
            "actual": pa.array(actuals, pa.string()),
            "time": pa.array([now] * len(ids), stamp),
            "observed_at": pa.array(observed, stamp),
        })  # fmt: skip
        self.feedback.write_part(table, f"deployment={deployment}")

    # -- back to training -----------------------------------------------------------------
    def snapshot_dataset(
        self,
        name: str,
        *,
        deployment: str | None = None,
        dataset: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        with_feedback: bool = False,
        environment: str | None = None,
        description: str = "",
        drop: Iterable[str] = (),
        mask: Iterable[str] = (),
    ) -> DatasetVersion:
        """Register a deployment's collected live inputs (and, with ``with_feedback``, an
        ``actual`` column: the label where feedback exists, else null) as a dataset version,
        in ``environment`` (default: the deployment's), with ``drop`` columns removed and
        ``mask`` columns hashed (``DatasetService.register_copy``). With ``dataset`` instead
        of ``deployment``: a copy of that dataset version (``DatasetService.snapshot``)."""
        if (deployment is None) == (dataset is None):
            raise InvalidInput("a snapshot copies either a deployment's rows or a dataset version")
        if dataset is not None:
            return self.datasets.snapshot(
                name,
                dataset,
                environment=environment,
                drop=drop,
                mask=mask,
                description=description,
            )
        assert deployment is not None
        found = self.deployments.get_deployment(deployment)
        env = environment or found.environment
        require(self.principal, Permission.REGISTER, env)
        start, end = window(since, until, datetime.now(UTC))
        data = r.Window(self.collected, deployment, start, end)
        try:
            inputs = data.inputs()
            if not inputs:
                raise InvalidInput(
                    f"deployment {deployment!r} collected no rows between {start.isoformat()} "
                    f"and {end.isoformat()}"
                )
            table = data.table([*inputs, "request_id", "row"])
            if with_feedback:
                table = data.with_labels(table, self.feedback)
        finally:
            data.close()
        if table.num_rows == 0:
            raise InvalidInput(
                f"deployment {deployment!r} collected no live rows between {start.isoformat()} "
                f"and {end.isoformat()}"
            )
        return self.datasets.register_copy(
            name,
            table.drop_columns(["request_id", "row"]),
            environment=env,
            drop=drop,
            mask=mask,
            description=description
            or f"live inputs of deployment {deployment} from {start.isoformat()} "
            f"to {end.isoformat()}"
            + (" with feedback" if with_feedback else ""),
            source_uri=f"deployment:{deployment}",
        )
