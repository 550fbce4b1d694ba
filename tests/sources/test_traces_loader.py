"""Public trace files: defects handled (duplicates, VM off, memory 0 = missing), units converted."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import polars as pl
import pytest

from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.sources.traces import load_trace

BITBRAINS = """\
vm_id,month,timestamp_s,cpu_cores,cpu_capacity_mhz,cpu_usage_mhz,cpu_usage_pct,\
mem_capacity_kb,mem_usage_kb
1,2013-7,1372629804,2,5200.0,1300.0,25.0,1048576.0,524288.0
1,2013-7,1372629804,2,5200.0,1300.0,25.0,1048576.0,524288.0
1,2013-7,1372630104,2,5200.0,5200.0,100.0,1048576.0,0.0
1,2013-7,1372630404,0,0.0,0.0,0.0,0.0,0.0
12,2013-7,1372629804,1,2600.0,260.0,10.0,2097152.0,1024.0
"""

GOOGLE = """job_id,day,slot,timestamp_s,cpu_pct,mem_pct
7,1,0,0,10.0,20.0
7,1,1,300,30.0,40.0
7,1,1,300,30.0,40.0
"""


def write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


def test_bitbrains_defects_and_units(tmp_path: Path) -> None:
    frame = load_trace(write_gz(tmp_path / "bb.csv.gz", BITBRAINS))
    vm1 = frame.filter(pl.col(c.OWNER_NAME) == "vm-001")
    assert vm1.height == 2  # duplicate dropped, VM-off row dropped
    # cores used = MHz used / (MHz provisioned / vCPUs): 1300 / 2600 = 0.5, then 5200 / 2600 = 2
    assert vm1[c.CPU_USAGE_CORES].to_list() == [0.5, 2.0]
    # memory 524288 KB = 512 MiB; memory 0 is missing, not zero
    assert vm1[c.MEMORY_WORKING_SET_BYTES].to_list() == [512 * 2**20, None]
    assert vm1[c.CPU_REQUEST_CORES].to_list() == [2.0, 2.0]
    assert vm1[c.MEMORY_LIMIT_BYTES].to_list() == [2**30, 2**30]
    assert frame[c.TIMESTAMP][0].isoformat() == "2013-06-30T22:03:24+00:00"
    assert set(frame[c.OWNER_NAME]) == {"vm-001", "vm-012"}


def test_google_jobs_are_sized_at_their_peak(tmp_path: Path) -> None:
    frame = load_trace(write_gz(tmp_path / "g.csv.gz", GOOGLE))
    assert frame.height == 2
    assert frame[c.CPU_USAGE_CORES].to_list() == pytest.approx([0.1, 0.3])
    assert frame[c.CPU_REQUEST_CORES].to_list() == pytest.approx([0.3, 0.3])
    assert frame[c.MEMORY_REQUEST_BYTES][0] == math.ceil(0.4 * 2**30)  # rounded up: the peak never exceeds it


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such trace file"):
        load_trace(tmp_path / "nope.csv")
    with pytest.raises(SourceError, match="unknown trace format"):
        load_trace(write_gz(tmp_path / "x.csv.gz", "a,b\n1,2\n"))
