"""Signed bundles as their callers see them: the keys an installation signs with or
trusts, and what an import did."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.domain.entities import ModelVersion


@dataclass(frozen=True, slots=True)
class TrustedKey:
    name: str
    key_id: str
    public_key: str  # base64 of the raw 32 bytes
    created_by: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    version: ModelVersion
    created: bool  # False: this bundle was imported before; nothing was written
    source: str
    key_id: str
