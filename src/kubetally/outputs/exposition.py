"""An :class:`~kubetally.outputs.overview.Overview` as Prometheus metric families (``/metrics``).

Two sets of gauges:

* ``kubetally_*``: cost per hour and per month, waste and efficiency per workload (with the
  seed's labels team/app/component/environment/finops_tier, so Grafana can sum by any of
  them), idle cost and stranded capacity per node, current vs recommended requests and p95
  usage per container, waste findings by rule, the packing estimate, and the run itself.
  ``sum(kubetally_workload_cost_per_hour)`` equals the cluster's cost per hour: the
  ``__idle__``, ``__unmounted__`` and overhead lines are workload rows too.
* the OpenCost names and label sets that existing OpenCost dashboards query
  (``node_cpu_hourly_cost``, ``node_ram_hourly_cost``, ``node_total_hourly_cost``,
  ``pv_hourly_cost``, ``container_cpu_allocation``, ``container_memory_allocation_bytes``,
  ``pod_pvc_allocation``), with the labels of OpenCost's exporter
  (opencost/opencost ``pkg/costmodel/metrics.go``; ``arch`` as in current releases). Values follow
  OpenCost's meaning: per-core and per-GiB hourly prices of each node, and each running container's
  allocation = max(request, usage) at the last step of the window.

Cardinality is bounded by :class:`ExpositionSettings`: the most expensive workloads and
containers keep their own series, the rest are folded into one ``__other__`` series per
family, so sums are preserved (``tests/outputs/test_exposition.py`` states the count on the
1,000-workload scenario).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import polars as pl
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field

from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.outputs.overview import WORKLOAD_KEYS, Overview

OTHER = "__other__"
GIB = 2**30
WORKLOAD_LABELS: tuple[str, ...] = WORKLOAD_KEYS
CONTAINER_LABELS: tuple[str, ...] = (c.CLUSTER, c.NAMESPACE, "owner_kind", "owner_name", c.CONTAINER)
OPENCOST_NODE_LABELS = ("instance", "node", "instance_type", "region", "provider_id", "arch")
OPENCOST_CONTAINER_LABELS = ("namespace", "pod", "container", "instance", "node")
OPENCOST_PV_LABELS = ("volumename", "persistentvolume", "provider_id")
OPENCOST_PVC_LABELS = ("namespace", "pod", "persistentvolumeclaim", "persistentvolume")


class ExpositionSettings(BaseModel):
    """How many series ``/metrics`` may have."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_workloads: int = Field(
        500, ge=1, le=100_000, description="Workloads with their own cost series; the cheaper rest are one __other__."
    )
    max_containers: int = Field(
        2000, ge=1, le=200_000, description="Containers with their own request/allocation series; the rest folded."
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _float(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _gauge(name: str, doc: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _top(frame: pl.DataFrame, by: str, limit: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, folded rows): the ``limit`` largest by ``by`` and the rest."""
    ranked = frame.sort(pl.col(by).cast(pl.Float64).fill_null(0.0), descending=True)
    return ranked.head(limit), ranked.slice(limit)


def _workload_rows(ov: Overview, settings: ExpositionSettings) -> list[dict[str, Any]]:
    """Unrounded amounts per workload, the cheapest beyond ``max_workloads`` summed into one __other__ row."""
    rows = ov.amounts.with_columns(pl.col(k).cast(pl.String).fill_null("") for k in WORKLOAD_KEYS)
    kept, rest = _top(rows, c.TOTAL_COST, settings.max_workloads)
    out = kept.to_dicts()
    if rest.height:
        clusters = rest.get_column(c.CLUSTER).unique().to_list()
        folded: dict[str, Any] = dict.fromkeys(WORKLOAD_KEYS, OTHER) | {
            c.CLUSTER: clusters[0] if len(clusters) == 1 else OTHER
        }
        numeric = [k for k in rest.columns if k not in WORKLOAD_KEYS]
        out.append(folded | rest.select(pl.col(numeric).sum()).row(0, named=True))
    return out


def _ratio(row: dict[str, Any], used: str, requested: str) -> float | None:
    """used / requested hours, None when nothing was requested (unknown is not zero)."""
    return row[used] / row[requested] if row.get(requested) else None


def workload_families(ov: Overview, settings: ExpositionSettings) -> Iterator[Metric]:
    hours = ov.window_hours or 1.0
    cost = _gauge(
        "kubetally_workload_cost_per_hour",
        f"Mean cost per hour over the window ({ov.currency}); idle/unmounted/overhead are lines of their own",
        WORKLOAD_LABELS,
    )
    monthly = _gauge(
        "kubetally_workload_monthly_cost", f"Cost over the window projected to a month ({ov.currency})", WORKLOAD_LABELS
    )
    waste = _gauge(
        "kubetally_workload_waste_cost_per_hour",
        f"Cost of requested but unused CPU and memory, per hour ({ov.currency})",
        WORKLOAD_LABELS,
    )
    efficiency = _gauge(
        "kubetally_workload_efficiency_ratio",
        "Usage within requests / requests over the window, by resource (cpu, memory); absent without requests",
        (*WORKLOAD_LABELS, "resource"),
    )
    for row in _workload_rows(ov, settings):
        key = [_text(row[k]) for k in WORKLOAD_LABELS]
        cost.add_metric(key, _float(row[c.TOTAL_COST]) / hours)
        monthly.add_metric(key, _float(row[c.TOTAL_COST]) * ov.month_factor)
        waste.add_metric(key, _float(row[c.WASTE_COST]) / hours)
        ratios = {
            "cpu": _ratio(row, c.CPU_USAGE_REQUESTED_CORE_HOURS, c.CPU_REQUEST_CORE_HOURS),
            "memory": _ratio(row, c.MEMORY_USAGE_REQUESTED_GIB_HOURS, c.MEMORY_REQUEST_GIB_HOURS),
        }
        for resource, value in ratios.items():
            if value is not None:
                efficiency.add_metric([*key, resource], value)
    yield from (cost, monthly, waste, efficiency)


def cluster_families(ov: Overview) -> Iterator[Metric]:
    hours = ov.window_hours or 1.0
    per_cluster = ov.allocation.nodes.group_by(c.CLUSTER).agg(
        pl.col(c.NODE_COST).sum(), (pl.col("idle_cpu") + pl.col("idle_mem")).sum().alias("idle")
    )
    cost = _gauge("kubetally_cluster_cost_per_hour", f"Nodes' mean cost per hour ({ov.currency})", [c.CLUSTER])
    monthly = _gauge("kubetally_cluster_monthly_cost", f"Nodes' cost projected to a month ({ov.currency})", [c.CLUSTER])
    for row in per_cluster.sort(c.CLUSTER).iter_rows(named=True):
        cost.add_metric([row[c.CLUSTER]], row[c.NODE_COST] / hours)
        monthly.add_metric([row[c.CLUSTER]], row[c.NODE_COST] * ov.month_factor)
    idle = _gauge(
        "kubetally_node_idle_cost_per_hour",
        f"Node cost not allocated to any container, per hour ({ov.currency})",
        [c.CLUSTER, c.NODE],
    )
    per_node = ov.allocation.nodes.group_by(c.CLUSTER, c.NODE).agg(
        (pl.col("idle_cpu") + pl.col("idle_mem")).sum().alias("idle")
    )
    for row in per_node.sort(c.CLUSTER, c.NODE).iter_rows(named=True):
        idle.add_metric([row[c.CLUSTER], row[c.NODE]], row["idle"] / hours)
    yield from (cost, monthly, idle)


_NODE_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("cpu_allocatable_cores", "kubetally_node_cpu_allocatable_cores", "Allocatable CPU, cores"),
    ("cpu_requested_mean_cores", "kubetally_node_cpu_requested_cores", "CPU requested by pods, mean, cores"),
    ("cpu_used_mean_cores", "kubetally_node_cpu_used_mean_cores", "CPU used by pods, mean, cores"),
    ("cpu_used_p95_cores", "kubetally_node_cpu_used_p95_cores", "CPU used by pods, p95 of the window, cores"),
    ("cpu_stranded_cores", "kubetally_node_cpu_stranded_cores", "Allocatable CPU no pod requests (mean), cores"),
    ("memory_allocatable_bytes", "kubetally_node_memory_allocatable_bytes", "Allocatable memory, bytes"),
    ("memory_requested_mean_bytes", "kubetally_node_memory_requested_bytes", "Memory requested by pods, mean"),
    ("memory_used_mean_bytes", "kubetally_node_memory_used_mean_bytes", "Memory used by pods, mean, bytes"),
    ("memory_used_p95_bytes", "kubetally_node_memory_used_p95_bytes", "Memory used by pods, p95, bytes"),
    ("memory_stranded_bytes", "kubetally_node_memory_stranded_bytes", "Allocatable memory no pod requests, bytes"),
)


def node_families(ov: Overview) -> Iterator[Metric]:
    frame = ov.nodes.nodes
    for column, name, doc in _NODE_GAUGES:
        family = _gauge(name, doc, [c.CLUSTER, c.NODE])
        if column in frame.columns:
            for cluster, node, value in frame.select(c.CLUSTER, c.NODE, column).iter_rows():
                if value is not None:
                    family.add_metric([cluster, node], float(value))
        yield family
    needed = _gauge("kubetally_nodes_needed", "Nodes the pods need when packed first-fit-decreasing", ["scenario"])
    saving = _gauge(
        "kubetally_packing_monthly_saving",
        f"Cash saved a month by switching off the nodes packing frees: power and overhead of owned nodes, the whole "
        f"price of cloud nodes ({ov.currency}); book value apart",
        ["scenario"],
    )
    book = _gauge(
        "kubetally_packing_monthly_book_saving",
        f"Book value of the nodes packing frees, a month: amortisation of owned hardware, already paid, saved only "
        f"if the hardware is sold or reused ({ov.currency})",
        ["scenario"],
    )
    for pack in ov.nodes.packing:
        needed.add_metric([pack.scenario], pack.nodes_needed)
        if pack.monthly_saving is not None:
            saving.add_metric([pack.scenario], pack.monthly_saving)
        if pack.monthly_book_saving is not None:
            book.add_metric([pack.scenario], pack.monthly_book_saving)
    yield from (needed, saving, book)


def rightsizing_families(ov: Overview, settings: ExpositionSettings) -> Iterator[Metric]:
    recs = ov.rightsizing.with_columns(pl.col(k).cast(pl.String).fill_null("") for k in CONTAINER_LABELS)
    kept, rest = _top(recs, "monthly_cost_current", settings.max_containers)
    cpu = _gauge("kubetally_container_cpu_request_cores", "CPU request per pod, current or recommended",
                 (*CONTAINER_LABELS, "state"))  # fmt: skip
    mem = _gauge("kubetally_container_memory_request_bytes", "Memory request per pod, current or recommended",
                 (*CONTAINER_LABELS, "state"))  # fmt: skip
    p95 = _gauge("kubetally_container_cpu_usage_p95_cores", "CPU usage per pod, p95 of the window", CONTAINER_LABELS)
    peak = _gauge("kubetally_container_memory_peak_bytes", "Memory working set per pod, peak", CONTAINER_LABELS)
    saving = _gauge(
        "kubetally_recommendation_monthly_saving",
        f"Monthly saving of the recommended requests ({ov.currency}; negative = costs more, to stop throttling/OOM)",
        CONTAINER_LABELS,
    )
    states = (("current", c.CURRENT_CPU_REQUEST_CORES, c.CURRENT_MEMORY_REQUEST_BYTES),
              ("recommended", c.RECOMMENDED_CPU_REQUEST_CORES, c.RECOMMENDED_MEMORY_REQUEST_BYTES))  # fmt: skip
    for row in kept.iter_rows(named=True):
        key = [row[k] for k in CONTAINER_LABELS]
        for state, cpu_col, mem_col in states:
            if row[cpu_col] is not None:
                cpu.add_metric([*key, state], float(row[cpu_col]))
            if row[mem_col] is not None:
                mem.add_metric([*key, state], float(row[mem_col]))
        if row[c.CPU_USAGE_P95_CORES] is not None:
            p95.add_metric(key, float(row[c.CPU_USAGE_P95_CORES]))
        if row[c.MEMORY_PEAK_BYTES] is not None:
            peak.add_metric(key, float(row[c.MEMORY_PEAK_BYTES]))
        if row["monthly_saving"] is not None:
            saving.add_metric(key, float(row["monthly_saving"]))
    if rest.height:
        other = [OTHER] * len(CONTAINER_LABELS)
        saving.add_metric(other, float(rest.get_column("monthly_saving").fill_null(0.0).sum()))
    yield from (cpu, mem, p95, peak, saving)


def waste_families(ov: Overview) -> Iterator[Metric]:
    frame = ov.waste.findings
    labels = [c.CLUSTER, "rule", "severity", c.NAMESPACE]
    grouped = frame.group_by(labels).agg(pl.len().alias("n"), pl.col("monthly_cost").fill_null(0.0).sum())
    count = _gauge("kubetally_waste_findings", "Waste findings by rule, severity and namespace", labels)
    money = _gauge("kubetally_waste_monthly_cost", f"Monthly cost of the waste findings ({ov.currency})", labels)
    for row in grouped.sort(labels).iter_rows(named=True):
        key = [_text(row[k]) for k in labels]
        count.add_metric(key, row["n"])
        money.add_metric(key, row["monthly_cost"])
    yield from (count, money)


def _last_step(ov: Overview) -> pl.DataFrame:
    """Running containers at the window's last sample: requests and usage (OpenCost's allocation inputs)."""
    ds = ov.dataset
    usage = ds.usage
    keys = [c.CLUSTER, c.NAMESPACE, c.POD, c.CONTAINER]
    last = (
        usage.group_by(keys)
        .agg(pl.all().sort_by(c.TIMESTAMP).last())
        .select(*keys, c.TIMESTAMP, c.CPU_USAGE_CORES, c.MEMORY_WORKING_SET_BYTES)
        .collect()
    )
    end = last.get_column(c.TIMESTAMP).max() if last.height else None
    last = last.filter(pl.col(c.TIMESTAMP) == end)
    info = ds.containers.filter(~pl.col(c.INIT_CONTAINER)).select(
        *keys, c.NODE, c.CPU_REQUEST_CORES, c.MEMORY_REQUEST_BYTES
    )
    return last.join(info, on=keys, how="inner").with_columns(
        pl.max_horizontal(pl.col(c.CPU_REQUEST_CORES).fill_null(0.0), c.CPU_USAGE_CORES).alias("cpu"),
        pl.max_horizontal(
            pl.col(c.MEMORY_REQUEST_BYTES).cast(pl.Float64).fill_null(0.0), c.MEMORY_WORKING_SET_BYTES
        ).alias("memory"),
    )


def opencost_families(ov: Overview, settings: ExpositionSettings) -> Iterator[Metric]:
    ds = ov.dataset
    nodes = ds.nodes.join(ov.node_prices.select(c.CLUSTER, c.NODE, "cpu_cost_per_hour", "memory_cost_per_hour"),
                          on=[c.CLUSTER, c.NODE], how="left")  # fmt: skip
    cpu = _gauge("node_cpu_hourly_cost", "node_cpu_hourly_cost hourly cost for each cpu on this node",
                 OPENCOST_NODE_LABELS)  # fmt: skip
    ram = _gauge("node_ram_hourly_cost", "node_ram_hourly_cost hourly cost for each gb of ram on this node",
                 OPENCOST_NODE_LABELS)  # fmt: skip
    total = _gauge("node_total_hourly_cost", "node_total_hourly_cost Total node cost per hour", OPENCOST_NODE_LABELS)
    for row in nodes.sort(c.NODE).iter_rows(named=True):
        key = [row[c.NODE], row[c.NODE], _text(row[c.INSTANCE_TYPE]), "", "", _text(row[c.ARCH])]
        cpu_hour, mem_hour = _float(row["cpu_cost_per_hour"]), _float(row["memory_cost_per_hour"])
        cpu.add_metric(key, cpu_hour / row[c.CPU_CAPACITY_CORES] if row[c.CPU_CAPACITY_CORES] else 0.0)
        ram.add_metric(key, mem_hour / (row[c.MEMORY_CAPACITY_BYTES] / GIB) if row[c.MEMORY_CAPACITY_BYTES] else 0.0)
        total.add_metric(key, cpu_hour + mem_hour)
    yield from (cpu, ram, total)

    pv = _gauge("pv_hourly_cost", "pv_hourly_cost Cost per GB per hour on a persistent disk", OPENCOST_PV_LABELS)
    for row in ov.pv_prices.sort(c.PV).iter_rows(named=True):
        pv.add_metric([row[c.PV], row[c.PV], ""], row["per_gib_hour"])
    yield pv

    steps = _last_step(ov)
    kept, _ = _top(steps, "cpu", settings.max_containers)
    cpu_alloc = _gauge("container_cpu_allocation", "container_cpu_allocation Percent of a single CPU used in a minute",
                       OPENCOST_CONTAINER_LABELS)  # fmt: skip
    mem_alloc = _gauge("container_memory_allocation_bytes", "container_memory_allocation_bytes Bytes of RAM used",
                       OPENCOST_CONTAINER_LABELS)  # fmt: skip
    for row in kept.sort(c.NAMESPACE, c.POD, c.CONTAINER).iter_rows(named=True):
        key = [row[c.NAMESPACE], row[c.POD], row[c.CONTAINER], row[c.NODE], row[c.NODE]]
        cpu_alloc.add_metric(key, row["cpu"])
        mem_alloc.add_metric(key, row["memory"])
    yield from (cpu_alloc, mem_alloc)

    pvc = _gauge("pod_pvc_allocation", "pod_pvc_allocation Bytes used by a PVC attached to a pod", OPENCOST_PVC_LABELS)
    mounts, volumes = ds.table(schema.VOLUME_MOUNTS), ds.table(schema.VOLUMES)
    running = steps.select(c.CLUSTER, c.NAMESPACE, c.POD).unique()
    if mounts.height and volumes.height:
        attached = (
            mounts.join(running, on=[c.CLUSTER, c.NAMESPACE, c.POD])
            .join(
                volumes.select(c.CLUSTER, c.NAMESPACE, c.PVC, c.PV, c.CAPACITY_BYTES),
                on=[c.CLUSTER, c.NAMESPACE, c.PVC],
            )
            .sort(c.NAMESPACE, c.POD, c.PVC)
        )
        for row in attached.iter_rows(named=True):
            pvc.add_metric([row[c.NAMESPACE], row[c.POD], row[c.PVC], row[c.PV]], float(row[c.CAPACITY_BYTES]))
    yield pvc


def run_families(ov: Overview) -> Iterator[Metric]:
    from importlib.metadata import version

    info = GaugeMetricFamily("kubetally_info", "kubetally version, source and currency",
                             labels=["version", "source", "currency"])  # fmt: skip
    info.add_metric([version("kubetally"), ov.dataset.info.source, ov.currency], 1)
    yield info
    yield GaugeMetricFamily("kubetally_window_hours", "Hours of history the figures cover", value=ov.window_hours)
    yield GaugeMetricFamily(
        "kubetally_last_run_timestamp_seconds", "When the figures were computed (Unix time)",
        value=ov.computed_at.timestamp(),
    )  # fmt: skip
    yield GaugeMetricFamily("kubetally_run_duration_seconds", "How long computing the figures took",
                            value=ov.compute_seconds)  # fmt: skip


def families(ov: Overview, settings: ExpositionSettings | None = None) -> list[Metric]:
    """Every metric family of ``ov``, in a fixed order."""
    chosen = settings or ExpositionSettings()
    out: list[Metric] = []
    for part in (
        run_families(ov),
        cluster_families(ov),
        workload_families(ov, chosen),
        node_families(ov),
        rightsizing_families(ov, chosen),
        waste_families(ov),
        opencost_families(ov, chosen),
    ):
        out.extend(part)
    return out


class OverviewCollector(Collector):
    """A prometheus_client collector over a swappable Overview (``serve`` replaces it after each run)."""

    def __init__(self, settings: ExpositionSettings | None = None) -> None:
        self.settings = settings or ExpositionSettings()
        self._families: list[Metric] = []

    def update(self, ov: Overview) -> None:
        self._families = families(ov, self.settings)

    def collect(self) -> Iterable[Metric]:
        return list(self._families)


def exposition_text(ov: Overview, settings: ExpositionSettings | None = None) -> str:
    """The Prometheus text exposition (format 0.0.4) of ``ov``."""
    from prometheus_client import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    collector = OverviewCollector(settings)
    collector.update(ov)
    registry.register(collector)
    return generate_latest(registry).decode()
