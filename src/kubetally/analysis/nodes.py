"""Node utilization, stranded capacity, fragmentation and a bin-packing estimate (pure).

Per node: capacity, allocatable, requested and used CPU and memory (mean and p95 over
the window's steps). Stranded = allocatable not requested (mean). Fragmented = the
part of the stranded capacity that cannot be scheduled because the other resource is
exhausted, for pods shaped like the cluster's average request (cores per byte).
The right-sizing estimate packs the pods running at the end of the window onto the
existing node shapes with first-fit-decreasing, respecting allocatable CPU, memory and
pods, at current requests and at usage-based sizes. Control-plane nodes are always kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.dataset import Dataset
from kubetally.model import columns as c

REQ_CPU_MEAN, REQ_CPU_P95 = "cpu_requested_mean_cores", "cpu_requested_p95_cores"
REQ_MEM_MEAN, REQ_MEM_P95 = "memory_requested_mean_bytes", "memory_requested_p95_bytes"
USE_CPU_MEAN, USE_CPU_P95 = "cpu_used_mean_cores", "cpu_used_p95_cores"
USE_MEM_MEAN, USE_MEM_P95 = "memory_used_mean_bytes", "memory_used_p95_bytes"
STRANDED_CPU, STRANDED_MEM = "cpu_stranded_cores", "memory_stranded_bytes"
FRAG_CPU, FRAG_MEM = "cpu_fragmented_cores", "memory_fragmented_bytes"
PODS_MAX = "pods_max"


class NodeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    percentile: float = Field(0.95, gt=0, le=1, description="Percentile reported beside the mean.")
    headroom: float = Field(0.15, ge=0, le=2, description="Added to observed usage for the usage-based packing.")
    min_cpu_cores: float = Field(0.01, ge=0, description="Smallest CPU a usage-based pod is given.")
    min_memory_bytes: int = Field(16 * 2**20, ge=0, description="Smallest memory a usage-based pod is given.")


@dataclass(frozen=True)
class Packing:
    scenario: str
    nodes_now: int
    nodes_needed: int
    unplaced_pods: int
    nodes_freed: tuple[str, ...]
    monthly_saving: float | None
    """Cash the freed nodes cost a month (power, overhead; the whole price of cloud nodes); None without
    node costs."""
    monthly_book_saving: float | None = None
    """Book value of the freed nodes a month (amortisation of owned hardware: already paid, saved only
    if the hardware is sold or reused); None without node costs."""


@dataclass(frozen=True)
class NodeReport:
    nodes: pl.DataFrame
    cluster: pl.DataFrame
    packing: tuple[Packing, ...]


def _inventory(ds: Dataset) -> pl.DataFrame:
    """Containers with an integer id (``cid``) and their node's integer id (``nid``)."""
    node_ids = ds.nodes.select(c.CLUSTER, c.NODE).with_row_index("nid")
    return (
        ds.containers.select(
            c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER, c.NODE, c.INIT_CONTAINER, c.OWNER_KIND, c.OWNER_NAME,
            pl.col(c.CPU_REQUEST_CORES).fill_null(0.0),
            pl.col(c.MEMORY_REQUEST_BYTES).fill_null(0).cast(pl.Float64),
        )
        .unique(subset=[c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER], keep="last", maintain_order=True)
        .with_row_index("cid")
        .join(node_ids, on=[c.CLUSTER, c.NODE], how="inner")
    )  # fmt: skip


def _running_at_end(ds: Dataset, inv: pl.DataFrame) -> pl.DataFrame:
    """The app containers of the pods running at the dataset's end (a snapshot's only point in time)."""
    end = ds.info.end
    keys = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    alive = ds.containers.filter(
        (pl.col(c.START_TIME).is_null() | (pl.col(c.START_TIME) <= end))
        & (pl.col(c.END_TIME).is_null() | (pl.col(c.END_TIME) > end))
    ).select(keys)
    return inv.filter(~pl.col(c.INIT_CONTAINER)).join(alive, on=keys, how="semi")


