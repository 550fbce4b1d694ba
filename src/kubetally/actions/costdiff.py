"""Cost diff of two manifest trees: requested CPU/memory × replicas per workload, and its monthly price.

Like Infracost, but for Kubernetes requests. A workload costs
``replicas × (pod CPU request × core-hour price + pod memory request GiB × GiB-hour price) × hours``
per month, where the pod request is what the scheduler reserves: the larger of the
regular containers' sum and the largest init container. Replicas: ``spec.replicas``
(Deployment, StatefulSet; default 1), the node count for DaemonSets (``daemonset_nodes``),
``parallelism`` for Jobs and CronJobs, which run ``job_hours_per_month`` hours a month
(default 0: listed, not priced, as their run time is not in the manifests).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from kubetally.actions.manifests.lines import ManifestError
from kubetally.actions.manifests.scan import FoundWorkload, ParsedFile, WorkloadRef, kustomize_namespace, scan
from kubetally.model import columns as c
from kubetally.model.labels import TEAM, resolved_value
from kubetally.model.quantity import QuantityError, parse_cpu, parse_memory, parse_quantity
from kubetally.model.unit_prices import UnitPrices

GIB = 2**30

REQUESTS_SCHEMA: dict[str, pl.DataType] = {
    c.NAMESPACE: pl.String(),
    c.KIND: pl.String(),
    c.NAME: pl.String(),
    c.REPLICAS: pl.Int64(),
    c.CPU_REQUEST_PER_POD_CORES: pl.Float64(),
    c.MEMORY_REQUEST_PER_POD_BYTES: pl.Int64(),
    c.HPA_MAX: pl.Int64(),
    c.TEAM: pl.String(),
}


class CostDiffSettings(BaseModel):
    """What the manifests do not say: how many nodes a DaemonSet runs on and how long Jobs run."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    daemonset_nodes: int = Field(1, ge=0, description="Nodes a DaemonSet runs on.")
    job_hours_per_month: float = Field(
        0.0, ge=0, le=744, description="Hours a month Jobs/CronJobs run (0: not priced)."
    )


def _quantity(value: Any, parse: Any, where: str) -> Any:
    raw = value if isinstance(value, int | float) else str(value)
    try:
        parsed = parse(raw)
        negative = parse_quantity(raw) < 0
    except QuantityError as exc:
        raise ManifestError(f"{where}: {exc}") from None
    if negative:
        raise ManifestError(f"{where}: a resource request or limit cannot be negative: {value!r}")
    return parsed


def _pod_request(workload: FoundWorkload) -> tuple[float, int]:
    regular_cpu, regular_mem, init_cpu, init_mem = 0.0, 0, 0.0, 0
    for container in workload.containers:
        resources = container.node.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        where = f"{workload.file}:{workload.line}: {workload.ref} container {container.name}"
        # Kubernetes defaults a missing request to the limit.
        cpu_text = requests.get("cpu", limits.get("cpu"))
        mem_text = requests.get("memory", limits.get("memory"))
        cpu = 0.0 if cpu_text is None else float(_quantity(cpu_text, parse_cpu, where))
        mem = 0 if mem_text is None else int(_quantity(mem_text, parse_memory, where))
        if container.init:
            init_cpu, init_mem = max(init_cpu, cpu), max(init_mem, mem)
        else:
            regular_cpu, regular_mem = regular_cpu + cpu, regular_mem + mem
    return max(regular_cpu, init_cpu), max(regular_mem, init_mem)


def _replicas(workload: FoundWorkload, settings: CostDiffSettings) -> int:
    kind = workload.ref.kind
    if kind in ("Deployment", "StatefulSet"):
        return workload.replicas if workload.replicas is not None else 1
    if kind == "DaemonSet":
        return settings.daemonset_nodes
    spec = workload.obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    parallelism = spec.get("parallelism", 1)
    return parallelism if isinstance(parallelism, int) else 1


def _labels(node: Any, *keys: str) -> dict[str, str]:
    for key in (*keys, "metadata", "labels"):
        node = node.get(key) if isinstance(node, dict) else None
    return {str(k): str(v) for k, v in node.items()} if isinstance(node, dict) else {}


def _namespace_labels(files: list[ParsedFile]) -> dict[str, dict[str, str]]:
    """``metadata.labels`` of every Namespace object in the tree, by name."""
    found: dict[str, dict[str, str]] = {}
    for parsed in files:
        for doc in parsed.documents:
            objects = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
            for obj in objects if isinstance(objects, list) else []:
                if isinstance(obj, dict) and obj.get("kind") == "Namespace":
                    found[str((obj.get("metadata") or {}).get("name"))] = _labels(obj)
    return found


