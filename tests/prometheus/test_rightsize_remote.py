"""`rightsize --prometheus URL` reads usage by remote read into hourly summaries (no per-sample frame) on a
real Prometheus, and falls back to the range queries, saying so, on VictoriaMetrics (no remote read).

Ground truth: right-sizing on the simulator's own samples (exact percentiles). From the summaries every
figure that is exact in them (data points, memory peak, throttling, hours) is equal, and each request is
within the sketch's 0.5 % plus one rounding step of the ground truth's.
"""

from __future__ import annotations

import polars as pl
import pytest

from kubetally.analysis.rightsizing import KEYS
from kubetally.app.rightsize import RightsizeRequest, recommend, rightsize
from kubetally.app.source import open_source
from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model.hourly import ALPHA
from kubetally.outputs.rightsizing import RecommendationsResult
from servers import Serve

pytestmark = [pytest.mark.services]
MIB = 2**20
ON = [k for k in KEYS if k != c.CLUSTER]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, auditflow: Dataset) -> None:
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_WINDOW", f"{int(auditflow.info.window.total_seconds())}s")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_STEP", f"{auditflow.info.step_seconds}s")
    monkeypatch.setenv("KUBETALLY_PROMETHEUS_END", auditflow.info.end.isoformat())


def _truth(auditflow: Dataset, strategy: str = "tiered") -> pl.DataFrame:
    from kubetally.analysis.rightsizing import STRATEGIES

    return recommend(auditflow, strategy=strategy, settings=STRATEGIES[strategy].settings_model(), exact=True)


def _within_bound(got: pl.DataFrame, truth: pl.DataFrame) -> None:
    both = got.join(truth, on=ON, suffix="_t")
    assert both.height == truth.height == got.height > 20
    for column in (c.DATA_POINTS, c.MEMORY_PEAK_BYTES, c.OOM_KILLS, c.STATUS, c.RECOMMENDED_MEMORY_LIMIT_BYTES):
        assert both[column].equals(both[f"{column}_t"]), column
    cpu, cpu_t = pl.col(c.RECOMMENDED_CPU_REQUEST_CORES), pl.col(f"{c.RECOMMENDED_CPU_REQUEST_CORES}_t")
    step = pl.when(cpu_t < 0.1).then(0.005).otherwise(0.01)
    assert both.filter((cpu - cpu_t).abs() > cpu_t * ALPHA + step + 1e-9).height == 0
    mem, mem_t = pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES), pl.col(f"{c.RECOMMENDED_MEMORY_REQUEST_BYTES}_t")
    assert both.filter((mem - mem_t).abs() > mem_t * ALPHA + MIB).height == 0
    assert both.filter(cpu.is_not_null()).height > 10


def test_remote_read_recommendations_equal_the_ground_truth_within_the_bound(
    serve: Serve, auditflow: Dataset, env: None
) -> None:
    request = RightsizeRequest(prometheus=serve("prometheus", "default"))
    opened = open_source(request)
    ds = opened.dataset
    assert ds.usage.collect().height == 0  # no per-sample frame was built
    hourly = ds.usage_hourly.collect()
    assert set(hourly[c.METRIC]) == {c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES, c.CPU_THROTTLED_RATIO}
    assert any(n.startswith("usage read by remote read (32 requests") for n in ds.info.notes), [
        n for n in ds.info.notes if "remote" in n
    ]
    assert any("not read (this command does not use them): pod_network" in n for n in ds.info.notes)
    result = rightsize(request, opened)
    assert isinstance(result, RecommendationsResult)
    _within_bound(result.recommendations, _truth(auditflow))
    # the planted throttled service keeps its evidence (throttling read by remote read too)
    got = result.recommendations.filter(pl.col(c.EVIDENCE).str.contains("CPU throttled"))
    want = _truth(auditflow).filter(pl.col(c.EVIDENCE).str.contains("CPU throttled"))
    assert got.height == want.height > 0
    assert got[c.CPU_THROTTLED_RATIO].to_list() == pytest.approx(want[c.CPU_THROTTLED_RATIO].to_list(), rel=1e-9)


def test_exact_reads_every_sample(serve: Serve, auditflow: Dataset, env: None) -> None:
    request = RightsizeRequest(prometheus=serve("prometheus", "default"), exact=True)
    opened = open_source(request)
    assert opened.dataset.usage.collect().height > 0 and opened.dataset.usage_hourly.collect().height == 0
    assert not any("remote read" in n for n in opened.dataset.info.notes)


def test_victoria_metrics_falls_back_to_the_range_queries_and_says_so(
    serve: Serve, auditflow: Dataset, env: None
) -> None:
    request = RightsizeRequest(prometheus=serve("victoria-metrics", "default"))
    opened = open_source(request)
    notes = opened.dataset.info.notes
    assert any("has no streamed remote read" in n and "usage read by range queries instead" in n for n in notes)
    assert opened.dataset.usage.collect().height > 0
    result = rightsize(request, opened)
    assert isinstance(result, RecommendationsResult)
    truth = _truth(auditflow)
    both = result.recommendations.join(truth, on=ON, suffix="_t")
    assert both.height == truth.height
    assert both[c.RECOMMENDED_CPU_REQUEST_CORES].equals(both[f"{c.RECOMMENDED_CPU_REQUEST_CORES}_t"])
