"""The ``modelyard`` command as a user runs it: tables, --json, one-line errors, exit 1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from tests.cli.conftest import Result

Cli = Callable[..., Result]


@pytest.fixture
def model_file(
    tmp_path: Path, trained_model: LogisticRegression, payments_frame: pd.DataFrame
) -> tuple[Path, Path]:
    path = tmp_path / "model.joblib"
    joblib.dump(trained_model, path)
    example = tmp_path / "example.csv"
    payments_frame.drop(columns="label").head(20).to_csv(example, index=False)
    return path, example


def test_register_show_list_search(cli: Cli, model_file: tuple[Path, Path]) -> None:
    path, example = model_file
    assert cli("datasets", "register", "invoices", example).code == 0
    r = cli(
        "models",
        "register",
        "payments",
        path,
        "--input-example",
        example,
        "--tag",
        "team=risk",
        "--metric",
        "f1_macro=0.61",
        "--dataset",
        "invoices:1",
        "--json",
    )
    assert r.code == 0, r.err
    v = r.json()
    assert (v["ref"], v["flavor"], v["created_by"]) == ("sandbox/payments:1", "sklearn", "carol")
    assert v["signature"]["outputs"]["classes"] == ["late", "on_time", "very_late"]
    assert [c["name"] for c in v["signature"]["inputs"]] == ["amount", "terms_days", "late_share"]

    r = cli("models", "show", "payments:1")
    assert r.code == 0 and "sklearn" in r.out and "team=risk" in r.out and "invoices:1" in r.out
    r = cli("models", "list", "--json")
    assert [m["full_name"] for m in r.json()] == ["sandbox/payments"]
    r = cli("models", "search", "metrics.f1_macro > 0.6 and tags.team = 'risk'", "--json")
    assert [i["ref"] for i in r.json()["items"]] == ["sandbox/payments:1"]
    r = cli("models", "search", "metrics.f1_macro > 0.6")
    assert "sandbox/payments:1" in r.out


def test_alias_archive_delete_flow(cli: Cli, model_file: tuple[Path, Path]) -> None:
    path, example = model_file
    for _ in range(2):
        assert cli("models", "register", "payments", path, "--input-example", example).code == 0
    r = cli("models", "alias", "payments", "champion", "1")
    assert r.code == 0 and "@champion → 1" in r.out
    r = cli("models", "alias", "payments", "champion", "2")
    assert "(was 1)" in r.out
    r = cli("models", "show", "payments@champion", "--json")
    assert r.json()["version"] == 2
    r = cli("models", "delete", "payments:2")
    assert r.code == 1
    assert r.err.strip() == "error: cannot delete sandbox/payments:2: alias 'champion' points to it"
    assert cli("models", "archive", "payments:1").code == 0
    assert cli("models", "show", "payments:1", "--json").json()["status"] == "archived"
    assert cli("models", "delete", "payments:1").code == 0
    assert cli("models", "show", "payments:1").code == 1
    r = cli("audit", "--json")
    actions = [e["action"] for e in r.json()]
    assert actions[-3:] == ["alias.moved", "version.archived", "version.deleted"]
    r = cli("audit", "-n", "2", "--json")  # the newest two, oldest first
    assert [e["action"] for e in r.json()] == ["version.archived", "version.deleted"]
    assert cli("audit", "--after", "0", "-n", "1", "--json").json()[0]["seq"] == 1
    assert cli("audit", "verify").code == 0
    assert cli("doctor").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("models", "show", "nope:1"), "error: model sandbox/nope does not exist"),
        (("models", "show", "payments:x"), "error: invalid version 'x' in 'payments:x'"),
        (
            ("models", "search", "name = "),
            "error: malformed filter at position 8 at end of filter: expected a quoted string",
        ),
        (("models", "register", "bad name", "."), "error: invalid model name 'bad name'"),
        (("models", "register", "payments", "missing.pkl"), "error: missing.pkl: no such file"),
        (
            ("models", "register", "payments", "model.joblib"),
            "error: model.joblib is a bare model file: give an input example",
        ),
        (("models", "list", "--env", "staging"), "error: unknown environment 'staging'"),
        (("models", "register", "payments"), "error: Missing argument 'path'."),
        (
            ("models", "register", "payments", "model.joblib", "--metric", "f1"),
            "error: invalid metric 'f1': expected KEY=VALUE",
        ),
    ],
)
def test_user_mistakes_give_one_line_and_exit_1(
    cli: Cli, model_file: tuple[Path, Path], args: tuple[str, ...], message: str
) -> None:
    r = cli(*args)
    assert r.code == 1
    assert r.err.startswith(message), r.err
    assert len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err
    assert cli("models", "list", "--json").json() == []


def test_console_script_reports_errors_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "modelyard"
    env = {"MODELYARD_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [str(exe), "models", "show", "ghost:3"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "error: model sandbox/ghost does not exist"


def test_doctor_fails_on_a_corrupt_object(
    cli: Cli, model_file: tuple[Path, Path], tmp_path: Path
) -> None:
    path, example = model_file
    assert cli("models", "register", "payments", path, "--input-example", example).code == 0
    objects = sorted((tmp_path / "home" / "artifacts" / "objects").rglob("*"))
    biggest = max((p for p in objects if p.is_file()), key=lambda p: p.stat().st_size)
    biggest.write_bytes(b"bit rot")
    r = cli("doctor", "--json")
    assert r.code == 1
    kinds = {f["kind"] for f in r.json()["findings"]}
    assert "package_corrupt" in kinds


def test_environments_from_option_reference_and_setting(
    cli: Cli, model_file: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, example = model_file
    assert (
        cli("models", "register", "production/payments", path, "--input-example", example).code == 0
    )
    assert (
        cli(
            "models",
            "register",
            "payments",
            path,
            "--input-example",
            example,
            "--env",
            "production",
        ).code
        == 0
    )
    assert (
        cli("models", "show", "payments", "--env", "production", "--json").json()["model"][
            "latest_version"
        ]
        == 2
    )
    assert cli("models", "show", "payments").code == 1  # nothing in sandbox
    monkeypatch.setenv("MODELYARD_ENVIRONMENT", "production")
    assert cli("models", "show", "payments:2", "--json").json()["environment"] == "production"
    r = cli("models", "show", "sandbox/payments:1", "--env", "production")
    assert r.code == 1
    assert "names environment 'sandbox' but 'production' was asked for" in r.err


def test_the_version_is_printed(cli: Cli) -> None:
    import modelyard

    r = cli("--version")
    assert (r.code, r.out.strip()) == (0, f"modelyard {modelyard.__version__}")


def test_a_bare_group_shows_its_help_and_exits_0(cli: Cli) -> None:
    r = cli("models")
    assert r.code == 0 and r.err == ""
    assert r.out.startswith("Usage: ") and " models [OPTIONS] COMMAND" in r.out


def test_help_lists_the_model_commands_first_with_whole_summaries(cli: Cli) -> None:
    out = cli("--help").out
    commands = out.split("Commands:\n")[1]
    assert commands.split()[0] == "models"
    assert "..." not in commands  # Click cuts a summary at 45 characters: "traffic (default..."
    assert "the versions that served it." in " ".join(commands.split())


def test_home_may_follow_the_subcommand(
    cli: Cli, tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    other = tmp_path / "other"
    assert cli("models", "register", "payments", make_package(), "--home", other).code == 0
    assert cli("models", "list", "--json", "--home", tmp_path / "home").json() == []
    names = [m["name"] for m in cli("models", "list", f"--home={other}", "--json").json()]
    assert names == ["payments"]
    assert cli("--home", other, "models", "list", "--json").json()[0]["name"] == "payments"


def test_a_table_written_to_a_file_keeps_each_value_on_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, make_package: Callable[..., Path]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # what a terminal-less shell reports, if anything
    value = "a-long-owner-name-" * 6
    assert (
        cli("models", "register", "payments", make_package(), "--tag", f"owner={value}").code == 0
    )
    assert f"owner={value}" in cli("models", "show", "payments:1").out


def test_a_label_left_in_the_input_example_is_not_a_required_input(
    cli: Cli, model_file: tuple[Path, Path], payments_frame: pd.DataFrame, tmp_path: Path
) -> None:
    path, _ = model_file
    payments_frame.to_parquet(tmp_path / "train.parquet")  # still has its label column
    r = cli("models", "register", "payments", path, "--input-example", tmp_path / "train.parquet",
            "--json")  # fmt: skip
    assert r.code == 0
    assert r.err.startswith("warning: label left out of the signature: the model does not take")
    assert len(r.err.splitlines()) == 1  # one line: no file name, no source line
    inputs = [c["name"] for c in r.json()["signature"]["inputs"]]
    assert inputs == ["amount", "terms_days", "late_share"]


def test_a_version_is_downloaded_to_a_folder(
    cli: Cli, model_file: tuple[Path, Path], tmp_path: Path
) -> None:
    path, example = model_file
    assert cli("models", "register", "payments", path, "--input-example", example).code == 0
    r = cli("models", "download", "payments:1", "-o", tmp_path / "pkg")
    assert r.code == 0, r.err
    assert r.out.startswith("wrote sandbox/payments:1 (sklearn, sha256:")
    assert (tmp_path / "pkg" / "modelyard.yaml").is_file()
    again = cli("models", "register", "payments", tmp_path / "pkg", "--json").json()
    assert (
        again["package_digest"]
        == cli("models", "show", "payments:1", "--json").json()["package_digest"]
    )
    r = cli("models", "download", "payments:1", "-o", tmp_path / "pkg")
    assert (r.code, r.err.strip()) == (
        1,
        f"error: {tmp_path / 'pkg'} exists and is not an empty folder",
    )