def _team(workload: FoundWorkload, namespaces: dict[str, dict[str, str]]) -> str | None:
    """The workload's team by the one precedence rule (kubetally.model.labels): the pod template's
    label, else the controller's, else its Namespace object's (when the tree has one)."""
    template = ("spec", "jobTemplate", "spec", "template") if workload.ref.kind == "CronJob" else ("spec", "template")
    return resolved_value(
        TEAM,
        pod=_labels(workload.obj, *template),
        controller=_labels(workload.obj),
        namespace=namespaces.get(workload.ref.namespace, {}),
    )


def _autoscalers(files: list[ParsedFile], root: Path, default_ns: str) -> dict[WorkloadRef, tuple[int, int | None]]:
    """(minReplicas, maxReplicas) of every HorizontalPodAutoscaler in the tree, by the workload it scales."""
    found: dict[WorkloadRef, tuple[int, int | None]] = {}
    for parsed in files:
        override = kustomize_namespace(parsed.path, root)
        for doc in parsed.documents:
            objects = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
            for obj in objects if isinstance(objects, list) else []:
                if not isinstance(obj, dict) or obj.get("kind") != "HorizontalPodAutoscaler":
                    continue
                meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
                target = spec.get("scaleTargetRef") or {}
                ns = override or meta.get("namespace") or default_ns
                low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
                ref = WorkloadRef(str(ns), str(target.get("kind")), str(target.get("name")))
                found[ref] = (low if isinstance(low, int) else 1, high if isinstance(high, int) else None)
    return found


def requested_resources(root: Path, *, namespace: str | None, settings: CostDiffSettings) -> pl.DataFrame:
    """Per workload in the manifests under ``root``: replicas and the pod's CPU/memory request.

    A workload scaled by an HorizontalPodAutoscaler in the tree counts its ``minReplicas``
    (``hpa_max`` says how far it may grow).
    """
    rows = []
    files = scan(root, default_namespace=namespace or "default")
    autoscalers = _autoscalers(files, root, namespace or "default")
    namespaces = _namespace_labels(files)
    for parsed in files:
        for workload in parsed.workloads:
            cpu, mem = _pod_request(workload)
            low, high = autoscalers.get(workload.ref, (None, None))
            rows.append(
                {
                    c.NAMESPACE: workload.ref.namespace,
                    c.KIND: workload.ref.kind,
                    c.NAME: workload.ref.name,
                    c.REPLICAS: _replicas(workload, settings) if low is None else low,
                    c.CPU_REQUEST_PER_POD_CORES: cpu,
                    c.MEMORY_REQUEST_PER_POD_BYTES: mem,
                    c.HPA_MAX: high,
                    c.TEAM: _team(workload, namespaces),
                }
            )
    frame = pl.DataFrame(rows, schema=REQUESTS_SCHEMA)
    duplicates = frame.group_by(c.NAMESPACE, c.KIND, c.NAME).len().filter(pl.col("len") > 1)
    if duplicates.height:
        first = duplicates.row(0, named=True)
        raise ManifestError(
            f"{root}: {first[c.NAMESPACE]}/{first[c.KIND]}/{first[c.NAME]} is defined {first['len']} times "
            "(overlays?); point cost-diff at one rendered tree (e.g. `kubectl kustomize` output)"
        )
    return frame


def _monthly(frame: pl.DataFrame, prices: UnitPrices, settings: CostDiffSettings) -> pl.Expr:
    hours = (
        pl.when(pl.col(c.KIND).is_in(["Job", "CronJob"]))
        .then(pl.lit(settings.job_hours_per_month))
        .otherwise(pl.lit(prices.hours_per_month))
    )
    per_pod_hour = (
        pl.col(c.CPU_REQUEST_PER_POD_CORES) * prices.cpu_per_core_hour
        + pl.col(c.MEMORY_REQUEST_PER_POD_BYTES) / GIB * prices.memory_per_gib_hour
    )
    return pl.col(c.REPLICAS) * per_pod_hour * hours