def _snapshot_utilization(ds: Dataset, inv: pl.DataFrame) -> pl.DataFrame:
    """Requested per node at the snapshot (mean = pN: one point); used is unknown (null)."""
    running = _running_at_end(ds, inv)
    return running.group_by(c.CLUSTER, c.NODE).agg(
        pl.col(c.CPU_REQUEST_CORES).sum().alias(REQ_CPU_MEAN),
        pl.col(c.CPU_REQUEST_CORES).sum().alias(REQ_CPU_P95),
        pl.col(c.MEMORY_REQUEST_BYTES).sum().alias(REQ_MEM_MEAN),
        pl.col(c.MEMORY_REQUEST_BYTES).sum().alias(REQ_MEM_P95),
        pl.lit(None, pl.Float64).alias(USE_CPU_MEAN),
        pl.lit(None, pl.Float64).alias(USE_CPU_P95),
        pl.lit(None, pl.Float64).alias(USE_MEM_MEAN),
        pl.lit(None, pl.Float64).alias(USE_MEM_P95),
    )


def _steps(ds: Dataset, inv: pl.DataFrame) -> pl.LazyFrame:
    keys = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    return (
        ds.usage.filter((pl.col(c.TIMESTAMP) >= ds.info.start) & (pl.col(c.TIMESTAMP) < ds.info.end))
        .select(*keys, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES)
        .join(inv.lazy().select(*keys, "cid", "nid", c.CPU_REQUEST_CORES, c.MEMORY_REQUEST_BYTES), on=keys)
        .drop(keys)
    )


def node_utilization(ds: Dataset, *, settings: NodeSettings) -> pl.DataFrame:
    """One row per node: capacity, allocatable, requested / used mean and pN, stranded, fragmented."""
    q = settings.percentile
    if ds.info.snapshot:
        return _stranded(ds.nodes.join(_snapshot_utilization(ds, _inventory(ds)), on=[c.CLUSTER, c.NODE], how="left"))
    node_ids = ds.nodes.select(c.CLUSTER, c.NODE).with_row_index("nid")
    per_step = (
        _steps(ds, _inventory(ds))
        .group_by("nid", c.TIMESTAMP)
        .agg(
            pl.col(c.CPU_REQUEST_CORES).sum().alias("req_cpu"),
            pl.col(c.MEMORY_REQUEST_BYTES).sum().alias("req_mem"),
            pl.col(c.CPU_USAGE_CORES).sum().alias("pod_cpu"),
            pl.col(c.MEMORY_WORKING_SET_BYTES).sum().alias("pod_mem"),
        )
        .collect(engine="streaming")
        .join(node_ids, on="nid")
        .join(
            ds.node_usage.select(c.CLUSTER, c.NODE, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_USED_BYTES).collect(),
            on=[c.CLUSTER, c.NODE, c.TIMESTAMP],
            how="left",
        )
        .with_columns(
            pl.coalesce(c.CPU_USAGE_CORES, "pod_cpu").alias("use_cpu"),
            pl.coalesce(c.MEMORY_USED_BYTES, "pod_mem").alias("use_mem"),
        )
    )
    steps = max(ds.info.steps, 1)
    # steps without any pod count as 0 requested: sum / steps, and the percentile over the present steps
    stats = per_step.group_by(c.CLUSTER, c.NODE).agg(
        (pl.col("req_cpu").sum() / steps).alias(REQ_CPU_MEAN),
        pl.col("req_cpu").quantile(q, interpolation="linear").alias(REQ_CPU_P95),
        (pl.col("req_mem").sum() / steps).alias(REQ_MEM_MEAN),
        pl.col("req_mem").quantile(q, interpolation="linear").alias(REQ_MEM_P95),
        pl.col("use_cpu").mean().alias(USE_CPU_MEAN),
        pl.col("use_cpu").quantile(q, interpolation="linear").alias(USE_CPU_P95),
        pl.col("use_mem").mean().alias(USE_MEM_MEAN),
        pl.col("use_mem").quantile(q, interpolation="linear").alias(USE_MEM_P95),
    )
    return _stranded(ds.nodes.join(stats, on=[c.CLUSTER, c.NODE], how="left"))


