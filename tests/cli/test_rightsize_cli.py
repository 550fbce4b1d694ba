"""`kubetally rightsize` and `kubetally backtest` end to end, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubetally.dataset import save
from kubetally.model.recommendation import RECOMMENDATIONS
from kubetally.simulate import ScenarioConfig, simulate

pytestmark = pytest.mark.slow  # each test starts the CLI in a subprocess


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetally", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("rs") / "ds"
    save(simulate(ScenarioConfig(days=3, step_seconds=300)), target)
    return target


def test_json_is_the_documented_frame_plus_money(dataset_dir: Path, tmp_path: Path) -> None:
    result = run("rightsize", "--dataset", str(dataset_dir), "-o", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and list(rows[0]) == [
        *RECOMMENDATIONS.names,
        "monthly_cost_current",
        "monthly_saving",
        "monthly_book_saving",
        "currency",
    ]
    by_name = {(r["namespace"], r["owner_name"], r["container"]): r for r in rows}
    ns = by_name[("auditflow", "notification-service", "notification-service")]
    assert ns["status"] == "over-provisioned" and ns["monthly_saving"] > 0 and ns["currency"] == "USD"
    ala = by_name[("auditflow", "audit-log-analysis", "audit-log-analysis")]
    assert ala["status"] == "under-provisioned" and ala["oom_kills"] >= 1


def test_namespace_selector_and_strategy(dataset_dir: Path, tmp_path: Path) -> None:
    result = run(
        "rightsize", "-d", str(dataset_dir), "-n", "auditflow", "-l", "finops_tier=critical", "-s", "vpa",
        "-o", "json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["owner_name"] for r in rows} == {"postgresql", "rabbitmq", "event-audit-dashboard"}
    assert {r["strategy"] for r in rows} == {"vpa"}


def test_table_and_settings(dataset_dir: Path, tmp_path: Path) -> None:
    result = run("rightsize", "-d", str(dataset_dir), "-s", "simple", "--set", "cpu_percentile=99", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "auditflow/deploy/notification-service" in result.stdout
    assert "containers:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "magic"], "unknown strategy 'magic'"),
        (["-s", "simple", "--set", "cpu_percentile=500"], "simple settings: cpu_percentile"),
        (["-s", "simple", "--set", "nope=1"], "--set 'nope=1': expected FIELD=VALUE"),
        (["-l", "a in (b)"], "invalid label selector term"),
    ],
)
def test_errors_are_one_red_line(dataset_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("rightsize", "-d", str(dataset_dir), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_policy_file(dataset_dir: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "default_tier: lean\ntiers:\n  lean:\n    cpu_request_percentile: 0.5\n    min_history_hours: 1\n"
    )
    result = run("rightsize", "-d", str(dataset_dir), "--policy", str(policy), "-o", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert all("tier lean" in r["reason"] for r in json.loads(result.stdout) if r["status"] != "no-recommendation")


def test_help_lists_every_strategy_setting(tmp_path: Path) -> None:
    result = run("rightsize", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for field in ("points_required", "half_life_hours", "default_tier", "memory_buffer_percentage"):
        assert field in result.stdout


def test_backtest_on_a_dataset(dataset_dir: Path, tmp_path: Path) -> None:
    result = run(
        "backtest", "-d", str(dataset_dir), "--min-points", "10", "-s", "current", "-s", "tiered",
        "-o", "json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["strategy"] for r in rows] == ["current", "tiered"]
    assert rows[0]["cpu_saving"] == 0 and rows[1]["cpu_saving"] > 0
    assert rows[0]["entities"] == rows[1]["entities"] > 10


def test_docs_cover_every_setting_and_option() -> None:
    from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, TierPolicy

    doc = (Path(__file__).parents[2] / "docs" / "rightsize.md").read_text()
    models = [s.settings_model for s in STRATEGIES.values()] + [TierPolicy, EvidenceSettings]
    for model in models:
        for field in model.model_fields:
            assert field in doc, field
    for option in (
        "--strategy",
        "--namespace",
        "--selector",
        "--output",
        "--set",
        "--policy",
        "--prices",
        "--evidence",
    ):
        assert option in doc, option
