"""Model packages: a folder of files plus ``modelyard.yaml``, the manifest.

The manifest names the flavor, the entry file, the signature, the requirements pinned
from the training environment and the sha256 of every file. The package's digest is the
sha256 of the manifest's bytes, so two identical packages have one digest and are stored
once.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from modelyard.artifacts.digests import BlobInfo, digest_bytes, digest_file
from modelyard.domain.errors import InvalidPackage
from modelyard.domain.reports import Signature

MANIFEST = "modelyard.yaml"
# libyaml's safe loader when present (same result, ~20x faster). Its dumper writes a
# manifest of printable ASCII byte for byte as PyYAML's does (a property test holds it to
# that) and other text differently (line breaks, characters beyond the BMP), so it writes
# only the former: a manifest's bytes, hence its digest, are the same on every machine.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FAST_DUMPER = getattr(yaml, "CSafeDumper", None)
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Manifest:
    flavor: str
    entrypoint: str
    files: dict[str, BlobInfo]
    options: dict[str, Any] = field(default_factory=dict)
    signature: Signature | None = None
    requirements: tuple[str, ...] = ()
    python: str = field(default_factory=platform.python_version)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "entrypoint": self.entrypoint,
            "options": self.options,
            "signature": self.signature,
            "requirements": list(self.requirements),
            "python": self.python,
            "files": {
                name: {"sha256": info.digest.removeprefix("sha256:"), "size": info.size}
                for name, info in sorted(self.files.items())
            },
        }

    def to_bytes(self) -> bytes:
        return dump_yaml(self.to_dict())

    @property
    def digest(self) -> str:
        return digest_bytes(self.to_bytes())

    @property
    def size_bytes(self) -> int:
        return sum(info.size for info in self.files.values())

    @classmethod
    def from_bytes(cls, data: bytes, source: str = MANIFEST) -> Manifest:
        try:
            raw = yaml.load(data, Loader=_LOADER)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InvalidPackage(f"{source} is not valid YAML{where}") from None
        if not isinstance(raw, dict):
            raise InvalidPackage(f"{source} must be a mapping")
        try:
            version = int(raw.get("format_version", 0))
            if version != FORMAT_VERSION:
                raise InvalidPackage(
                    f"{source}: unsupported format_version {raw.get('format_version')!r} "
                    f"(this modelyard reads {FORMAT_VERSION})"
                )
            files = {}
            for name, entry in dict(raw["files"]).items():
                _check_relative(str(name), source)
                hexd = str(entry["sha256"])
                if len(hexd) != 64 or any(c not in "0123456789abcdef" for c in hexd):
                    raise InvalidPackage(f"{source}: file {name!r} has an invalid sha256")
                files[str(name)] = BlobInfo("sha256:" + hexd, int(entry["size"]))
            entrypoint = str(raw["entrypoint"])
            flavor = str(raw["flavor"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InvalidPackage(f"{source}: missing or malformed field {e}") from None
        if entrypoint not in files:
            raise InvalidPackage(f"{source}: entrypoint {entrypoint!r} is not among its files")
        signature = _signature(raw.get("signature"), source)
        return cls(
            flavor=flavor,
            entrypoint=entrypoint,
            files=files,
            options=dict(raw.get("options") or {}),
            signature=signature,
            requirements=_requirements(raw.get("requirements"), source),
            python=str(raw.get("python") or ""),
            format_version=version,
        )


def _requirements(raw: Any, source: str) -> tuple[str, ...]:
    """The pinned requirements, each one a requirement pip and uv read (``name==1.2``):
    a model's environment is built from them."""
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(raw, list | tuple | type(None)):
        raise InvalidPackage(f"{source}: requirements must be a list")
    found = tuple(str(r).strip() for r in raw or ())
    for text in found:
        try:
            Requirement(text)
        except InvalidRequirement:
            raise InvalidPackage(
                f"{source}: requirement {text!r} is not one (expected e.g. scikit-learn==1.5.2)"
            ) from None
    return found