def _stranded(nodes: pl.DataFrame) -> pl.DataFrame:
    """Stranded (allocatable not requested) and fragmented capacity from the mean requests."""
    nodes = nodes.with_columns(pl.col(REQ_CPU_MEAN, REQ_CPU_P95, REQ_MEM_MEAN, REQ_MEM_P95).fill_null(0.0))
    total_cpu_req = float(nodes[REQ_CPU_MEAN].sum())
    total_mem_req = float(nodes[REQ_MEM_MEAN].sum())
    ratio = total_cpu_req / total_mem_req if total_mem_req > 0 else None  # cores per byte of a typical pod
    alloc_cpu, alloc_mem = pl.col(c.CPU_ALLOCATABLE_CORES), pl.col(c.MEMORY_ALLOCATABLE_BYTES).cast(pl.Float64)
    nodes = nodes.with_columns(
        (alloc_cpu - pl.col(REQ_CPU_MEAN)).clip(lower_bound=0.0).alias(STRANDED_CPU),
        (alloc_mem - pl.col(REQ_MEM_MEAN)).clip(lower_bound=0.0).alias(STRANDED_MEM),
    )
    if ratio is None or ratio == 0:
        return nodes.with_columns(pl.lit(0.0).alias(FRAG_CPU), pl.lit(0.0).alias(FRAG_MEM))
    return nodes.with_columns(
        (pl.col(STRANDED_CPU) - pl.min_horizontal(pl.col(STRANDED_CPU), pl.col(STRANDED_MEM) * ratio)).alias(FRAG_CPU),
        (pl.col(STRANDED_MEM) - pl.min_horizontal(pl.col(STRANDED_MEM), pl.col(STRANDED_CPU) / ratio)).alias(FRAG_MEM),
    )


def cluster_totals(nodes: pl.DataFrame) -> pl.DataFrame:
    """Per cluster sums of every capacity, request and stranded column (means add up; p95s do not, so omitted)."""
    summed = [
        c.CPU_CAPACITY_CORES, c.CPU_ALLOCATABLE_CORES, c.MEMORY_CAPACITY_BYTES, c.MEMORY_ALLOCATABLE_BYTES,
        REQ_CPU_MEAN, REQ_MEM_MEAN, USE_CPU_MEAN, USE_MEM_MEAN, STRANDED_CPU, STRANDED_MEM, FRAG_CPU, FRAG_MEM,
    ]  # fmt: skip
    # a column no node has a value for (used, on a snapshot without usage) stays unknown, not 0
    sums = [pl.when(pl.col(k).is_not_null().any()).then(pl.col(k).sum()).alias(k) for k in summed]
    return nodes.group_by(c.CLUSTER).agg(pl.len().alias("nodes"), *sums).sort(c.CLUSTER)


def pods_at_end(ds: Dataset, *, settings: NodeSettings, recommended: pl.DataFrame | None = None) -> pl.DataFrame:
    """Pods running in the last step: requests, usage-based sizes (pN CPU, max memory, + headroom) and,
    with ``recommended`` (a right-sizing recommendation frame), the recommended requests (``rec_*``;
    the current request where a container has no recommendation)."""
    inv = _inventory(ds).filter(~pl.col(c.INIT_CONTAINER))
    if ds.info.snapshot:  # the pods running at that point; no usage to size them by
        per_container = _running_at_end(ds, inv).with_columns(
            pl.lit(None, pl.Float64).alias("use_cpu"), pl.lit(None, pl.Float64).alias("use_mem")
        )
        return _per_pod(per_container, recommended)
    steps = _steps(ds, inv)
    last = steps.select(pl.col(c.TIMESTAMP).max()).collect().item()
    if last is None:
        return pl.DataFrame(schema={c.CLUSTER: pl.String, c.NAMESPACE: pl.String, c.POD: pl.String})
    running = steps.filter(pl.col(c.TIMESTAMP) == last).select("cid").unique().collect()
    grow = 1.0 + settings.headroom
    per_container = (
        steps.join(running.lazy(), on="cid", how="semi")
        .group_by("cid")
        .agg(
            (pl.col(c.CPU_USAGE_CORES).quantile(settings.percentile, interpolation="linear") * grow)
            .clip(lower_bound=settings.min_cpu_cores)
            .alias("use_cpu"),
            (pl.col(c.MEMORY_WORKING_SET_BYTES).max() * grow)
            .clip(lower_bound=settings.min_memory_bytes)
            .alias("use_mem"),
        )
        .collect(engine="streaming")
        .join(inv, on="cid")
    )
    return _per_pod(per_container, recommended)


