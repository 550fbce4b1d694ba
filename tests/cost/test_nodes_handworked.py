"""Node utilization, stranded capacity, fragmentation and bin packing on the hand-worked 2-node cluster.

node-a: 4 cores / 8 GiB allocatable; requests web-1 1 core 2 GiB, api-1 none -> requested 1 core, 2 GiB.
node-b: 2 cores / 4 GiB; requests db-0 1.5 cores 1 GiB + worker-1 1 core 1 GiB -> 2.5 cores (over), 2 GiB.
Typical pod shape = all requests 3.5 cores / 4 GiB = 0.875 cores per GiB.
"""

from __future__ import annotations

import polars as pl
import pytest
from alloc_handmade import GI, dataset

from kubetally.analysis import nodes as n
from kubetally.analysis.nodes import NodeSettings, first_fit_decreasing, node_report


def test_stranded_and_fragmented() -> None:
    report = node_report(dataset(), settings=NodeSettings())
    rows = {r["node"]: r for r in report.nodes.iter_rows(named=True)}
    a, b = rows["node-a"], rows["node-b"]
    assert a[n.REQ_CPU_MEAN] == pytest.approx(1.0) and a[n.REQ_MEM_MEAN] == pytest.approx(2 * GI)
    assert a[n.STRANDED_CPU] == pytest.approx(3.0) and a[n.STRANDED_MEM] == pytest.approx(6 * GI)
    # node-a: 3 free cores need 3 / 0.875 = 3.43 GiB; 6 GiB free -> 2.57 GiB can never be used
    assert a[n.FRAG_CPU] == pytest.approx(0.0)
    assert a[n.FRAG_MEM] == pytest.approx((6 - 3 / 0.875) * GI)
    # node-b: no CPU left, so its 2 free GiB are all fragmented
    assert b[n.STRANDED_CPU] == 0.0 and b[n.FRAG_MEM] == pytest.approx(2 * GI)
    # used: no node-exporter data, so the pods' sum: 1.0 then 2.5 cores; p95 = 1.0 + 0.95 x 1.5
    assert a[n.USE_CPU_MEAN] == pytest.approx(1.75)
    assert a[n.USE_CPU_P95] == pytest.approx(2.425)
    cluster = report.cluster.row(0, named=True)
    assert cluster["nodes"] == 2 and cluster[n.STRANDED_CPU] == pytest.approx(3.0)


def test_bin_packing_current_and_usage_based() -> None:
    costs = {"node-a": 730.0, "node-b": 175.2}
    current, usage = node_report(dataset(), settings=NodeSettings(), node_monthly_cost=costs).packing
    # requests 1.5 + 1 + 1 + 0 cores, 4 GiB: everything fits on node-a
    assert (current.nodes_now, current.nodes_needed, current.unplaced_pods) == (2, 1, 0)
    assert current.nodes_freed == ("node-b",) and current.monthly_saving == pytest.approx(175.2)
    # usage-based (p95 CPU, max memory, +15 %): web 2.21375 + db 1.15 + api 0.575 = 3.93875 on node-a,
    # worker 0.23 does not fit in the 0.06125 left -> node-b is needed too
    assert (usage.nodes_needed, usage.unplaced_pods, usage.nodes_freed) == (2, 0, ())


@pytest.mark.parametrize(
    ("items", "bins", "expected"),
    [
        ([(1, 1), (1, 1), (1, 1)], [("a", 2, 2, 10), ("b", 2, 2, 10)], (["a", "b"], 0)),
        ([(3, 1)], [("a", 2, 2, 10)], (["a"], 1)),
        ([(0.5, 0.5)] * 3, [("a", 4, 4, 2), ("b", 4, 4, 2)], (["a", "b"], 0)),  # max pods
        ([(0.6, 0.1), (0.5, 0.1), (0.4, 0.1), (0.5, 0.1)], [("a", 1, 1, 9), ("b", 1, 1, 9)], (["a", "b"], 0)),
    ],
)
def test_first_fit_decreasing(
    items: list[tuple[float, float]], bins: list[tuple[str, float, float, int]], expected: tuple[list[str], int]
) -> None:
    assert first_fit_decreasing(items, bins) == expected


def _recommended(db_cpu: float) -> pl.DataFrame:
    # a right-sizing recommendation frame (only the columns packing reads): db-0's container only
    return pl.DataFrame(
        {
            "cluster": ["c1"],
            "namespace": ["team-b"],
            "owner_kind": ["StatefulSet"],
            "owner_name": ["db"],
            "container": ["c3"],
            "recommended_cpu_request_cores": [db_cpu],
            "recommended_memory_request_bytes": [1 * GI],
        }
    )


@pytest.mark.parametrize(("db_cpu", "needed"), [(1.0, 1), (3.5, 2)])
def test_packing_at_recommended_requests(db_cpu: float, needed: int) -> None:
    # web 1 + api 0 + worker 1 keep their current requests; db gets the recommendation:
    # 1.0 -> 3.0 cores fit node-a; 3.5 -> 5.5 cores need node-b too
    packing = node_report(dataset(), settings=NodeSettings(), recommended=_recommended(db_cpu)).packing
    assert [p.scenario for p in packing] == ["current requests", "usage-based sizes", "recommended requests"]
    assert packing[2].nodes_needed == needed
