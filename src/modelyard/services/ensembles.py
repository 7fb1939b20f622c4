"""Ensembles (``models ensemble``): the rules that make a set of versions one version.

- ``stage``: the members must take compatible inputs (a column two members take has one
  type), predict the same classes (or all be regressors), and need compatible releases (a
  distribution two members pin has one pin); the ensemble's signature is the union of
  their inputs and their outputs, its requirements the union of their pins. Its package
  (``flavors.ensemble``) holds ``ensemble.json``, an optional ``combine.py`` and the
  members' packages, whose files the artifact store already has.
- ``record_members``: in the transaction that makes an ensemble version visible, the
  member versions it names are checked (each still holds the package the ensemble
  holds) and recorded, so ``ensemble_dependents`` can refuse deleting or archiving one.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.artifacts.digests import BlobInfo, digest_bytes, digest_file
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.domain.names import parse_ref
from modelyard.domain.reports import Column, Outputs, Signature
from modelyard.flavors.ensemble import COMBINES, ENTRYPOINT, MEMBERS, SCRIPT
from modelyard.flavors.package import MANIFEST, Manifest
from modelyard.flavors.staging import StagedPackage
from modelyard.services import lookup
from modelyard.store.unit import Tx

MAX_MEMBERS = 32
MAX_SCRIPT_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member as the registry has it: the version, its manifest's exact bytes and their
    parse."""

    version: ModelVersion
    manifest_bytes: bytes
    manifest: Manifest


def check_combine(
    members: list[Candidate], combine: str, weights: list[float] | None, script: str | None
) -> list[float]:
    """The members' weights, once what was asked makes sense."""
    if not 2 <= len(members) <= MAX_MEMBERS:
        raise InvalidInput(f"an ensemble needs 2 to {MAX_MEMBERS} members, not {len(members)}")
    refs = [m.version.ref for m in members]
    if len(set(refs)) != len(refs):
        raise InvalidInput(f"a member is named twice: {', '.join(refs)}")
    if combine not in COMBINES:
        raise InvalidInput(
            f"unknown --combine {combine!r}: expected mean, weighted, vote or a script (.py)"
        )
    if (script is None) != (combine != "script"):
        raise InvalidInput("a script is given with --combine script (a .py file), and only then")
    if script is not None and len(script.encode()) > MAX_SCRIPT_BYTES:
        raise InvalidInput("the combine script is larger than 1 MiB")
    if weights is None:
        if combine == "weighted":
            raise InvalidInput("--combine weighted needs a --weight for each member")
        return [1.0] * len(members)
    if combine == "mean":
        raise InvalidInput("--combine mean weighs members equally: use --combine weighted")
    if len(weights) != len(members):
        raise InvalidInput(f"{len(weights)} weights for {len(members)} members")
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise InvalidInput("each weight must be a positive number")
    return [float(w) for w in weights]


def _inputs(members: list[tuple[str, Manifest]]) -> list[Column]:
    found: dict[str, tuple[str, Column]] = {}
    for ref, manifest in members:
        inputs = (manifest.signature or {}).get("inputs")
        if not inputs:
            raise InvalidInput(
                f"member {ref} has no input signature: register it with an input example"
            )
        for column in inputs:
            name = column["name"]
            if name not in found:
                found[name] = (ref, Column(**column))
                continue
            first, seen = found[name]
            if column.get("type") != seen.get("type"):
                raise InvalidInput(
                    f"members disagree on column {name!r}: {first} takes {seen.get('type')}, "
                    f"{ref} takes {column.get('type')}"
                )
            seen["nullable"] = bool(seen.get("nullable")) or bool(column.get("nullable"))
            if "categories" in seen or "categories" in column:
                merged = {*seen.get("categories", []), *column.get("categories", [])}
                seen["categories"] = sorted(merged)
    return [column for _, column in found.values()]


