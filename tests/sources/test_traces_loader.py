"""Public trace files: defects handled (duplicates, VM off, memory 0 = missing), units converted."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.sources.traces import load_trace, scan_trace

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


TRACES = Path(__file__).resolve().parents[2] / "testdata" / "traces"


def scanned(path: Path, tmp_path: Path) -> pl.DataFrame:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    lazy = scan_trace(path, scratch)
    assert isinstance(lazy, pl.LazyFrame)
    return lazy.sort(c.OWNER_NAME, c.TIMESTAMP).collect()


def test_scan_trace_streams_the_same_rows_with_the_same_defects_handled(tmp_path: Path) -> None:
    for name, text in (("bb.csv.gz", BITBRAINS), ("g.csv.gz", GOOGLE)):
        path = write_gz(tmp_path / name, text)
        assert_frame_equal(scanned(path, tmp_path), load_trace(path))
    with pytest.raises(SourceError, match="unknown trace format"):
        scan_trace(write_gz(tmp_path / "x.csv.gz", "a,b\n1,2\n"), tmp_path)


@pytest.mark.skipif(not (TRACES / "google2011-jobs-5min.csv.gz").is_file(), reason="testdata/traces not present")
def test_scan_trace_of_the_real_google_trace_equals_the_eager_load(tmp_path: Path) -> None:
    # 460,800 samples of 200 jobs; each job's size is its peak over the whole trace, found by a
    # grouped pass in the scan (a window in memory before): the same numbers
    path = TRACES / "google2011-jobs-5min.csv.gz"
    eager = load_trace(path)
    assert eager.height == 460_800
    assert_frame_equal(scanned(path, tmp_path), eager)
