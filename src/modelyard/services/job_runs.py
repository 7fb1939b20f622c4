"""What one run of a batch job does, and where jobs may read and write.

A run fetches its input (a local file or an object-store URL) to scratch, scores it with
the deployment's batch variant (``serving.batch``: the same checks and output as
``modelyard predict``), collects every scored row with its keys as live traffic, writes
the output where the job says, appends it to a SQL table when the job names one, and
registers it as a version of the dataset ``JOB-output``.

Jobs reach only the places the server's operator allows (``MODELYARD_JOB_ROOTS``) and the
databases it names (``MODELYARD_JOB_DATABASES``): whoever may deploy must not read the
server's files or reach its network through a job.
"""

from __future__ import annotations

import logging
import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelyard.domain.errors import InvalidInput, ModelyardError, describe
from modelyard.domain.jobs import BatchJob, JobRun, job_dataset
from modelyard.monitoring.collector import Record, hour_of, write_records
from modelyard.monitoring.lake import Lake
from modelyard.serving import batch

if TYPE_CHECKING:
    import fsspec

    from modelyard.domain.deployments import BatchTarget
    from modelyard.runtimes.scorer import Output
    from modelyard.services.scope import Scope
    from modelyard.serving.schema import Columns

log = logging.getLogger("modelyard.jobs")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


@dataclass(frozen=True, slots=True)
class Places:
    """Where jobs may read and write, and the SQL databases they may append to."""

    roots: list[str]
    options: dict[str, Any] = field(default_factory=dict)  # fsspec options of URLs
    databases: dict[str, str] = field(default_factory=dict)

    def check_uri(self, uri: str, what: str) -> str:
        """``uri`` if it lies under a root (a local path made absolute: a relative one is
        in the first folder jobs may use); else one line."""
        if not isinstance(uri, str) or not uri.strip():
            raise InvalidInput(f"the job's {what} is empty")
        uri = uri.strip()
        if "://" in uri and not uri.startswith("file://"):
            if ".." in uri.split("://", 1)[1].split("/"):
                raise InvalidInput(f"the job's {what} {uri!r} may not hold '..'")
        else:
            local = Path(uri.removeprefix("file://")).expanduser()
            if not local.is_absolute():  # relative to the first folder jobs may use
                folders = [r for r in self.roots if "://" not in r]
                local = Path(folders[0] if folders else ".") / local
            uri = str(local.resolve())
        # a URL never starts with a folder's path, nor a path with a URL
        if not any(uri.startswith(r.rstrip("/") + "/") for r in self.roots):
            raise InvalidInput(
                f"the job's {what} {uri!r} is outside the places jobs may use "
                f"(MODELYARD_JOB_ROOTS: {' '.join(self.roots)})"
            )
        batch.file_format(Path(uri.split("/")[-1]), what)
        return uri

    def check_table(self, table: str) -> str:
        """``DATABASE:TABLE`` with a database the operator named."""
        database, sep, name = table.partition(":")
        if not sep or not _TABLE.match(name):
            raise InvalidInput(
                f"invalid table {table!r}: use DATABASE:TABLE (letters, digits and '_')"
            )
        if database not in self.databases:
            known = ", ".join(sorted(self.databases)) or "none"
            raise InvalidInput(
                f"unknown database {database!r}: the server names {known} (MODELYARD_JOB_DATABASES)"
            )
        return table

    def filesystem(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        """The filesystem of ``uri`` and its path there (as the lake opens its own)."""
        found = Lake.open(uri, self.options)
        return found.fs, found.root


def filled(uri: str, number: int, now: datetime) -> str:
    """The output of run ``number``: ``{run}`` and ``{date}`` (YYYY-MM-DD) filled in."""
    return uri.replace("{run}", str(number)).replace("{date}", now.strftime("%Y-%m-%d"))


class JobFailed(Exception):
    """A run that failed, with the one line its record keeps."""


@dataclass
class Outcome:
    """What a successful run leaves, recorded on its row."""

    output_uri: str
    rows: int
    scored: int
    rejected: int
    dataset: str
    table_rows: int | None


def execute(job: BatchJob, run: JobRun, now: datetime, scope: Scope, places: Places) -> Outcome:
    """Run ``job`` once (``scope``: the scheduler's, which may register the output);
    raises ``JobFailed`` with one line."""
    try:
        return _execute(job, run, now, scope, places)
    except JobFailed:
        raise
    except ModelyardError as e:
        raise JobFailed(str(e)) from None
    except Exception as e:
        log.warning("run %d of batch job %s failed", run.number, job.name, exc_info=True)
        raise JobFailed(describe(e)) from None


def _execute(job: BatchJob, run: JobRun, now: datetime, scope: Scope, places: Places) -> Outcome:
    # again at each run: a link placed since, or roots the operator narrowed since
    places.check_uri(job.input, "input")
    output = places.check_uri(filled(job.output, run.number, now), "output")
    work = scope.services.home / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="job-") as scratch:
        source = Path(scratch) / f"input{Path(job.input).suffix}"
        fs, path = places.filesystem(job.input)
        if not fs.isfile(path):
            raise JobFailed(f"the input {job.input} does not exist")
        fs.get_file(path, str(source))
        result_path = Path(scratch) / f"output{Path(output).suffix}"
        target = scope.deployments.batch_target(job.deployment)
        version = scope.registry.get_version(target.variant.ref)
        collect = _Collecting(job, run, now, target, scope.services.collected)
        result = batch.score_target(
            target,
            version,
            source,
            result_path,
            score=lambda frame: scope.deployments.score_frame(
                job.deployment, target.variant.name, frame, explain=job.explain
            ),
            max_error_rate=job.max_error_rate,
            on_scored=collect,
        )
        out_fs, out_path = places.filesystem(output)
        out_fs.makedirs(posixpath.dirname(out_path) or ".", exist_ok=True)
        out_fs.put_file(str(result_path), out_path)
        if result.errors is not None:
            out_fs.put_file(str(result.errors), out_path + ".errors.csv")
        table_rows = None
        if job.table is not None and result.scored:
            keys = tuple(target.deployment.revision.options.keys)
            table_rows = _append(job.table, places, result_path, keys, run.number, now)
        found = scope.datasets.register_dataset(
            job_dataset(job.name),
            result_path,
            environment=job.environment,
            description=f"run {run.number} of batch job {job.name}",
            source_uri=output,
        )
    return Outcome(output, result.rows, result.scored, result.rejected, found.ref, table_rows)


