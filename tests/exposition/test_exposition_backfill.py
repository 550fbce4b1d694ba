"""promtool accepts the exposition and stores exactly the samples written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from expo_dataset import dataset

from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics
from servers import backfill, require_binary

pytestmark = pytest.mark.services


@pytest.mark.parametrize("options", [{}, {"label_allowlist": False, "container_label_lost": True}])
def test_promtool_backfills_without_error(tmp_path: Path, options: dict[str, bool]) -> None:
    path = tmp_path / "history.om"
    with open(path, "wb") as out:
        stats = write_openmetrics(dataset(), out, ExpositionOptions(**options))
    tsdb = tmp_path / "tsdb"
    backfill(path, tsdb)
    promtool = require_binary("promtool")
    listing = subprocess.run(
        [promtool, "tsdb", "list", str(tsdb)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[1:]
    stored_samples = sum(int(line.split()[4]) for line in listing if line.strip())
    stored_series = sum(int(line.split()[6]) for line in listing if line.strip())
    assert (stored_samples, stored_series) == (stats.samples, stats.series)
