"""Pinned requirements read from the running environment (``scikit-learn==1.9.1``).

Flavors record the exact versions a model was saved with, so a deployment can rebuild the
environment it needs. Distributions that are not installed are skipped.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata

from modelyard.flavors.base import Saved

_Stamp = tuple[tuple[str, int | None], ...]


def _pin(dist: str) -> str | None:
    """``dist==version``, or None when ``dist`` is not installed."""
    try:
        return f"{dist}=={metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return None


def _pinned(dists: Iterable[str], pin: Callable[[str], str | None]) -> tuple[str, ...]:
    return tuple(found for dist in dict.fromkeys(dists) if (found := pin(dist)) is not None)


def pins(*dists: str) -> tuple[str, ...]:
    """``name==version`` for each installed distribution, in order, without duplicates."""
    return _pinned(dists, _pin)


def _mtime(entry: str) -> int | None:
    try:
        return os.stat(entry or ".").st_mtime_ns
    except OSError:  # a missing folder or zip: it counts if it appears later
        return None


def _holds_distributions(entry: str) -> bool:
    """Whether ``importlib.metadata`` can find a distribution in a ``sys.path`` entry: a
    folder with a ``*.dist-info`` or ``*.egg-info`` in it, or a file (a zip)."""
    try:
        with os.scandir(entry or ".") as found:
            return any(e.name.endswith((".dist-info", ".egg-info")) for e in found)
    except NotADirectoryError:
        return True
    except OSError:
        return False


class RequirementResolver:
    """Pins for the distributions that provide top-level import names, read once and reused.

    Which distribution provides which import name is known only by reading every installed
    distribution's ``top_level.txt`` or ``RECORD`` (``packages_distributions``): about half
    a second for the ~150 distributions of a development environment, most of the time of a
    ``score.py`` registration. A resolver keeps that mapping, and the versions it has looked
    up, until the environment changes.

    The signal of a change is ``_stamp_now``: the ``sys.path`` entries that hold
    distributions and the mtime of each. Installing, upgrading or removing a distribution
    adds or removes a ``*.dist-info`` (or ``*.egg-info``) folder directly inside a
    ``sys.path`` folder, which changes that folder's mtime; one ``stat`` per entry costs
    microseconds, where hashing the metadata files would cost most of a scan.
    ``importlib.metadata`` caches its listing of each folder on the same mtime, so a
    distribution appears or disappears here exactly when a fresh
    ``packages_distributions()`` would show it. Missed: a metadata file edited in place
    inside an existing ``*.dist-info`` folder (installers replace the folder). Entries that
    hold no distribution do not count: loading a ``score.py`` puts its package folder on
    ``sys.path`` for a moment, and another thread registering at that moment must not pay a
    new scan (it did, half a second each, with 8 threads registering). An entry is listed
    once per mtime to know.

    One resolver is shared by the threads of a server; a lock guards its state.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = None
        self._providers: Mapping[str, list[str]] = {}
        self._pins: dict[str, str | None] = {}
        self._listed: dict[tuple[str, int | None], bool] = {}

    def pin(self, saved: Saved) -> tuple[str, ...]:
        """What a manifest records: the flavor's own requirements and pinned
        distributions, then pins for the package's imports."""
        with self._lock:
            self._refresh()
            own = _pinned(saved.distributions, self._cached_pin)
        return tuple(
            dict.fromkeys((*saved.requirements, *own, *self.pins_for_modules(*saved.imports)))
        )

    def pins_for_modules(self, *modules: str) -> tuple[str, ...]:
        """Pins for the distributions that provide these top-level import names, sorted by
        name. Standard-library and local modules provide no distribution and are skipped."""
        with self._lock:
            self._refresh()
            dists = {dist for module in modules for dist in self._providers.get(module, ())}
            return _pinned(sorted(dists, key=str.lower), self._cached_pin)

    def _refresh(self) -> None:
        """Forget what was read when the environment changed (call with the lock held)."""
        stamp = self._stamp_now()
        if stamp != self._stamp:
            self._providers = metadata.packages_distributions()
            self._pins = {}
            self._stamp = stamp

    def _stamp_now(self) -> _Stamp:
        """The ``sys.path`` entries that hold distributions, each with its mtime (call with
        the lock held). Only the current entries' listings are kept."""
        listed: dict[tuple[str, int | None], bool] = {}
        for entry in sys.path:
            key = (entry, _mtime(entry))
            found = self._listed.get(key)
            listed[key] = _holds_distributions(entry) if found is None else found
        self._listed = listed
        return tuple(key for key, holds in listed.items() if holds)

    def _cached_pin(self, dist: str) -> str | None:
        if dist not in self._pins:
            self._pins[dist] = _pin(dist)
        return self._pins[dist]
