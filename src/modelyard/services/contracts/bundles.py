"""Signed bundles: a version carried between installations, verified before anything is
written; the signing keys and the keys this installation trusts."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelyard.domain.bundles import ImportResult, TrustedKey


class Bundles(Protocol):
    def create_key(self, name: str) -> TrustedKey:
        """A new Ed25519 signing key kept by this installation; its public half
        (``public_key``) is what other installations trust."""
        ...

    def trust_key(self, name: str, public_key: str) -> TrustedKey:
        """Trust another installation's public key for bundle imports."""
        ...

    def list_keys(self) -> list[TrustedKey]:
        """This installation's signing keys and the keys it trusts."""
        ...

    def write_bundle(self, ref: str, out: IO[bytes], *, key: str) -> dict[str, Any]:
        """Write the bundle of ``ref`` signed with ``key`` to ``out``."""
        ...

    def import_bundle(self, source: IO[bytes], *, environment: str | None = None) -> ImportResult:
        """Verify a bundle member by member, then import its version (locked) with its
        evaluations and baseline; importing it again reports the existing version."""
        ...
