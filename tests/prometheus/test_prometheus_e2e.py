"""The central end-to-end test: AuditFlow backfilled into a real Prometheus and a real VictoriaMetrics,
read back through the Prometheus source, equals the simulator's ground truth.

Inventory frames must match exactly; series within compare.REL_TOL (float rounding only: the
exposition stamps each step's sample at the step's end and the source reads one-step windows,
so no rate-window edge is involved). The degraded variants are compared with the ground truth
transformed by exactly the documented degradation.
"""

from __future__ import annotations

import polars as pl
import pytest
from compare import differences

from kubetally.dataset import Dataset
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.sources.prometheus import Collected, Connection, Query, collect
from servers import Serve

pytestmark = [pytest.mark.services, pytest.mark.slow]
SERVERS = ["prometheus", "victoria-metrics"]


def read_back(url: str, truth: Dataset, **query: object) -> Collected:
    q = Query(
        end=truth.info.end,
        window_seconds=int(truth.info.window.total_seconds()),
        step_seconds=truth.info.step_seconds,
        cluster_name="auditflow-pi",
        **query,  # type: ignore[arg-type]
    )
    return collect(Connection(url=url), q)


@pytest.mark.parametrize("kind", SERVERS)
def test_auditflow_read_back_equals_ground_truth(serve: Serve, auditflow: Dataset, kind: str) -> None:
    got = read_back(serve(kind, "default"), auditflow)
    assert differences(auditflow, got.dataset) == []
    assert got.dataset.info.start == auditflow.info.start and got.dataset.info.end == auditflow.info.end
    # The planted problems survive the trip: OOM kills with their counter resets, the throttled service.
    terms = got.dataset.table(schema.TERMINATIONS)
    assert terms.filter(pl.col(c.REASON) == "OOMKilled").height == 4
    assert any("reclaim_policy inferred" in note for note in got.dataset.info.notes)


@pytest.mark.parametrize("kind", SERVERS)
def test_without_label_allowlist_labels_are_missing_and_said_so(
    serve: Serve, auditflow_short: Dataset, kind: str
) -> None:
    got = read_back(serve(kind, "no_allowlist"), auditflow_short)
    # Documented degradation: no labels at all, and the instance type (a node label) is unknown;
    # the architecture still comes from node-exporter's node_uname_info.
    truth = auditflow_short.with_frames(
        labels=schema.empty(schema.LABELS), nodes=auditflow_short.nodes.with_columns(pl.lit("").alias(c.INSTANCE_TYPE))
    )
    assert differences(truth, got.dataset) == []
    assert any("kube_pod_labels absent" in note for note in got.dataset.info.notes)


def pod_level(truth: Dataset) -> Dataset:
    """The ground truth as pod-level cgroups show it: summed per pod, named after the only app container."""
    key = [c.CLUSTER, c.NAMESPACE, c.POD]
    single = (
        truth.containers.filter(~pl.col(c.INIT_CONTAINER))
        .group_by(key)
        .agg(pl.col(c.CONTAINER).first().alias("_only"), pl.len().alias("_n"))
    )
    usage = (
        truth.usage.collect()
        .group_by([*key, c.TIMESTAMP])
        .agg(
            pl.col(col).sum()
            for col in (
                c.CPU_USAGE_CORES,
                c.MEMORY_WORKING_SET_BYTES,
                c.MEMORY_RSS_BYTES,
                c.FS_READ_BYTES_PER_SECOND,
                c.FS_WRITE_BYTES_PER_SECOND,
            )
        )
        .join(single, on=key)
        .with_columns(
            pl.when(pl.col("_n") == 1).then(pl.col("_only")).otherwise(pl.lit("")).alias(c.CONTAINER),
            pl.lit(None, pl.Float64).alias(c.CPU_THROTTLED_RATIO),
        )
    )
    return truth.with_frames(usage=usage, pod_network=schema.empty(schema.POD_NETWORK))


@pytest.mark.parametrize("kind", SERVERS)
def test_lost_container_label_falls_back_to_pod_level(serve: Serve, auditflow_short: Dataset, kind: str) -> None:
    got = read_back(serve(kind, "lost_container"), auditflow_short)
    assert differences(pod_level(auditflow_short), got.dataset) == []
    assert any("no container label" in note for note in got.dataset.info.notes)


def test_time_chunks_join_without_gaps_or_duplicates(serve: Serve, auditflow: Dataset) -> None:
    got = read_back(serve("prometheus", "default"), auditflow, max_points_per_series=100)
    assert got.series_chunks == 6 and got.inventory_chunks == 6  # 576 steps / 100
    assert differences(auditflow, got.dataset) == []


def test_query_plan_is_fixed_and_accounted(serve: Serve, auditflow: Dataset) -> None:
    one = read_back(serve("prometheus", "default"), auditflow)
    chunked = read_back(serve("prometheus", "default"), auditflow, max_points_per_series=288)
    per_chunk = one.usage.queries
    # The same plan for every chunk (+ per run: one reachability ping, one probe for cAdvisor's container
    # label, one counting series of other kubelet endpoints, two to measure the scrape interval of cAdvisor and
    # of node-exporter, and one family-names call per exporter), whatever the workloads.
    per_run = 2 + 1 + 2 * 2 + 4
    assert chunked.usage.queries == 2 * (per_chunk - per_run) + per_run
    assert one.usage.points > 0 and one.usage.server_samples >= one.usage.points
    assert one.usage.retries == 0
