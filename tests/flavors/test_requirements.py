from __future__ import annotations

from importlib import metadata

from modelyard.flavors.requirements import pins, pins_for_modules


def test_pins_installed_distributions_and_skips_missing() -> None:
    version = metadata.version("scikit-learn")
    assert pins("scikit-learn", "no-such-dist-modelyard", "scikit-learn") == (
        f"scikit-learn=={version}",
    )


def test_pins_for_modules_maps_import_names_and_skips_the_standard_library() -> None:
    result = pins_for_modules("sklearn", "json", "os")
    assert result == (f"scikit-learn=={metadata.version('scikit-learn')}",)