def _per_pod(per_container: pl.DataFrame, recommended: pl.DataFrame | None) -> pl.DataFrame:
    keys = [c.CLUSTER, c.NAMESPACE, c.OWNER_KIND, c.OWNER_NAME, c.CONTAINER]
    if recommended is not None and recommended.height:
        rec = recommended.select(
            *keys,
            pl.col(c.RECOMMENDED_CPU_REQUEST_CORES).alias("rec_cpu"),
            pl.col(c.RECOMMENDED_MEMORY_REQUEST_BYTES).cast(pl.Float64).alias("rec_mem"),
        ).unique(subset=keys)
        per_container = per_container.join(rec, on=keys, how="left")
    else:
        per_container = per_container.with_columns(
            pl.lit(None, pl.Float64).alias("rec_cpu"), pl.lit(None, pl.Float64).alias("rec_mem")
        )
    per_container = per_container.with_columns(
        pl.coalesce("rec_cpu", c.CPU_REQUEST_CORES).alias("rec_cpu"),
        pl.coalesce("rec_mem", c.MEMORY_REQUEST_BYTES).alias("rec_mem"),
    )
    return per_container.group_by(c.CLUSTER, c.NAMESPACE, c.POD).agg(
        pl.col(c.OWNER_KIND).first(),
        pl.col(c.CPU_REQUEST_CORES).sum().alias("req_cpu"),
        pl.col(c.MEMORY_REQUEST_BYTES).sum().alias("req_mem"),
        pl.col("use_cpu").sum(),
        pl.col("use_mem").sum(),
        pl.col("rec_cpu").sum(),
        pl.col("rec_mem").sum(),
    )


def first_fit_decreasing(
    items: list[tuple[float, float]],
    bins: list[tuple[str, float, float, int]],
    *,
    reserved: tuple[float, float, int] = (0.0, 0.0, 0),
    keep: int = 0,
) -> tuple[list[str], int]:
    """Pack (cpu, memory) items into bins (name, cpu, memory, pods), opened in the given order.

    Items are sorted by their larger share of the biggest bin, descending; each goes to the
    first open bin with room, else opens the next bin. ``reserved`` is taken from every bin
    (DaemonSet pods); the first ``keep`` bins are open from the start (control-plane nodes stay).
    Returns (names of the bins used, items that fit nowhere).
    """
    if not bins:
        return [], len(items)
    ref_cpu = max(b[1] for b in bins) or 1.0
    ref_mem = max(b[2] for b in bins) or 1.0
    order = sorted(items, key=lambda it: max(it[0] / ref_cpu, it[1] / ref_mem), reverse=True)
    free: list[list[float]] = []
    names: list[str] = []
    unplaced = 0
    pending = list(bins)
    for name, bcpu, bmem, bpods in pending[:keep]:
        names.append(name)
        free.append([bcpu - reserved[0], bmem - reserved[1], float(bpods - reserved[2])])
    pending = pending[keep:]
    for cpu, mem in order:
        for room in free:
            if room[0] >= cpu - 1e-9 and room[1] >= mem - 1e-9 and room[2] >= 1:
                room[0] -= cpu
                room[1] -= mem
                room[2] -= 1
                break
        else:
            placed = False
            while pending:
                name, bcpu, bmem, bpods = pending.pop(0)
                room = [bcpu - reserved[0], bmem - reserved[1], float(bpods - reserved[2])]
                names.append(name)
                free.append(room)
                if room[0] >= cpu - 1e-9 and room[1] >= mem - 1e-9 and room[2] >= 1:
                    room[0] -= cpu
                    room[1] -= mem
                    room[2] -= 1
                    placed = True
                    break
            if not placed:
                unplaced += 1
    return names, unplaced