def cost_diff(
    base: pl.DataFrame, head: pl.DataFrame, *, prices: UnitPrices, settings: CostDiffSettings
) -> pl.DataFrame:
    """One row per workload in either tree: replicas, requested totals and monthly cost, before and after.

    ``change`` is added, removed, changed or unchanged. Totals are replicas × pod request.
    """
    keys = [c.NAMESPACE, c.KIND, c.NAME]

    def priced(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            (pl.col(c.REPLICAS) * pl.col(c.CPU_REQUEST_PER_POD_CORES)).alias("cpu"),
            (pl.col(c.REPLICAS) * pl.col(c.MEMORY_REQUEST_PER_POD_BYTES)).alias("memory"),
            _monthly(frame, prices, settings).alias("monthly"),
        )

    joined = priced(base).join(priced(head), on=keys, how="full", coalesce=True, suffix="_head")
    return (
        joined.with_columns(
            pl.when(pl.col(f"{c.REPLICAS}_head").is_null())
            .then(pl.lit("removed"))
            .when(pl.col(c.REPLICAS).is_null())
            .then(pl.lit("added"))
            .when(
                (pl.col(c.REPLICAS) == pl.col(f"{c.REPLICAS}_head"))
                & (pl.col(c.CPU_REQUEST_PER_POD_CORES) == pl.col(f"{c.CPU_REQUEST_PER_POD_CORES}_head"))
                & (pl.col(c.MEMORY_REQUEST_PER_POD_BYTES) == pl.col(f"{c.MEMORY_REQUEST_PER_POD_BYTES}_head"))
                & pl.col(c.HPA_MAX).eq_missing(pl.col(f"{c.HPA_MAX}_head"))
            )
            .then(pl.lit("unchanged"))
            .otherwise(pl.lit("changed"))
            .alias(c.CHANGE),
        )
        .select(
            *keys,
            c.CHANGE,
            pl.coalesce(f"{c.TEAM}_head", c.TEAM).alias(c.TEAM),
            pl.col(c.REPLICAS).alias("replicas_base"),
            pl.col(f"{c.REPLICAS}_head").alias("replicas_head"),
            pl.col(c.HPA_MAX).alias("hpa_max_base"),
            pl.col(f"{c.HPA_MAX}_head").alias("hpa_max_head"),
            pl.col("cpu").fill_null(0.0).alias("cpu_request_base_cores"),
            pl.col("cpu_head").fill_null(0.0).alias("cpu_request_head_cores"),
            (pl.col("cpu_head").fill_null(0.0) - pl.col("cpu").fill_null(0.0)).alias(c.CPU_REQUEST_DELTA_CORES),
            pl.col("memory").fill_null(0).alias("memory_request_base_bytes"),
            pl.col("memory_head").fill_null(0).alias("memory_request_head_bytes"),
            (pl.col("memory_head").fill_null(0) - pl.col("memory").fill_null(0)).alias(c.MEMORY_REQUEST_DELTA_BYTES),
            pl.col("monthly").fill_null(0.0).alias(c.MONTHLY_COST_BASE),
            pl.col("monthly_head").fill_null(0.0).alias(c.MONTHLY_COST_HEAD),
            (pl.col("monthly_head").fill_null(0.0) - pl.col("monthly").fill_null(0.0)).alias(c.MONTHLY_COST_DELTA),
        )
        .sort(*keys)
    )


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ManifestError("git is not installed; give two directories instead of two refs") from None
    if done.returncode != 0:
        raise ManifestError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout


@contextmanager
def checked_out(repo: Path, ref: str, path: str) -> Iterator[Path]:
    """The YAML files under ``path`` at git ``ref`` of ``repo``, in a temporary directory."""
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ManifestError:
        raise ManifestError(
            f"{ref!r} is neither a manifest directory nor a commit of the git repository {repo}"
        ) from None
    names = [
        name
        for name in _git(repo, "ls-tree", "-r", "--name-only", ref, "--", path).splitlines()
        if name.endswith((".yaml", ".yml"))
    ]
    if names == [path.strip("/")]:  # one file: the kustomizations above it still set its namespace
        parents = [str(parent) for parent in Path(path).parents if str(parent) != "."]
        for folder in parents:
            for kname in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
                names += _git(repo, "ls-tree", "--name-only", ref, "--", f"{folder}/{kname}").splitlines()
    with tempfile.TemporaryDirectory(prefix="kubetally-cost-diff-") as tmp:
        root = Path(tmp)
        for name in names:
            blob = subprocess.run(
                ["git", "-C", str(repo), "show", f"{ref}:{name}"], capture_output=True, check=True
            ).stdout
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        tree = root / path if path not in ("", ".") else root
        if not tree.is_file():  # --path may name one file; a ref without the folder has no workloads
            tree.mkdir(parents=True, exist_ok=True)
        yield tree


def yaml_files(tree: Path) -> list[Path]:
    """The YAML files of a manifest tree: every ``*.yaml``/``*.yml`` under a directory, or the file itself."""
    if tree.is_file():
        return [tree] if tree.suffix in (".yaml", ".yml") else []
    return [f for f in tree.rglob("*") if f.is_file() and f.suffix in (".yaml", ".yml")]
