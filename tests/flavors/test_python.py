from __future__ import annotations

import os
import sys
from pathlib import Path
from textwrap import dedent

import numpy as np
import pytest

from modelyard.domain.errors import InvalidInput, InvalidPackage
from modelyard.flavors.package import Manifest
from modelyard.flavors.python import PythonFlavor, save_folder
from modelyard.flavors.registry import Flavors
from modelyard.flavors.staging import Packager as StagingPackager

from .conftest import Packager, Table

# Their score.py folders register without an input example, which warns (as it should).
pytestmark = pytest.mark.filterwarnings("ignore::modelyard.domain.errors.ModelyardWarning")


SCORE = """
import json
import os
from pathlib import Path

import numpy as np

from thresholds import label_for

weights = None


def init():
    global weights
    weights = json.loads((Path(os.environ["MODELYARD_MODEL_DIR"]) / "weights.json").read_text())


def run(data):
    score = data["amount"].to_numpy() * weights["amount"] + data["days"].to_numpy()
    p = 1 / (1 + np.exp(-(score - weights["bias"])))
    return {
        "predictions": [label_for(v) for v in p],
        "probabilities": np.column_stack([1 - p, p]).tolist(),
        "classes": ["no", "yes"],
    }
"""

THRESHOLDS = """
def label_for(p):
    return "yes" if p >= 0.5 else "no"
"""


DOUBLE = """
def init():
    pass


def run(data):
    return (data["amount"] * 2).tolist()
"""

AS_JSON = """
import json


def init():
    pass


def run(data):
    return json.dumps({"predictions": [1] * len(data)})
"""

FAILING_INIT = """
def init():
    raise RuntimeError("weights.bin is missing\\nsecond line")


def run(data):
    return data
"""


def _reference(table: Table) -> tuple[np.ndarray, np.ndarray]:
    score = table.X["amount"].to_numpy() * 0.5 + table.X["days"].to_numpy()
    p = 1 / (1 + np.exp(-(score - 80.0)))
    return np.where(p >= 0.5, "yes", "no"), np.column_stack([1 - p, p])


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(dedent(text))
    return folder


def test_score_folder_round_trip(package: Packager, binary: Table, tmp_path: Path) -> None:
    src = _write(
        tmp_path / "src",
        {
            "score.py": SCORE,
            "thresholds.py": THRESHOLDS,
            "weights.json": '{"amount": 0.5, "bias": 80}',
        },
    )
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "junk.pyc").write_bytes(b"junk")
    before = os.environ.get("MODELYARD_MODEL_DIR")

    pkg = package(PythonFlavor(), save=lambda folder: save_folder(src, folder))

    assert sorted(pkg.manifest.files) == ["score.py", "thresholds.py", "weights.json"]
    assert pkg.manifest.entrypoint == "score.py"
    assert any(r.startswith("numpy==") for r in pkg.manifest.requirements)
    labels, proba = _reference(binary)
    assert np.array_equal(pkg.model.predict(binary.X), labels)
    assert np.array_equal(pkg.model.predict_proba(binary.X), proba)
    assert pkg.model.classes == ["no", "yes"]
    assert os.environ.get("MODELYARD_MODEL_DIR") == before
    assert str(pkg.folder) not in sys.path


def test_single_score_file_returning_a_list(
    flavors: Flavors, package: Packager, regression: Table, tmp_path: Path
) -> None:
    src = _write(
        tmp_path / "src",
        {"score.py": DOUBLE},
    )

    assert flavors.for_file(src / "score.py").name == "python"
    pkg = package(PythonFlavor(), file=src / "score.py")

    assert pkg.model.classes is None
    assert pkg.model.predict_proba(regression.X) is None
    assert np.array_equal(pkg.model.predict(regression.X), regression.X["amount"].to_numpy() * 2)


def test_json_text_results_are_decoded(
    package: Packager, regression: Table, tmp_path: Path
) -> None:
    src = _write(
        tmp_path / "src",
        {"score.py": AS_JSON},
    )
    pkg = package(PythonFlavor(), file=src / "score.py")
    assert np.array_equal(pkg.model.predict(regression.X), np.ones(len(regression.X), dtype=int))


def test_failing_init_is_an_invalid_package(package: Packager, tmp_path: Path) -> None:
    src = _write(
        tmp_path / "src",
        {"score.py": FAILING_INIT},
    )

    with pytest.raises(InvalidPackage) as raised:
        package(PythonFlavor(), file=src / "score.py")
    assert str(raised.value) == "score.py init() failed: RuntimeError: weights.bin is missing"


def test_failing_import_is_an_invalid_package(package: Packager, tmp_path: Path) -> None:
    src = _write(
        tmp_path / "src",
        {"score.py": "import no_such_module_modelyard\ndef init(): pass\ndef run(data): pass\n"},
    )

    with pytest.raises(InvalidPackage, match=r"^score\.py cannot be imported: ModuleNotFoundError"):
        package(PythonFlavor(), file=src / "score.py")


def test_scripts_without_the_contract_are_refused(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "src",
        {"score.py": "def run(data):\n    return data\n", "broken.py": "def init(:\n"},
    )
    folder = tmp_path / "pkg"
    folder.mkdir()

    with pytest.raises(InvalidPackage, match=r"score\.py must define init\(\) and run\(data\)"):
        PythonFlavor().save_file(src / "score.py", folder)
    with pytest.raises(InvalidPackage, match=r"broken\.py has a syntax error at line 1"):
        PythonFlavor().accepts_file(src / "broken.py")
    with pytest.raises(InvalidPackage, match=r"must hold score\.py"):
        save_folder(tmp_path / "pkg", tmp_path / "other")
    with pytest.raises(InvalidInput, match="not an object"):
        PythonFlavor().save(object(), folder)
    assert not PythonFlavor().accepts_object(lambda data: data)


def test_a_score_folder_is_staged_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing copied and nothing written into the user's folder; the manifest lists what a
    copy would hold. A folder with a symbolic link is copied: the package holds the target."""
    src = _write(tmp_path / "src", {"score.py": DOUBLE, "weights.json": "{}"})
    _write(src / "lib", {"helper.py": "import numpy\n"})
    _write(src / ".ipynb_checkpoints", {"score-checkpoint.py": DOUBLE})
    _write(src / "__pycache__", {"old.cpython-311.pyc": "junk"})
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as Python runs by default
    before = sorted(p.relative_to(src).as_posix() for p in src.rglob("*"))
    packager = StagingPackager(Flavors(), tmp_path / "work", tmp_path / "cache")
    with packager.stage(src) as staged:
        assert staged.folder == src
        assert sorted(staged.manifest.files) == ["lib/helper.py", "score.py", "weights.json"]
        assert any(r.startswith("numpy==") for r in staged.manifest.requirements)
        assert Manifest.from_bytes(staged.manifest_bytes) == staged.manifest
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*")) == before

    (tmp_path / "shared.json").write_text('{"shared": true}')
    (src / "weights.json").unlink()
    (src / "weights.json").symlink_to(tmp_path / "shared.json")
    with packager.stage(src) as staged:
        assert staged.folder != src
        assert (staged.folder / "weights.json").read_text() == '{"shared": true}'
        assert not (staged.folder / "weights.json").is_symlink()
        assert sorted(staged.manifest.files) == ["lib/helper.py", "score.py", "weights.json"]
