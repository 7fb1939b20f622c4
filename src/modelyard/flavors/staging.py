"""Packages on this side of the wire: building one from what a user hands over, and
loading one back into a verified local cache.

Accepted sources: a package folder (``modelyard.yaml``), an MLflow model folder
(``MLmodel``), a scoring-script folder (``score.py``), a single model file (with an input
example), or an in-memory model object (SDK). Storing a package is the registry's job
(``services.packages``); this module never touches a store or a database, so the SDK
uses it the same way embedded and against a server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelyard.artifacts.digests import digest_bytes
from modelyard.domain.errors import (
    IntegrityFailure,
    InvalidInput,
    InvalidPackage,
    ModelyardWarning,
    NotFound,
)
from modelyard.domain.reports import Signature
from modelyard.flavors.base import LoadedModel, Saved
from modelyard.flavors.package import (
    MANIFEST,
    Manifest,
    build_manifest,
    package_files,
    read_manifest,
    verify_folder,
)
from modelyard.flavors.registry import Flavors
from modelyard.flavors.requirements import RequirementResolver

if TYPE_CHECKING:
    import pandas as pd


#: Gives the training data when called (read only if the signature needs it).
Training = Callable[[], "pd.DataFrame | None"]


class BlobSource(Protocol):
    """Where package files come from: the artifact store, or a server."""

    def get_file(self, digest: str, dest: Path) -> None:
        """Write the object to ``dest``, verified against ``digest``."""


@dataclass(frozen=True, slots=True)
class StagedPackage:
    folder: Path
    manifest: Manifest
    manifest_bytes: bytes

    @property
    def digest(self) -> str:
        return digest_bytes(self.manifest_bytes)


@dataclass(frozen=True, slots=True)
class PackageSource:
    """A stored package as a loader sees it: its digest, its manifest's exact text, and
    where its files come from."""

    digest: str
    manifest: str
    files: BlobSource


class Packager:
    def __init__(self, flavors: Flavors, work_dir: Path, cache_dir: Path) -> None:
        self.flavors = flavors
        self.work_dir = work_dir
        self.cache_dir = cache_dir
        # Reads the installed distributions once for all the packages this stages.
        self.requirements = RequirementResolver()

    # -- staging ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _scratch(self) -> Iterator[Path]:
        path = self.work_dir / f"staging-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def stage(
        self,
        source: Any,
        *,
        input_example: pd.DataFrame | Path | None = None,
        flavor: str | None = None,
        training: Training | None = None,
    ) -> Iterator[StagedPackage]:
        """Yield a verified package built from ``source``; temporary files vanish after.
        ``training`` gives the training data, read if the signature has string columns
        (their categories are every value seen in training)."""
        example = _example_frame(input_example)
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.exists():
                raise InvalidInput(f"{path}: no such file or folder")
            if path.is_dir() and (path / MANIFEST).exists():
                manifest = read_manifest(path)
                # names and sizes now; every byte is hashed as it is copied (``prepare``)
                verify_folder(path, manifest, contents=False)
                self.flavors.get(manifest.flavor)  # unknown flavor: refuse now, not at load time
                yield StagedPackage(path, manifest, (path / MANIFEST).read_bytes())
                return
            if path.is_dir() and (path / "score.py").is_file() and not _is_mlflow(path):
                from modelyard.flavors.python import folder_in_place

                if (found := folder_in_place(path)) is not None:
                    # staged where it is: the files are hashed here and read again from
                    # the folder when stored, checked against these digests
                    saved, names = found
                    yield self._finish(
                        path, "python", saved, example, None, names=names, training=training
                    )
                    return
            with self._scratch() as folder:
                yield self._stage_path(path, folder, example, flavor, training)
            return
        with self._scratch() as folder:
            chosen = self.flavors.get(flavor) if flavor else self.flavors.for_object(source)
            saved = chosen.save(source, folder)
            yield self._finish(folder, chosen.name, saved, example, None, training=training)

    def _stage_path(
        self,
        path: Path,
        folder: Path,
        example: pd.DataFrame | None,
        flavor: str | None,
        training: Training | None,
    ) -> StagedPackage:
        if path.is_dir():
            from modelyard.flavors import mlflow as mlflow_import

            if _is_mlflow(path):
                name, saved, signature = mlflow_import.import_mlflow_folder(path, folder)
                return self._finish(folder, name, saved, example, signature, training=training)
            if (path / "score.py").is_file():
                from modelyard.flavors.python import save_folder

                saved = save_folder(path, folder)
                return self._finish(folder, "python", saved, example, None, training=training)
            raise InvalidPackage(
                f"{path}: not a model folder (expected {MANIFEST}, an MLflow MLmodel file, "
                "or a score.py scoring script)"
            )
        chosen = self.flavors.get(flavor) if flavor else self.flavors.for_file(path)
        if example is None and chosen.name != "python":
            raise InvalidInput(
                f"{path.name} is a bare model file: give an input example "
                "(--input-example FILE) so its signature can be recorded"
            )
        saved = chosen.save_file(path, folder)
        return self._finish(folder, chosen.name, saved, example, None, training=training)

    def _finish(
        self,
        folder: Path,
        flavor_name: str,
        saved: Saved,
        example: pd.DataFrame | None,
        signature: Signature | None,
        *,
        names: list[str] | None = None,
        training: Training | None = None,
    ) -> StagedPackage:
        """The manifest of what ``saved`` wrote into ``folder`` (every file there, or
        ``names``), after a load proves the package works; ``names``: the manifest is not
        written into the folder, which is the user's."""
        flavor = self.flavors.get(flavor_name)
        # Loading what was written proves the package is readable before anything is stored.
        model = flavor.load(folder, saved.entrypoint, saved.options)
        if example is not None:
            from modelyard.flavors.signature import infer_signature

            signature = infer_signature(example, model, training)
        elif signature is None:
            warnings.warn(
                f"the {flavor_name} model is registered without a signature, so requests to "
                "it are not checked: give an input example (--input-example FILE)",
                ModelyardWarning,
                stacklevel=2,
            )
        manifest = build_manifest(
            folder,
            package_files(folder) if names is None else names,
            flavor=flavor_name,
            entrypoint=saved.entrypoint,
            options=saved.options,
            signature=signature,
            requirements=self.requirements.pin(saved),
        )
        return StagedPackage(folder, manifest, manifest.to_bytes())

    # -- loading ----------------------------------------------------------------------
    def materialize(self, package: PackageSource) -> tuple[Path, Manifest]:
        """A verified local copy of a stored package, cached by digest; every file is
        fetched from ``package.files`` and checked against its digest on arrival."""
        digest = package.digest
        data = package.manifest.encode()
        if digest_bytes(data) != digest:
            raise IntegrityFailure(
                f"package {digest}: its recorded manifest does not match its digest", digest=digest
            )
        manifest = Manifest.from_bytes(data, f"package {digest}")
        folder = self.cache_dir / "packages" / digest.removeprefix("sha256:")
        if folder.is_dir():
            try:
                verify_folder(folder, manifest)
                return folder, manifest
            except InvalidPackage:
                shutil.rmtree(folder, ignore_errors=True)  # a tampered cache is rebuilt
        tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
        try:
            for name, info in manifest.files.items():
                try:
                    package.files.get_file(info.digest, tmp / name)
                except NotFound:
                    raise IntegrityFailure(
                        f"package {digest}: file {name!r} ({info.digest}) is missing from "
                        "the artifact store",
                        digest=digest,
                    ) from None
            (tmp / MANIFEST).write_bytes(data)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, folder)
            except OSError:  # another process materialised it first
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return folder, manifest

    def load(self, package: PackageSource) -> tuple[LoadedModel, Manifest]:
        """The package's model, loaded from the verified cache, and its manifest."""
        folder, manifest = self.materialize(package)
        flavor = self.flavors.get(manifest.flavor)
        return flavor.load(folder, manifest.entrypoint, manifest.options), manifest


def _example_frame(example: pd.DataFrame | Path | str | None) -> pd.DataFrame | None:
    if example is None:
        return None
    import pandas as pd  # only when there is an example: keeps the CLI quick to start

    from modelyard.flavors.signature import read_example

    if isinstance(example, pd.DataFrame):
        if example.empty:
            raise InvalidInput("the input example has no rows")
        return example
    if isinstance(example, str | os.PathLike):
        return read_example(Path(example))
    try:
        return pd.DataFrame(example)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"the input example cannot be read as a table: {e}") from None


def _is_mlflow(path: Path) -> bool:
    """An MLflow model folder (``MLmodel``): imported as such, even with a ``score.py``."""
    from modelyard.flavors.mlflow import is_mlflow_folder

    return is_mlflow_folder(path)
