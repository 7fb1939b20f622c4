from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

from modelyard.flavors.base import Saved
from modelyard.flavors.requirements import RequirementResolver, pins

MODULES = ("numpy", "sklearn", "pandas", "json", "modelyard_no_such_module")


def _uncached_pins(*modules: str) -> tuple[str, ...]:
    """The pins as every registration computed them before the resolver: a fresh scan."""
    providers = metadata.packages_distributions()
    dists = {dist for module in modules for dist in providers.get(module, ())}
    return pins(*sorted(dists, key=str.lower))


def test_pins_installed_distributions_and_skips_missing() -> None:
    version = metadata.version("scikit-learn")
    assert pins("scikit-learn", "no-such-dist-modelyard", "scikit-learn") == (
        f"scikit-learn=={version}",
    )


def test_pins_for_modules_maps_import_names_and_skips_the_standard_library() -> None:
    result = RequirementResolver().pins_for_modules("sklearn", "json", "os")
    assert result == (f"scikit-learn=={metadata.version('scikit-learn')}",)


def test_cached_pins_are_the_pins_of_a_fresh_scan() -> None:
    resolver = RequirementResolver()
    expected = _uncached_pins(*MODULES)
    assert [pin.split("==")[0] for pin in expected] == ["numpy", "pandas", "scikit-learn"]
    assert resolver.pins_for_modules(*MODULES) == expected
    assert resolver.pins_for_modules(*MODULES) == expected  # from what the first call read
    assert resolver.pins_for_modules("pandas", "json") == _uncached_pins("pandas", "json")


def test_the_installed_distributions_are_read_once_while_nothing_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scans: list[None] = []
    scan = metadata.packages_distributions

    def counted() -> dict[str, list[str]]:
        scans.append(None)
        return scan()

    monkeypatch.setattr(metadata, "packages_distributions", counted)
    resolver = RequirementResolver()
    for _ in range(3):
        resolver.pins_for_modules(*MODULES)
    assert len(scans) == 1


def test_a_model_folder_on_sys_path_costs_no_new_scan(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Loading a score.py puts its folder on sys.path for a moment; another thread pinning
    then must not read every installed distribution again (it did: half a second each)."""
    scans: list[None] = []
    scan = metadata.packages_distributions

    def counted() -> dict[str, list[str]]:
        scans.append(None)
        return scan()

    monkeypatch.setattr(metadata, "packages_distributions", counted)
    resolver = RequirementResolver()
    expected = resolver.pins_for_modules(*MODULES)
    for i in range(3):
        folder = tmp_path / f"package-{i}"
        folder.mkdir()
        (folder / "score.py").write_text("def init():\n    pass\n")
        with monkeypatch.context() as m:
            m.syspath_prepend(str(folder))
            assert resolver.pins_for_modules(*MODULES) == expected
    assert len(scans) == 1


def test_a_package_pins_its_own_requirements_then_its_imports() -> None:
    saved = Saved(entrypoint="score.py", requirements=("numpy==0.0",), imports=MODULES)
    assert RequirementResolver().pin(saved) == ("numpy==0.0", *_uncached_pins(*MODULES))


def test_a_flavor_names_distributions_and_the_resolver_pins_them_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up: list[str] = []
    real = metadata.version

    def counted(dist: str) -> str:
        looked_up.append(dist)
        return real(dist)

    monkeypatch.setattr(metadata, "version", counted)
    saved = Saved(entrypoint="model.pkl", distributions=("scikit-learn", "no-such-dist-modelyard"))
    resolver = RequirementResolver()
    first = resolver.pin(saved)
    assert first == (f"scikit-learn=={real('scikit-learn')}",)  # not installed: skipped
    assert resolver.pin(saved) == first
    assert looked_up.count("scikit-learn") == 1


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Install (or replace) version ``v`` of ``modelyard-probe``, import name
    ``modelyard_probe``, into a folder on ``sys.path``: only the ``*.dist-info`` folder that
    installers write. Each change is dated a minute after the previous one, as real
    installs are: two changes within one tick of a coarse filesystem clock would share an
    mtime."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    clock = [time.time_ns() - 3600 * 10**9]

    def date_the_change() -> None:
        clock[0] += 60 * 10**9
        os.utime(site, ns=(clock[0], clock[0]))

    def install(version: str) -> None:
        for old in site.glob("modelyard_probe-*.dist-info"):
            shutil.rmtree(old)
        info = site / f"modelyard_probe-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: modelyard-probe\nVersion: {version}\n"
        )
        (info / "top_level.txt").write_text("modelyard_probe\n")
        date_the_change()

    date_the_change()
    return install


def test_a_distribution_installed_or_upgraded_after_the_first_call_is_seen(
    install: Callable[[str], None],
) -> None:
    resolver = RequirementResolver()
    assert resolver.pins_for_modules("modelyard_probe", "numpy") == _uncached_pins("numpy")

    install("1.0")
    assert resolver.pins_for_modules("modelyard_probe") == ("modelyard-probe==1.0",)

    install("2.0")
    assert resolver.pins_for_modules("modelyard_probe") == ("modelyard-probe==2.0",)
    assert resolver.pins_for_modules(*MODULES, "modelyard_probe") == _uncached_pins(
        *MODULES, "modelyard_probe"
    )