def _signature(raw: Any, source: str) -> Signature | None:
    """The manifest's signature, checked against its shape: it is served as it is."""
    if raw is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(Signature).validate_python(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidPackage(f"{source}: signature {where}: {first['msg']}") from None


def _check_relative(name: str, source: str) -> None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or name != p.as_posix() or not name:
        raise InvalidPackage(f"{source}: file name {name!r} must be a relative path inside")


def package_files(folder: Path) -> list[str]:
    """Every regular file below ``folder`` except the manifest, as sorted POSIX paths."""
    names = []
    for path in folder.rglob("*"):
        if path.is_symlink():
            raise InvalidPackage(f"{path}: symbolic links are not allowed in a package")
        if path.is_file():
            rel = path.relative_to(folder).as_posix()
            if rel != MANIFEST and "__pycache__" not in rel.split("/"):
                names.append(rel)
    return sorted(names)


def dump_yaml(document: dict[str, Any]) -> bytes:
    """The bytes of a manifest: the same for the same document on every machine."""
    dumper = _FAST_DUMPER if _FAST_DUMPER is not None and _plain(document) else yaml.SafeDumper
    return yaml.dump(document, Dumper=dumper, sort_keys=True, allow_unicode=True).encode()


def _plain(value: Any) -> bool:
    """Printable ASCII in every key and string, and no empty key."""
    if isinstance(value, str):
        return value.isascii() and value.isprintable()
    if isinstance(value, dict):
        return all(k != "" and _plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return True


def write_manifest(
    folder: Path,
    *,
    flavor: str,
    entrypoint: str,
    options: dict[str, Any] | None = None,
    signature: Signature | None = None,
    requirements: tuple[str, ...] = (),
) -> Manifest:
    """Hash every file of ``folder`` and write its manifest next to them."""
    manifest = build_manifest(
        folder,
        package_files(folder),
        flavor=flavor,
        entrypoint=entrypoint,
        options=options,
        signature=signature,
        requirements=requirements,
    )
    (folder / MANIFEST).write_bytes(manifest.to_bytes())
    return manifest


def build_manifest(
    folder: Path,
    names: list[str],
    *,
    flavor: str,
    entrypoint: str,
    options: dict[str, Any] | None = None,
    signature: Signature | None = None,
    requirements: tuple[str, ...] = (),
) -> Manifest:
    """The manifest of ``names`` (POSIX paths below ``folder``), each file hashed."""
    files = {name: digest_file(folder / name) for name in names}
    if entrypoint not in files:
        raise InvalidPackage(f"package entrypoint {entrypoint!r} was not written")
    return Manifest(
        flavor=flavor,
        entrypoint=entrypoint,
        files=files,
        options=options or {},
        signature=signature,
        requirements=requirements,
    )


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidPackage(f"{folder}: cannot read {MANIFEST}: {e.strerror}") from None
    return Manifest.from_bytes(data, str(path))


def verify_folder(folder: Path, manifest: Manifest, *, contents: bool = True) -> None:
    """Raise ``InvalidPackage`` unless the folder holds exactly the manifest's files, with
    their sizes and (``contents``) their digests."""
    present = set(package_files(folder))
    listed = set(manifest.files)
    if missing := sorted(listed - present):
        raise InvalidPackage(f"{folder}: file {missing[0]!r} listed in {MANIFEST} is missing")
    if extra := sorted(present - listed):
        raise InvalidPackage(f"{folder}: file {extra[0]!r} is not listed in {MANIFEST}")
    for name, info in manifest.files.items():
        if (folder / name).stat().st_size != info.size:
            raise InvalidPackage(
                f"{folder}: file {name!r} does not match its size in {MANIFEST} (corrupt package)"
            )
        if contents and digest_file(folder / name).digest != info.digest:
            raise InvalidPackage(
                f"{folder}: file {name!r} does not match its digest in {MANIFEST} (corrupt package)"
            )