def packing_estimates(
    ds: Dataset,
    *,
    settings: NodeSettings,
    node_monthly_cost: dict[str, float] | None = None,
    recommended: pl.DataFrame | None = None,
    node_monthly_book: dict[str, float] | None = None,
) -> tuple[Packing, ...]:
    """How many of the existing nodes the end-of-window pods need: at current requests, at usage-based
    sizes and (given a recommendation frame) at the recommended requests."""
    pods = pods_at_end(ds, settings=settings, recommended=recommended)
    # control-plane nodes first and always kept; then the biggest nodes
    nodes = ds.nodes.with_columns((pl.col(c.ROLE) != "control-plane").alias("_worker")).sort(
        ["_worker", c.CPU_ALLOCATABLE_CORES, c.MEMORY_ALLOCATABLE_BYTES, c.NODE], descending=[False, True, True, False]
    )
    keep = int((~nodes["_worker"]).sum())
    bins = [
        (r[c.NODE], r[c.CPU_ALLOCATABLE_CORES], float(r[c.MEMORY_ALLOCATABLE_BYTES]), r[c.PODS_ALLOCATABLE])
        for r in nodes.iter_rows(named=True)
    ]
    if pods.height == 0:
        return ()
    daemon = pods.filter(pl.col(c.OWNER_KIND) == "DaemonSet")
    others = pods.filter(pl.col(c.OWNER_KIND) != "DaemonSet")
    n_nodes = max(ds.nodes.height, 1)
    out = []
    scenarios = [("current requests", "req_cpu", "req_mem")]
    if not ds.info.snapshot:  # a snapshot has no usage to size the pods by
        scenarios.append(("usage-based sizes", "use_cpu", "use_mem"))
    if recommended is not None:
        scenarios.append(("recommended requests", "rec_cpu", "rec_mem"))
    for scenario, cpu, mem in scenarios:
        # every node runs one pod of each DaemonSet: reserve the per-node average of their sizes
        reserved = (
            float(daemon[cpu].sum()) / n_nodes,
            float(daemon[mem].sum()) / n_nodes,
            round(daemon.height / n_nodes),
        )
        items = list(zip(others[cpu].to_list(), others[mem].to_list(), strict=True))
        used, unplaced = first_fit_decreasing(items, bins, reserved=reserved, keep=keep)
        freed = tuple(sorted(b[0] for b in bins if b[0] not in used))
        book = None if node_monthly_cost is None else sum((node_monthly_book or {}).get(n, 0.0) for n in freed)
        cash = None if node_monthly_cost is None else sum(node_monthly_cost.get(n, 0.0) for n in freed) - (book or 0.0)
        out.append(Packing(scenario, len(bins), len(used), unplaced, freed, cash, book))
    return tuple(out)


def node_report(
    ds: Dataset,
    *,
    settings: NodeSettings,
    node_monthly_cost: dict[str, float] | None = None,
    recommended: pl.DataFrame | None = None,
    node_monthly_book: dict[str, float] | None = None,
) -> NodeReport:
    """Utilization per node and cluster, and the packing estimates (``recommended``: see packing_estimates)."""
    nodes = node_utilization(ds, settings=settings)
    return NodeReport(
        nodes=nodes,
        cluster=cluster_totals(nodes),
        packing=packing_estimates(
            ds,
            settings=settings,
            node_monthly_cost=node_monthly_cost,
            recommended=recommended,
            node_monthly_book=node_monthly_book,
        ),
    )
