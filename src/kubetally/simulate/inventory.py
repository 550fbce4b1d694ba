"""Plan the cluster's objects: nodes, pods with lifetimes, volumes, references.

Pure planning from the scenario specs and a seeded random generator; the usage
series are generated from these plans by ``kubetally.simulate.series``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from kubetally.simulate.config import ScenarioConfig
from kubetally.simulate.scenario import GI, MI, NODES, WORKLOADS, ContainerSpec, Load, NodeSpec, WorkloadSpec

DAY = 86400
_ALNUM = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class PodPlan:
    index: int
    workload: WorkloadSpec
    name: str
    uid: str
    node: str
    start: int
    """Unix seconds."""
    end: int | None
    """Unix seconds; None when still running at the window's end."""
    template_hash: str = ""
    """pod-template-hash (Deployments) or controller-revision-hash (StatefulSets, DaemonSets)."""
    job: str | None = None
    pvcs: tuple[str, ...] = ()
    scale: float = 1.0
    """Per-pod load multiplier (replicas are never identical)."""

    @property
    def owner_kind(self) -> str:
        return self.workload.kind

    @property
    def owner_name(self) -> str:
        return self.workload.name


@dataclass
class Plan:
    config: ScenarioConfig
    start: int
    end: int
    nodes: tuple[NodeSpec, ...]
    workloads: tuple[WorkloadSpec, ...]
    pods: list[PodPlan] = field(default_factory=list)


def suffix(rng: np.random.Generator, length: int) -> str:
    return "".join(_ALNUM[i] for i in rng.integers(0, len(_ALNUM), size=length))


def new_uid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def synthetic_workloads(config: ScenarioConfig, rng: np.random.Generator) -> tuple[WorkloadSpec, ...]:
    """The scale knob: tenant Deployments with varied, seeded profiles."""
    teams = ("payments", "search", "identity", "growth", "data", "ml", "ops", "web")
    tiers = ("critical", "standard", "standard", "batch")
    specs = []
    for i in range(config.extra_workloads):
        cpu = float(rng.lognormal(np.log(0.05), 0.9))
        mem = int(rng.lognormal(np.log(120 * MI), 0.6))
        over = float(rng.choice([0.8, 1.5, 3.0, 8.0]))
        containers = [
            ContainerSpec(
                "app",
                f"registry.example.com/tenant/svc-{i:05d}:1.0",
                Load(
                    cpu=cpu,
                    daily=float(rng.uniform(0, 0.8)),
                    weekend=float(rng.uniform(0.4, 1.0)),
                    bursts_per_day=float(rng.uniform(0, 4)),
                    memory=mem,
                    memory_growth_per_day=int(rng.choice([0, 0, 0, 5 * MI])),
                ),
                cpu_request=round(max(0.01, cpu * over), 3),
                cpu_limit=None if rng.random() < 0.5 else round(max(0.05, cpu * over * 2), 3),
                memory_request=int(mem * over // MI) * MI,
                memory_limit=int(mem * over * 2 // MI) * MI,
            )
        ]
        if rng.random() < 0.4:
            containers.append(
                ContainerSpec(
                    "sidecar",
                    "registry.example.com/tenant/proxy:2.3",
                    Load(cpu=0.005, memory=20 * MI),
                    cpu_request=0.01,
                    memory_request=32 * MI,
                    memory_limit=64 * MI,
                )
            )
        specs.append(
            WorkloadSpec(
                f"tenant-{i // 50:03d}",
                "Deployment",
                f"svc-{i:05d}",
                tuple(containers),
                {
                    "app": f"svc-{i:05d}",
                    "component": "service",
                    "team": teams[i % len(teams)],
                    "environment": "production",
                    "finops_tier": tiers[i % len(tiers)],
                },
                replicas=int(rng.integers(1, config.replicas + 1)),
                service=False,
            )
        )
    return tuple(specs)


def scaled_nodes(config: ScenarioConfig) -> tuple[NodeSpec, ...]:
    total = config.nodes if config.nodes is not None else len(NODES) + -(-config.extra_workloads // 12)
    nodes = list(NODES[:total])
    for n in range(len(nodes), total):
        nodes.append(NodeSpec(f"pi-agent-{n}", "rpi5-8gb", 4.0, 8 * GI))
    return tuple(nodes)


def plan(config: ScenarioConfig) -> Plan:
    rng = np.random.default_rng([config.seed, 0])
    end = int(config.end.timestamp())
    start = end - config.steps * config.step_seconds
    nodes = scaled_nodes(config)
    workloads = WORKLOADS + synthetic_workloads(config, np.random.default_rng([config.seed, 1]))
    result = Plan(config, start, end, nodes, workloads)
    requested = dict.fromkeys((n.name for n in nodes), 0.0)

    def place(spec: WorkloadSpec) -> str:
        if spec.node is not None and spec.node in requested:
            chosen = spec.node
        else:
            chosen = min(requested, key=lambda name: (requested[name], name))
        requested[chosen] += sum(c.cpu_request or 0.0 for c in spec.containers)
        return chosen

    def add(
        spec: WorkloadSpec,
        name: str,
        node: str,
        span: tuple[int, int | None],
        *,
        template_hash: str = "",
        job: str | None = None,
        pvcs: tuple[str, ...] = (),
    ) -> None:
        pod = PodPlan(
            len(result.pods),
            spec,
            name,
            new_uid(rng),
            node,
            span[0],
            span[1],
            template_hash=template_hash,
            job=job,
            pvcs=pvcs,
            scale=float(rng.uniform(0.9, 1.1)),
        )
        result.pods.append(pod)

    for spec in workloads:
        born = start - int(rng.integers(3, 40)) * DAY - int(rng.integers(0, DAY))
        if spec.kind == "Deployment":
            revisions: list[tuple[int, int | None]] = [(born, None)]
            if spec.rollout_day is not None:
                switch = start + int(spec.rollout_day * DAY)
                revisions = [(born, switch), (switch, None)]
            for begin, finish in revisions:
                template = suffix(rng, 10 if spec.replicas else 9)
                for _ in range(spec.replicas):
                    add(
                        spec,
                        f"{spec.name}-{template}-{suffix(rng, 5)}",
                        place(spec),
                        (begin, finish),
                        template_hash=template,
                    )
        elif spec.kind == "StatefulSet":
            revision = f"{spec.name}-{suffix(rng, 10)}"
            for ordinal in range(spec.replicas):
                name = f"{spec.name}-{ordinal}"
                pvcs = (f"{spec.pvc_template[0]}-{name}",) if spec.pvc_template else ()
                add(spec, name, place(spec), (born, None), template_hash=revision, pvcs=pvcs)
        elif spec.kind == "DaemonSet":
            revision = suffix(rng, 10)
            for node in nodes:
                add(spec, f"{spec.name}-{suffix(rng, 5)}", node.name, (born, None), template_hash=revision)
        elif spec.kind == "CronJob":
            first_day = start // DAY
            for day in range(first_day, end // DAY + 1):
                run = day * DAY + 2 * 3600
                if run < start or run + spec.job_minutes * 60 > end:
                    continue
                job = f"{spec.name}-{run // 60}"
                add(spec, f"{job}-{suffix(rng, 5)}", place(spec), (run, run + spec.job_minutes * 60), job=job)
        else:  # pragma: no cover - the scenario only uses the kinds above
            raise ValueError(f"unsupported kind {spec.kind}")
    return result
