"""The Prometheus source: every Dataset frame from a server that speaks the Prometheus HTTP API.

Works with Prometheus, VictoriaMetrics, Thanos and Mimir. The plan is a fixed set of queries
per time chunk for the whole cluster (see :mod:`.plan`): ~60 instant inventory queries over
kube-state-metrics and ~20 range queries over cAdvisor, the kubelet, node-exporter and
postgres_exporter, whatever the number of workloads. Degradations it notices (no pod labels
because of the KSM allowlist default, cAdvisor without container labels, inferred fields)
are recorded in ``dataset.info.notes`` and never silently zeroed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from kubetally.dataset import Dataset, DatasetInfo
from kubetally.errors import SourceError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.promql import matchers
from kubetally.sources.kubectl_labels import labels_from_kubectl
from kubetally.sources.prometheus import build, families, inventory, series
from kubetally.sources.prometheus.client import PrometheusClient, Usage
from kubetally.sources.prometheus.plan import Chunk, PromQL, Window, chunk_points, chunks, rate_window
from kubetally.sources.prometheus.runner import END_OFFSET, Sink, generic_frame, iter_range, run_instant
from kubetally.sources.prometheus.settings import Connection, Query, parse_duration, redact_url

__all__ = ["Collected", "Connection", "Query", "Usage", "collect", "parse_duration"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Collected:
    dataset: Dataset
    usage: Usage
    """Queries sent, points returned, samples the server touched, retries, wall time in queries."""
    inventory_chunks: int
    series_chunks: int


def collect(
    conn: Connection,
    query: Query,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    spill_dir: Path | None = None,
    labels_from: Path | None = None,
    hourly: bool = False,
    frames_wanted: Collection[str] | None = None,
) -> Collected:
    """Read the window from the server and return the Dataset (raises SourceError with one clear line).

    With ``spill_dir`` (which must stay until the dataset is saved) each time chunk's series are
    written to Parquet as they arrive, so memory stays bounded by the chunk size. ``labels_from``
    (a ``kubectl get -o json`` dump) supplies labels when kube-state-metrics exports none.

    ``hourly``: read container CPU, working set and throttling by remote read (raw XOR chunks, no JSON)
    into hourly summaries (frame ``usage_hourly``) instead of per-step ``usage``; where the server has no
    remote read (VictoriaMetrics, Thanos), or the cluster label / pod-level cAdvisor needs the range
    queries, usage is read as before and a note says which path was used. ``frames_wanted``: the time-series
    frames to read (names of :data:`SERIES_FRAMES`; None = all): the others stay empty, their queries unsent.
    """
    say = progress or (lambda _: None)
    window = Window.of(query, now or datetime.now(UTC))
    if window.steps < 1:
        raise SourceError("the window is shorter than one step")
    p = PromQL(query, window.step)
    where = redact_url(conn.url)
    with PrometheusClient(conn) as client:
        say(f"checking {where}")
        client.ping(float(window.end))
        inv_chunks = chunks(window, query.max_points_per_series)
        say(f"inventory: {len(inventory.texts(p))} kube-state-metrics queries x {len(inv_chunks)} chunks")
        inv = run_instant(client, inventory.texts(p), inv_chunks)
        if not inv["pod_info"]:
            raise SourceError(
                f"no kube_pod_info series with job=~{query.ksm_job!r} at {where} between "
                f"{_iso(window.start)} and {_iso(window.end)}: check --ksm-job and the window (retention?)"
            )
        ctx = build.Ctx(query.cluster_label, query.cluster_name, len(inv_chunks) - 1, _dt(window.end))
        labels = build.labels(inv, ctx)
        if labels.filter(pl.col(c.OBJECT_KIND) == "Pod").height == 0 and labels_from is not None:
            labels = labels_from_kubectl(labels_from, query.cluster_name)
            ctx.notes.append(f"kube_pod_labels absent: labels read from the kubectl dump {labels_from.name}")
        elif labels.filter(pl.col(c.OBJECT_KIND) == "Pod").height == 0:
            ctx.notes.append(
                "kube_pod_labels absent (kube-state-metrics --metric-labels-allowlist not set, the default since "
                "v2.10): pod labels must come from a `kubectl get -o json` dump or the manifests"
            )
        containers_seen = {k[:4] for labels_, _, _ in inv["app_info"] for k in [_key(labels_, ctx)]}
        estimate = 2 * len(containers_seen) + len(inv["pod_info"]) // max(1, len(inv_chunks)) + 1
        series_chunks = chunks(window, chunk_points(query, estimate))

        probe = run_instant(client, {"ctr": lambda s: _probe(p, s, pod_level=False)}, inv_chunks[-1:])
        pod_level = False
        if not probe["ctr"]:
            probe = run_instant(client, {"pod": lambda s: _probe(p, s, pod_level=True)}, inv_chunks[-1:])
            pod_level = bool(probe["pod"])
            if pod_level:
                ctx.notes.append(
                    "cAdvisor series have no container label (k3s cAdvisor lost the containerd socket): usage is "
                    'per pod (attributed to the pod\'s only container, else container ""); no throttling or pod network'
                )
        others = _other_kubelet_endpoints(client, p, inv_chunks[-1])
        if others:
            ctx.notes.append(
                f"{others} container CPU series of job=~{query.kubelet_job!r} come from another kubelet endpoint than "
                f"cAdvisor (metrics_path not {query.kubelet_metrics_path!r} or no id label: /metrics/resource): left "
                "out, usage is cAdvisor's alone (summing both doubles CPU and memory)"
            )
        interval = _scrape_interval(client, p, pod_level, window, inv_chunks[-1])
        p = PromQL(query, window.step, interval)
        used = rate_window(window.step, interval, query.rate_window_seconds)
        seen = f"scrape interval {interval} s (measured on the server)" if interval else "scrape interval unknown"
        ctx.notes.append(f"{seen}; rate window {used.why}")
        if interval and query.rate_window_seconds and query.rate_window_seconds < 2 * interval:
            ctx.notes.append(
                f"--rate-window {query.rate_window_seconds} s is shorter than 2 scrape intervals ({interval} s): "
                "steps with fewer than two scrapes in the window have no rate (usage rows missing)"
            )
        wanted = set(SERIES_FRAMES if frames_wanted is None else frames_wanted)
        unknown = wanted - set(SERIES_FRAMES)
        if unknown:
            raise ValueError(f"unknown series frames: {', '.join(sorted(unknown))}")
        usage_hourly = None
        if hourly and schema.USAGE.name in wanted:
            usage_hourly = _remote_usage(client, query, window, pod_level, ctx.notes, say)
            if usage_hourly is not None:
                wanted.discard(schema.USAGE.name)
        texts = {
            name: text
            for name, text in {**series.usage_texts(p, pod_level=pod_level), **series.other_texts(p)}.items()
            if _frame_of(name) in wanted
        }
        say(f"series: {len(texts)} range queries x {len(series_chunks)} chunks")
        nodes, node_map = build.nodes(inv, ctx, labels.filter(pl.col(c.OBJECT_KIND) == "Node"))
        frames = series.Frames(p, query.cluster_name)
        host_pods = build.host_network_pods(inv, ctx)
        if host_pods.height:
            ctx.notes.append(
                f'{host_pods.height} hostNetwork pods (kube_pod_info{{host_network="true"}}, e.g. '
                f"{', '.join(sorted(host_pods.get_column(c.POD).to_list())[:3])}): their sandbox network series are "
                "the node's interfaces, so they get no pod network; the node's traffic is counted once, in "
                "node_usage (node-exporter)"
            )
        sink = Sink(spill_dir)
        term_parts: dict[str, list[pl.DataFrame]] = {name: [] for name in series.TERMINATION_RESULTS}
        # One chunk at a time (the next one in flight): memory is bounded by the chunk, not the window.
        for done, results in enumerate(iter_range(client, texts, series_chunks, window.step), start=1):
            for name, kept in term_parts.items():
                if name in results:
                    kept.append(results.pop(name))
            usage_part = frames.usage(results)
            if schema.USAGE.name in wanted:
                sink.add(schema.USAGE, usage_part)
            if schema.POD_NETWORK.name in wanted:
                sink.add(schema.POD_NETWORK, frames.pod_network(results, usage_part, host_pods))
            if schema.NODE_USAGE.name in wanted:
                sink.add(schema.NODE_USAGE, frames.node_usage(results, node_map))
            if schema.VOLUME_USAGE.name in wanted:
                sink.add(schema.VOLUME_USAGE, frames.volume_usage(results))
            if schema.LOG_USAGE.name in wanted:
                sink.add(schema.LOG_USAGE, frames.log_usage(results))
            if schema.DATABASE_USAGE.name in wanted:
                sink.add(schema.DATABASE_USAGE, frames.database_usage(results))
            del results, usage_part
            say(f"series: chunk {done}/{len(series_chunks)}")

        term_results = {
            name: pl.concat(parts, how="diagonal_relaxed") if parts else generic_frame([], window.step)
            for name, parts in term_parts.items()
        }
        pod_end, _ = build.pods_ended(inv, ctx, _ends(inv_chunks))
        _, last_reason = frames.terminations(term_results, build.containers(inv, ctx, {}, _ends(inv_chunks)), pod_end)
        containers = build.containers(inv, ctx, last_reason, _ends(inv_chunks))
        terminations, _ = frames.terminations(term_results, containers, pod_end)
        usage = sink.frame(schema.USAGE)
        if pod_level:
            usage = _attribute_pod_level(usage, containers)
        volumes, mounts = build.volumes(inv, ctx)
        cadvisor_seen = bool(probe.get("ctr") or probe.get("pod"))
        if usage_hourly is not None or schema.USAGE.name not in wanted:
            pass
        elif not sink.has(schema.USAGE) and cadvisor_seen:
            ctx.notes.append(
                f"cAdvisor series with job=~{query.kubelet_job!r} exist but gave no usage row (rate window "
                f"{p.rate_seconds} s, {seen}): usage is empty (unknown, not zero)"
            )
        elif not sink.has(schema.USAGE):
            ctx.notes.append(
                f"no cAdvisor series with job=~{query.kubelet_job!r} (check --kubelet-job): usage is empty "
                "(unknown, not zero)"
            )
        left_out = [name for name in SERIES_FRAMES if name not in wanted and name != schema.USAGE.name]
        if left_out:
            ctx.notes.append(f"not read (this command does not use them): {', '.join(left_out)} (empty)")
        if not sink.has(schema.NODE_USAGE) and schema.NODE_USAGE.name in wanted:
            ctx.notes.append(
                f"no node-exporter series with job=~{query.node_exporter_job!r} (check --node-exporter-job): "
                "node_usage is empty (unknown, not zero)"
            )
        present = {
            name: client.names(selector, float(window.start), float(window.end))
            for name, selector in (
                ("ksm", p.ksm("")), ("kubelet", p.kubelet("")), ("node", p.node("")), ("pg", p.pg(""))
            )
        }  # fmt: skip
        if node_map.unmapped:
            ctx.notes.append(_unmapped_note(node_map.unmapped))
        missing = families.missing(present)
        ctx.notes.extend(families.note(m) for m in missing)
        ctx.notes.extend(_postgres_notes(present["pg"], sink.frame(schema.DATABASE_USAGE), containers))
        for warning in client.usage.warnings:
            ctx.notes.append(f"server warning: {warning}")
        info = DatasetInfo(
            source=f"prometheus:{where}",
            start=_dt(window.start),
            end=_dt(window.end),
            step_seconds=window.step,
            notes=tuple(dict.fromkeys(ctx.notes)),
            missing=tuple(missing),
        )
        dataset = Dataset.create(
            info,
            containers=containers,
            usage=usage,
            pod_network=sink.frame(schema.POD_NETWORK),
            terminations=terminations,
            workloads=build.workloads(inv, ctx, containers),
            nodes=nodes,
            node_usage=sink.frame(schema.NODE_USAGE),
            labels=labels,
            volumes=volumes,
            volume_mounts=mounts,
            volume_usage=sink.frame(schema.VOLUME_USAGE),
            objects=build.objects(inv, ctx),
            log_usage=sink.frame(schema.LOG_USAGE),
            database_usage=sink.frame(schema.DATABASE_USAGE),
            **({} if usage_hourly is None else {"usage_hourly": usage_hourly}),
        )
        return Collected(dataset, client.usage, len(inv_chunks), len(series_chunks))


SERIES_FRAMES = (
    schema.USAGE.name,
    schema.POD_NETWORK.name,
    schema.NODE_USAGE.name,
    schema.VOLUME_USAGE.name,
    schema.LOG_USAGE.name,
    schema.DATABASE_USAGE.name,
    schema.TERMINATIONS.name,
)
"""The frames read by range queries (``collect(frames_wanted=...)``)."""


def _frame_of(text: str) -> str:
    """The frame a range query of :mod:`.series` feeds."""
    if text in series.USAGE_COLUMNS:
        return schema.USAGE.name
    if text in series.TERMINATION_RESULTS:
        return schema.TERMINATIONS.name
    if text.startswith("net_"):
        return schema.POD_NETWORK.name
    if text.startswith("node_"):
        return schema.NODE_USAGE.name
    if text == "volume":
        return schema.VOLUME_USAGE.name
    if text == "logs":
        return schema.LOG_USAGE.name
    return schema.DATABASE_USAGE.name


def _remote_usage(
    client: PrometheusClient, query: Query, window: Window, pod_level: bool, notes: list[str], say: Progress
) -> pl.DataFrame | None:
    """usage_hourly by remote read, or None (with a note saying why) when the range queries must read usage."""
    from kubetally.model.hourly import from_summary
    from kubetally.sources.prometheus.remote_read import RemoteReadUnsupported
    from kubetally.sources.prometheus.remote_usage import container_matchers, usage_summaries

    fallback = "usage read by range queries instead (every sample as JSON; exact percentiles)"
    if query.cluster_label:
        notes.append(f"--cluster-label is set: remote read is not used for it yet; {fallback}")
        return None
    if pod_level:
        notes.append(f"cAdvisor without container labels: remote read is not used; {fallback}")
        return None
    try:
        got = usage_summaries(
            client.http,
            start_s=window.start,
            end_s=window.end,
            step_s=window.step,
            matchers=container_matchers(query.kubelet_job),
            progress=say,
        )
    except RemoteReadUnsupported as exc:
        notes.append(f"{exc}: {fallback}")
        return None
    client.usage.queries += got.requests
    notes.append(
        f"usage read by remote read ({got.requests} requests, {got.samples:,} raw samples, "
        f"{got.bytes_read / 1e6:.1f} MB) into hourly summaries: percentiles within 0.5% of exact"
    )
    parts = [
        from_summary(summary, metric, cluster=query.cluster_name)
        for summary, metric in (
            (got.cpu, c.CPU_USAGE_CORES),
            (got.memory, c.MEMORY_WORKING_SET_BYTES),
            (got.throttled, c.CPU_THROTTLED_RATIO),
        )
    ]
    return pl.concat(parts)


def _scrape_interval(client: PrometheusClient, p: PromQL, pod_level: bool, window: Window, last: Chunk) -> int | None:
    """The scrape interval of the kubelet (cAdvisor) and node-exporter series, measured on the server: the
    median gap between the raw samples of the series with the most samples in the last hour (or chunk) of
    the window. The larger of the two when both are scraped; None when no series has two samples."""
    seconds = min(3600, last.seconds)
    at = last.end + END_OFFSET
    found = []
    for metric, selector in (
        (
            "container_cpu_usage_seconds_total",
            p.cadvisor("container_cpu_usage_seconds_total", **series.container_selector(pod_level)),
        ),
        ("node_cpu_seconds_total", p.node("node_cpu_seconds_total", mode="idle")),
    ):
        top = client.instant(f"topk(1, count_over_time({selector}[{seconds}s]))", at)
        if not top or top[0][1] < 2:
            continue
        exact = metric + "{" + matchers(top[0][0]) + "}"
        for one in client.raw(exact, seconds, at)[:1]:
            times = sorted(float(t) for t, _ in one["values"])
            gaps = sorted(b - a for a, b in itertools.pairwise(times))
            if gaps:
                found.append(max(1, round(gaps[len(gaps) // 2])))
    return max(found) if found else None


def _unmapped_note(unmapped: dict[tuple[str, str], str]) -> str:
    shown = ", ".join(
        f"{instance} (nodename {name!r})" if name else instance for (_, instance), name in sorted(unmapped.items())[:3]
    )
    return (
        f"{len(unmapped)} node-exporter targets match no node: {shown}{' ...' if len(unmapped) > 3 else ''}; their "
        "node usage is left out. A target is mapped by its pod (target labels namespace/pod in kube_pod_info), "
        "then by instance = a node's InternalIP or name, then by uname nodename = a node's name"
    )


_DATABASE_IMAGE = re.compile(r"postgres|postgis|timescale|patroni|spilo|cloudnative-pg", re.IGNORECASE)


def _postgres_notes(names: set[str], usage: pl.LazyFrame, containers: pl.DataFrame) -> list[str]:
    """What postgres_exporter's families and target labels mean for database_usage."""
    if "pg_database_size_bytes" not in names:
        return []
    notes = []
    sizes = {"pg_stat_user_tables_size_bytes", "pg_stat_user_tables_table_size_bytes"}
    if not names & sizes:
        rows = "n_live_tup" if "pg_stat_user_tables_n_live_tup" in names else "no"
        notes.append(
            "postgres_exporter has no per-table size family (size_bytes since v0.14, table_size_bytes + "
            f"index_size_bytes since v0.18): tables have {rows} row counts and no size (unknown, not zero)"
        )
    key = [c.CLUSTER, c.NAMESPACE, c.POD]
    pods = usage.select(key).unique().collect()
    images = containers.group_by(key).agg(pl.col(c.IMAGE))
    own = [
        f"{row[c.NAMESPACE]}/{row[c.POD]}"
        for row in pods.join(images, on=key, how="left").sort(key).iter_rows(named=True)
        if not any(_DATABASE_IMAGE.search(i) and "exporter" not in i for i in row[c.IMAGE] or [])
    ]
    if own:
        notes.append(
            f"database sizes are keyed to postgres_exporter's scrape target pod, which runs no PostgreSQL: "
            f"{', '.join(own[:3])}{' ...' if len(own) > 3 else ''} (the exporter in its own Deployment): the "
            "database's own pod is not known from the exporter"
        )
    return notes


