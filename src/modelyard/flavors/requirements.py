"""Pinned requirements read from the running environment (``scikit-learn==1.9.1``).

Flavors record the exact versions a model was saved with, so a deployment can rebuild the
environment it needs. Distributions that are not installed are skipped.
"""

from __future__ import annotations

from importlib import metadata


def pins(*dists: str) -> tuple[str, ...]:
    """``name==version`` for each installed distribution, in order, without duplicates."""
    found: list[str] = []
    for dist in dict.fromkeys(dists):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        found.append(f"{dist}=={version}")
    return tuple(found)


def pins_for_modules(*modules: str) -> tuple[str, ...]:
    """Pins for the distributions that provide these top-level import names.

    Standard-library and local modules provide no distribution and are skipped.
    """
    providers = metadata.packages_distributions()
    dists = [dist for module in modules for dist in providers.get(module, ())]
    return pins(*sorted(set(dists), key=str.lower))
