"""The hand-worked 2-node cluster through the CLI: over-commitment JSON and the showback table (golden file).

Regenerate the golden file after an intended change with KUBETALLY_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from alloc_handmade import PRICES_YAML, dataset
from click.testing import CliRunner

from kubetally.cli import app
from kubetally.dataset import save

GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()


@pytest.fixture(scope="module")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("handmade")
    prices = root / "prices.yaml"
    prices.write_text(PRICES_YAML)
    return save(dataset(), root / "dataset"), prices


def test_overcommit_json(handmade: tuple[Path, Path]) -> None:
    ds, prices = handmade
    result = runner.invoke(app, ["showback", "-d", str(ds), "--prices", str(prices), "--overcommit", "-o", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    # node-b: 2.5 cores asked of 2 for 2 hours (see test_allocation_handworked.py)
    assert row["node"] == "node-b" and row["resource"] == "cpu"
    assert row["overcommitted_quantity_hours"] == pytest.approx(1.0)
    assert row["unbilled_cost"] == pytest.approx(0.10)


def test_showback_table_golden(handmade: tuple[Path, Path]) -> None:
    ds, prices = handmade
    result = runner.invoke(
        app, ["showback", "-d", str(ds), "--prices", str(prices), "--by", "namespace"], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    golden = GOLDEN / "showback-handmade.txt"
    if os.environ.get("KUBETALLY_UPDATE_GOLDEN") == "1":
        golden.write_text(result.output)
    assert result.output == golden.read_text()