def _probe(p: PromQL, seconds: int, *, pod_level: bool) -> str:
    selector = p.cadvisor("container_cpu_usage_seconds_total", **series.container_selector(pod_level))
    return f"count(count_over_time({selector}[{seconds}s]))"


def _other_kubelet_endpoints(client: PrometheusClient, p: PromQL, last: Chunk) -> int:
    """How many container CPU series the kubelet job has from endpoints other than cAdvisor (/metrics/resource:
    same names, no ``id`` label): they are left out, or CPU and memory would be counted twice."""
    metric = "container_cpu_usage_seconds_total"
    text = " or ".join(f"count_over_time({sel}[{last.seconds}s])" for sel in p.not_cadvisor(metric))
    rows = client.instant(f"count({text})", last.end + END_OFFSET)
    return round(rows[0][1]) if rows else 0


def _attribute_pod_level(usage: pl.LazyFrame, containers: pl.DataFrame) -> pl.LazyFrame:
    """Pod-level rows (container "") go to the pod's only app container when it has exactly one."""
    key = [c.CLUSTER, c.NAMESPACE, c.POD]
    single = (
        containers.filter(~pl.col(c.INIT_CONTAINER))
        .group_by(key)
        .agg(pl.col(c.CONTAINER).first().alias("_only"), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1)
    )
    return (
        usage.join(single.lazy(), on=key, how="left")
        .with_columns(pl.coalesce("_only", pl.col(c.CONTAINER)).alias(c.CONTAINER))
        .drop("_only", "_n")
    )


def _key(labels: dict[str, str], ctx: build.Ctx) -> tuple[str, ...]:
    return (ctx.cluster(labels), labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", ""))


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(epoch: int) -> str:
    return _dt(epoch).isoformat()


def _ends(chunk_list: list[Chunk]) -> list[datetime]:
    return [_dt(ch.end) for ch in chunk_list]
