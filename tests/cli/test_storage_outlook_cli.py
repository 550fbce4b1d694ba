"""`kubetally storage --policy` on cluster data shows the retention outlook; the demo shows it for its own policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import cli

MI = 2**20


def test_storage_policy_outlook_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("tables:\n  - {table: auditflow.public.audit_event, time_column: created_at, keep: 10d}\n")
    code, out, err = cli(capsys, monkeypatch, "storage", "--demo", "--policy", str(policy), "-o", "json",
                         "--report", "outlook")  # fmt: skip
    assert code == 0, err
    (row,) = json.loads(out)
    # the demo's 14 days: 1,800 MiB + 95 MiB a day to the last sample, ~33 days of rows; 10 days stay
    size = (1800 + 95 * (14 - 60 / 86_400)) * MI
    assert row["size_bytes"] == pytest.approx(size, rel=1e-5)
    assert row["archive_bytes_now"] == pytest.approx(size - 10 * 95 * MI, rel=1e-5)
    assert row["steady_bytes"] == pytest.approx(950 * MI, rel=1e-6)
    assert row["pvc"] == "auditflow/data-postgresql-0"


def test_demo_shows_the_growing_table_its_forecast_and_the_retention_outlook(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(capsys, monkeypatch, "storage", "--demo", "--policy", "/nonexistent/policy.yaml")
    assert code != 0 and "--policy /nonexistent/policy.yaml" in (out + err) and "Traceback" not in out + err
    code, out, err = cli(capsys, monkeypatch, "demo")
    assert code == 0, err
    section = out[out.index("Storage: the growing audit_event table") :]
    assert "Volumes: when each fills at its current growth" in section
    assert "Retention outlook" in section and "now: 473,438" in section and "keep: 30d" in section
