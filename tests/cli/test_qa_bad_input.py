"""Bad input a new user types: one red line naming the cause and exit 2, never a traceback or an empty report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubetally.cli import main
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """Run ``kubetally ARGS`` as the console script does; (exit code, stdout + stderr)."""
    monkeypatch.setattr(sys, "argv", ["kubetally", *args])
    monkeypatch.setenv("COLUMNS", "300")
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("qa") / "ds"
    save(simulate(ScenarioConfig(days=1, step_seconds=900)), target)
    return target


def test_unknown_namespace_is_an_error_not_an_empty_report(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in ("rightsize", "scale"):
        code, text = cli(capsys, monkeypatch, command, "-d", str(dataset_dir), "-n", "nope")
        assert code == 2, text
        assert "--namespace nope: no such namespace" in text and "auditflow-dev" in text


def test_selector_matching_nothing_is_an_error(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "rightsize", "-d", str(dataset_dir), "-l", "team=nobody")
    assert code == 2, text
    assert "--selector 'team=nobody': no workload matches it" in text


def test_scale_unknown_time_zone_is_a_clear_error(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "scale", "-d", str(dataset_dir), "--timezone", "Mars/Phobos")
    assert code == 2, text
    assert "--timezone 'Mars/Phobos': not an IANA time zone" in text and "internal error" not in text


def test_simulate_refuses_to_overwrite_an_openmetrics_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    precious = tmp_path / "history.om"
    precious.write_text("precious\n")
    args = ("simulate", "-o", str(tmp_path / "ds"), "--days", "0.1", "--step", "3600", "--openmetrics", str(precious))
    code, text = cli(capsys, monkeypatch, *args)
    assert code == 2, text
    assert "already exists" in text and "--overwrite" in text
    assert precious.read_text() == "precious\n" and not (tmp_path / "ds").exists()


def test_simulate_bad_openmetrics_paths_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    out = str(tmp_path / "ds")
    for target, expected in (
        (tmp_path, "is a directory"),
        (a_file / "x.om", "is a file, not a directory"),
        (tmp_path / "ds", "other than the dataset directory"),
    ):
        code, text = cli(capsys, monkeypatch, "simulate", "-o", out, "--days", "0.1", "--openmetrics", str(target))
        assert code == 2 and expected in text and "internal error" not in text, text
    code, text = cli(capsys, monkeypatch, "simulate", "-o", str(a_file / "ds"), "--days", "0.1")
    assert code == 2 and "is a file, not a directory" in text, text


def test_simulate_openmetrics_in_a_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new" / "history.om"
    args = ("simulate", "-o", str(tmp_path / "ds"), "--days", "0.02", "--step", "900", "--openmetrics", str(target))
    code, text = cli(capsys, monkeypatch, *args)
    assert code == 0, text
    assert target.read_text().startswith("# HELP")


def test_simulate_days_shorter_than_a_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "simulate", "-o", str(tmp_path / "ds"), "--days", "0.01", "--step", "3600")
    assert code == 2, text
    assert "shorter than one --step" in text and not (tmp_path / "ds").exists()
