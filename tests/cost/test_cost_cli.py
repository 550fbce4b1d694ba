"""`kubetally showback`, `nodes` and `export focus` end to end on a saved simulated dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from kubetally.cli import app
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(simulate(ScenarioConfig(days=2, step_seconds=600)), tmp_path_factory.mktemp("ds") / "dataset")


def test_showback_json_reconciles(dataset_dir: Path) -> None:
    result = runner.invoke(app, ["showback", "--dataset", str(dataset_dir), "--by", "team,finops_tier", "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    teams = {r["team"] for r in rows}
    assert {"core-pipeline", "analytics", "notifications", "frontend", "platform", "__idle__"} <= teams
    assert all(set(r) >= {"team", "finops_tier", "total_cost", "waste_cost", "monthly_projection"} for r in rows)
    total = sum(Decimal(r["total_cost"]) for r in rows)
    # the same total whatever the grouping
    by_ns = json.loads(runner.invoke(app, ["showback", "-d", str(dataset_dir), "-o", "json"]).output)
    assert sum(Decimal(r["total_cost"]) for r in by_ns) == total


def test_showback_table_window_and_shared(dataset_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["showback", "-d", str(dataset_dir), "--by", "team", "--window", "1d", "--share", "auditflow/postgresql",
         "--idle", "share"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Showback by team — 1 days" in result.output
    assert "reconciled" in result.output
    assert "__idle__" not in result.output  # idle shared over the pods
    assert "spend without an owner: auditflow-dev/load-tester" in result.output


def test_showback_csv_daily(dataset_dir: Path) -> None:
    result = runner.invoke(app, ["showback", "-d", str(dataset_dir), "--daily", "-o", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "namespace,day,total_cost"


def test_nodes_json(dataset_dir: Path) -> None:
    result = runner.invoke(app, ["nodes", "-d", str(dataset_dir), "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["node"] for r in rows} == {"pi-server-1", "pi-agent-1", "pi-agent-2", "pi-agent-3"}
    for r in rows:
        assert 0 <= r["cpu_stranded_cores"] <= r["cpu_allocatable_cores"]
        assert r["cpu_fragmented_cores"] <= r["cpu_stranded_cores"] + 1e-9
    table = runner.invoke(app, ["nodes", "-d", str(dataset_dir)])
    assert "Right-sizing estimate" in table.output and "pi-server-1" in table.output


def test_export_focus(dataset_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "focus", "-d", str(dataset_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "focus-1.2.parquet")
    assert frame["BillingAccountId"].unique().to_list() == ["auditflow-pi"]
    assert (tmp_path / "focus-1.2.csv").read_text().startswith("BilledCost,")


def test_bad_price_file_is_one_red_line(dataset_dir: Path, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("nodes:\n  - per_hour: 1\n    cloud: aws/t4g.large\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kubetally", "showback", "-d", str(dataset_dir), "--prices", str(prices)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())  # rich wraps long lines when piped
    assert "nodes.0: give exactly one of profile, owned, cloud, per_hour, per_month, unit" in message


def test_showback_unowned_lists_the_planted_unlabelled_workload(dataset_dir: Path) -> None:
    result = runner.invoke(app, ["showback", "-d", str(dataset_dir), "--unowned", "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    names = {(r["namespace"], r["controller"]) for r in rows}
    assert ("auditflow-dev", "load-tester") in names  # answer key: missing team/finops_tier labels
    assert all(not r["namespace"].startswith("__") for r in rows)


def test_cloud_what_if(dataset_dir: Path) -> None:
    result = runner.invoke(app, ["showback", "-d", str(dataset_dir), "--cloud", "aws/t4g.medium", "-o", "json"])
    assert result.exit_code == 0, result.output
    total = sum(Decimal(r["total_cost"]) for r in json.loads(result.output))
    # 4 nodes x 0.0336/h x 48 h = 6.4512, plus the volumes at the default 0.04 per GiB-month:
    # 10 + 2 + 8 + 5 + 20 GiB = 45 GiB x 0.04 / 730 h x 48 h = 0.1184 -> 6.5696
    assert total == Decimal("6.57")


def test_showback_by_a_label_nobody_has_warns(dataset_dir: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "kubetally", "showback", "--dataset", str(dataset_dir), "--by", "colour", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no workload or pod carries 'colour'" in " ".join(result.stderr.split())