def _outputs(members: list[tuple[str, Manifest]], combine: str) -> Outputs:
    first_ref, first = members[0]
    outputs = Outputs(**((first.signature or {}).get("outputs") or {}))
    classes: list[Any] | None = outputs.get("classes")
    for ref, manifest in members[1:]:
        theirs: list[Any] | None = ((manifest.signature or {}).get("outputs") or {}).get("classes")
        if (classes is None) != (theirs is None):
            kinds = ("a classifier", "a regressor")
            raise InvalidInput(
                f"members must all be classifiers or all regressors: {first_ref} is "
                f"{kinds[classes is None]}, {ref} is {kinds[theirs is None]}"
            )
        if classes is not None and sorted(map(str, classes)) != sorted(map(str, theirs or [])):
            raise InvalidInput(
                f"members must predict the same classes: {first_ref} predicts {classes}, "
                f"{ref} predicts {theirs}"
            )
    if classes is None and combine == "vote":
        raise InvalidInput("--combine vote needs classifiers: these members are regressors")
    return outputs


def _requirements(members: list[tuple[str, Manifest]]) -> tuple[str, ...]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, tuple[str, str]] = {}
    for ref, manifest in members:
        for text in manifest.requirements:
            name = canonicalize_name(Requirement(text).name)
            if name in pins and pins[name][1] != text:
                raise InvalidInput(
                    f"members need different releases: {pins[name][0]} pins {pins[name][1]}, "
                    f"{ref} pins {text}"
                )
            pins.setdefault(name, (ref, text))
    return tuple(text for _, text in pins.values())


@contextlib.contextmanager
def stage(
    members: list[Candidate],
    combine: str,
    weights: list[float] | None,
    script: str | None,
    work_dir: Path,
) -> Iterator[StagedPackage]:
    """The ensemble's package, staged in a temporary folder that holds only its own
    files (the members' are in the artifact store already)."""
    weights = check_combine(members, combine, weights, script)
    parsed = [(m.version.ref, m.manifest) for m in members]
    signature: Signature = {"inputs": _inputs(parsed), "outputs": _outputs(parsed, combine)}
    requirements = _requirements(parsed)
    work_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="ensemble-", dir=work_dir))
    try:
        (folder / ENTRYPOINT).write_text(json.dumps({"combine": combine}, sort_keys=True))
        files = {ENTRYPOINT: digest_file(folder / ENTRYPOINT)}
        if script is not None:
            (folder / SCRIPT).write_text(script)
            files[SCRIPT] = digest_file(folder / SCRIPT)
        entries = []
        for member, weight in zip(members, weights, strict=True):
            digest = member.version.package_digest
            place = f"{MEMBERS}/{digest.removeprefix('sha256:')}"
            files[f"{place}/{MANIFEST}"] = BlobInfo(digest, len(member.manifest_bytes))
            for name, info in member.manifest.files.items():
                files[f"{place}/{name}"] = info
            entries.append({"ref": member.version.ref, "digest": digest, "weight": weight})
        manifest = Manifest(
            flavor="ensemble",
            entrypoint=ENTRYPOINT,
            files=files,
            options={"members": entries},
            signature=signature,
            requirements=requirements,
        )
        data = manifest.to_bytes()
        if digest_bytes(data) in {m.version.package_digest for m in members}:
            raise InvalidInput("an ensemble cannot be one of its members")
        yield StagedPackage(folder, manifest, data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def record_members(tx: Tx, version_id: int, manifest: Manifest) -> None:
    """Record the versions an ensemble names (in the transaction that makes it visible);
    each must still hold the package the ensemble holds."""
    members = manifest.options.get("members") or []
    ids = []
    for entry in members:
        try:
            found = lookup.version(tx, parse_ref(str(entry["ref"])))
        except (KeyError, TypeError):
            raise InvalidPackage("ensemble: a member without a reference") from None
        if found.version.package_digest != entry.get("digest"):
            raise InvalidPackage(
                f"ensemble member {found.version.ref} holds another package than the one named"
            )
        ids.append(found.version_id)
    tx.registry.add_members(version_id, ids)


def ensemble_dependents(tx: Tx, version: ModelVersion) -> list[str]:
    using = tx.registry.ensembles_using(version.environment, version.name, version.version)
    return [f"ensemble {ref} uses it" for ref in using]
