"""The demo's inputs travel with its dataset: `kubetally showback -d OUT/dataset` prints exactly the
figures `kubetally demo` printed (before, it printed 7.41 USD and six workloads without an owner instead
of 9.26 and one, because the demo applied data/auditflow/{owners,allocation}.yaml and the dataset did
not say so)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kubetally.cli import app
from kubetally.dataset import load

ENV = {"COLUMNS": "126", "NO_COLOR": "1"}


def _team_table(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Showback by team"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    return [line.rstrip() for line in lines[start : end + 1]]


def test_showback_of_the_saved_demo_prints_the_demo_figures(tmp_path: Path) -> None:
    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--out", str(tmp_path), "--days", "2", "--step", "300", "--no-store"], env=ENV)
    assert demo.exit_code == 0, demo.output
    info = load(tmp_path / "dataset").info
    assert info.input_text("owners") is not None and info.input_text("allocation") is not None

    replay = runner.invoke(app, ["showback", "-d", str(tmp_path / "dataset"), "--by", "team"], env=ENV)
    assert replay.exit_code == 0, replay.output
    assert _team_table(replay.stdout) == _team_table(demo.stdout)
    assert "recorded with the dataset are used" in replay.stderr
    unowned = [line for line in replay.stdout.splitlines() if line.startswith("spend without an owner")]
    assert len(unowned) == 1 and "auditflow-dev/load-tester" in unowned[0]

    # an explicit option wins over what the dataset recorded
    empty = tmp_path / "owners.yaml"
    empty.write_text("owners: []\n")
    override = runner.invoke(
        app, ["showback", "-d", str(tmp_path / "dataset"), "--by", "team", "--owners", str(empty)], env=ENV
    )
    assert override.exit_code == 0, override.output
    assert _team_table(override.stdout) != _team_table(demo.stdout)
