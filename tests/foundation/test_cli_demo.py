"""`kubetally demo` and `kubetally simulate` end to end, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from kubetally.dataset import load
from kubetally.model import columns as c
from kubetally.store import RunStore


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetally", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
        check=False,
    )


def test_demo_prints_summary_saves_dataset_and_records_run(tmp_path: Path) -> None:
    store = tmp_path / "history.duckdb"
    result = run("demo", "--out", str(tmp_path / "demo"), "--store", str(store), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "pi-server-1" in out and "pi-agent-3" in out
    assert "auditflow/deploy/notification-service" in out
    # The over-provisioned service: 1 core requested, p95 usage in tens of millicores.
    line = next(row for row in out.splitlines() if "notification-service" in row and "deploy" in row)
    assert "1.00" in line and "1024Mi" in line
    # the report section compares the first week with the last (AuditFlow repeats the same week: +0.00)
    assert "since the first week (baseline diff): spend 20.11 -> 20.11 USD/month (+0.00)" in out
    ds = load(tmp_path / "demo" / "dataset")
    assert ds.info.steps == 14 * 24 * 60
    with RunStore(store) as history:
        runs = history.runs()
    assert runs.height == 1
    assert runs.get_column("containers")[0] == ds.containers.height
    assert runs.get_column("nodes")[0] == 4
    # A second run appends rather than replaces.
    assert run("demo", "--out", str(tmp_path / "demo"), "--store", str(store), cwd=tmp_path).returncode == 0
    with RunStore(store) as history:
        assert history.runs().get_column("run_id").to_list() == [1, 2]


def test_simulate_command_writes_a_scaled_dataset(tmp_path: Path) -> None:
    target = tmp_path / "big"
    args = ("simulate", "--out", str(target), "--days", "1", "--step", "600", "--extra-workloads", "24")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ds = load(target)
    assert ds.workloads.filter(pl.col(c.NAMESPACE).str.starts_with("tenant-")).height == 24
    again = run(*args, cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_dataset_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    result = run("demo", "--days", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--days" in result.stderr


def test_help_lists_commands(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "demo" in result.stdout and "simulate" in result.stdout