class _Collecting:
    """Writes each scored chunk to the collected rows, as live traffic of the deployment
    (request id ``job-NAME-RUN``, each row at its position in the input)."""

    def __init__(
        self, job: BatchJob, run: JobRun, now: datetime, target: BatchTarget, lake: Lake
    ) -> None:
        self.job, self.run, self.now, self.target, self.lake = job, run, now, target, lake

    def __call__(self, given: pd.DataFrame, output: Output, keys: Columns) -> None:
        record = Record(
            request_id=f"job-{self.job.name}-{self.run.number}",
            time=self.now,
            deployment=self.job.deployment,
            revision=self.target.deployment.revision.number,
            variant=self.target.variant.name,
            role="live",
            status=200,
            latency_ms=0.0,
            inputs={str(c): given[c].to_numpy() for c in given.columns},
            predictions=output.predictions,
            probabilities=output.probabilities,
            rows=len(given),
            keys=keys,
            positions=given.index.to_numpy(),
        )
        write_records(self.lake, self.job.deployment, hour_of(self.now), [record])


def _append(
    table: str, places: Places, result: Path, keys: tuple[str, ...], number: int, now: datetime
) -> int:
    """Append the output to ``DATABASE:TABLE`` in one transaction, with the run's number
    and time (so a BI tool can take each key's newest row)."""
    database, _, name = table.partition(":")
    schema, _, bare = name.rpartition(".")
    frame = pd.concat(list(batch.read_chunks(result, text=keys)), ignore_index=True)
    frame.insert(0, "scored_at", pd.Timestamp(now))
    frame.insert(0, "job_run", number)
    try:
        frame.to_sql(
            bare,
            places.databases[database],
            schema=schema or None,
            if_exists="append",
            index=False,
            chunksize=10_000,
            method="multi",
        )
    except Exception as e:
        raise JobFailed(f"could not append to table {table}: {describe(e)}") from None
    return len(frame)
