"""Batch scoring on a Ray cluster with Ray Data (``modelyard predict … --engine ray``).

A dataset of CSV or Parquet partitions (a file or a folder, on the local disk or at an
``s3://`` URL) is read by Ray Data, checked against the variant's signature, and scored
by Ray actors that each load the variant's model once, with the same scorer online and
single-process batch scoring use (``DeploymentService.score_frame``, embedded: the actors
open the installation's database and artifact store, so every Ray node must reach them).
Batches come back in the input's order and are written as ``part-00000.parquet``,
``part-00001.parquet``, … : read in name order, the output is the single-process output,
row for row. Rows that fail the signature stop the job (there is no error file).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.domain.errors import InvalidInput, StorageUnavailable
from modelyard.monitoring.lake import Lake
from modelyard.serving.batch import answered

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelyard.domain.reports import Signature
    from modelyard.sdk.client import Client
    from modelyard.settings import Settings

BATCH_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class DatasetResult:
    rows: int
    parts: int
    output: str
    model_version: str


def check_address(address: str) -> None:
    """Ray waits minutes for a cluster that is not there: refuse it at once, in a line."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInput(f"invalid Ray address {address!r}: expected HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as e:
        raise StorageUnavailable(f"cannot reach the Ray cluster at {address}: {e}") from None


def score_dataset(
    client: Client,
    deployment: str,
    source: str,
    output: str,
    *,
    address: str | None = None,
    cpus: int = 1,
    variant: str | None = None,
) -> DatasetResult:
    """Score the dataset at ``source`` into Parquet parts under ``output`` (new or empty)."""
    settings = client.settings
    if settings.url:
        raise InvalidInput(
            "--engine ray scores in Ray's workers, which open the installation's database "
            "and artifact store: set MODELYARD_DB_URL and MODELYARD_ARTIFACTS, not MODELYARD_URL"
        )
    if cpus < 1:
        raise InvalidInput("--cpus must be at least 1")
    target = client.batch_target(deployment, variant=variant)
    chosen = target.variant
    version = client.get_version(chosen.ref)
    classes = (version.signature or {}).get("outputs", {}).get("classes")
    options = settings.artifacts_options
    out = Lake.open(output, options)
    if out.folders() or out.parts():
        raise InvalidInput(f"{output} exists and is not an empty folder")
    path, filesystem, kind = _source(source, options)  # refused before any Ray starts
    if address:
        check_address(address)
    import ray.data

    # a local Ray gets a CPU more than the actors: reading and writing tasks need one, and
    # actors holding every CPU would wait for blocks no task can read
    ray.init(address=address, num_cpus=None if address else cpus + 1, log_to_driver=False)
    try:
        read = ray.data.read_parquet if kind == "parquet" else ray.data.read_csv
        dataset: Any = read(path, filesystem=filesystem)
        dataset.context.execution_options.preserve_order = True
        scored = dataset.map_batches(
            _Scoring,
            fn_constructor_kwargs={
                "settings": settings,
                "deployment": deployment,
                "variant": chosen.name,
                "signature": version.signature,
                "options": target.deployment.revision.options,
                "classes": classes,
            },
            batch_size=BATCH_ROWS,
            batch_format="pyarrow",
            concurrency=cpus,
            num_cpus=1,
        )
        rows = parts = 0
        for batch in scored.iter_batches(batch_size=None, batch_format="pyarrow"):
            out.write_once(batch, f"{parts:05d}")
            rows += batch.num_rows
            parts += 1
    finally:
        ray.shutdown()
    return DatasetResult(rows, parts, output, chosen.name)


def _source(source: str, options: dict[str, Any]) -> tuple[str, Any, str]:
    """Where the dataset at ``source`` is (a file or a folder of CSV or Parquet
    partitions): its path, the filesystem Ray Data reads it with, and its format."""
    import pyarrow.fs as pafs

    lake = Lake.open(source, options)
    path = lake.root
    if not lake.fs.exists(path):
        raise InvalidInput(f"input {source!r} does not exist")
    names = [path] if not lake.fs.isdir(path) else sorted(lake.fs.find(path))
    shown = [n for n in names if not n.rsplit("/", 1)[-1].startswith(".")]
    kinds = {n.rsplit(".", 1)[-1].lower() for n in shown}
    if kinds not in ({"parquet"}, {"csv"}):
        found = ", ".join(sorted(kinds)) or "nothing"
        raise InvalidInput(
            f"input {source!r}: expected CSV or Parquet files (not both), found {found}"
        )
    filesystem = None if lake.local else pafs.PyFileSystem(pafs.FSSpecHandler(lake.fs))
    return path, filesystem, kinds.pop()


class _Scoring:
    """One Ray actor: the variant's model, loaded once, scoring batches."""

    def __init__(
        self,
        settings: Settings,
        deployment: str,
        variant: str,
        signature: Signature | None,
        options: Any,
        classes: list[Any] | None,
    ) -> None:
        from modelyard.sdk.client import Client
        from modelyard.serving.schema import InputSchema

        self.client = Client(settings=settings)
        self.deployment = deployment
        self.variant = variant
        self.schema = InputSchema(signature, options)
        self.classes = classes

    def __call__(self, table: pa.Table) -> pd.DataFrame:
        batch = table.to_pandas()  # numpy columns, as a single-process job reads them
        good, reasons = self.schema.frame(batch)
        if len(reasons):
            first = reasons.index[0]
            raise InvalidInput(f"{len(reasons)} rows fail the signature, first: {reasons[first]}")
        result = self.client.score_frame(self.deployment, self.variant, good)
        return answered(batch, result, self.classes, self.variant)
