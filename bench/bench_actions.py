"""Manifest rewriting and scaling what-ifs at scale.

1. Manifests: N Deployments (2 containers each, 10 per multi-document file) rewritten at once:
   plan (parse, edit, re-parse and verify) and apply, timed.
2. Scaling: the HPA what-if and off-hours plans on AuditFlow + 1,000 extra workloads x D days x
   1-minute steps (simulated and saved first, not timed), in a fresh subprocess (peak RSS its own).
Usage: .venv/bin/python bench/bench_actions.py [--deployments 1000] [--workloads 1000] [--days 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubetally.actions.manifests import ResourceTarget, WorkloadRef, apply_plan, plan_manifests

DEPLOYMENT = """\
# {name}: generated for the benchmark
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: bench
  labels: {{app: {name}, team: bench}}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: app
          image: "registry.example/{name}:1.0"
          env:
            - {{name: MODE, value: "prod"}}
          resources:
            requests:
              cpu: 500m   # sized in 2023
              memory: 512Mi
            limits:
              cpu: "1"
              memory: 1Gi
        - name: sidecar
          image: envoy
"""

MAKE = """
import sys
from pathlib import Path
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate
extra, days, target = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
ds = simulate(ScenarioConfig(extra_workloads=extra, days=days), spill_dir=target.with_name("spill"))
save(ds, target)
"""

CASE = """
import json, resource, sys, time
from pathlib import Path
from kubetally.analysis.scaling import HpaSettings, OffHoursSettings, UnitPrices, hpa_whatif, offhours_plans
from kubetally.dataset import load
ds = load(Path(sys.argv[1]))
prices = UnitPrices(cpu_per_core_hour=0.03, memory_per_gib_hour=0.004)
frames = dict(usage=ds.usage, containers=ds.containers, workloads=ds.workloads, labels=ds.labels,
              step_seconds=ds.info.step_seconds)
t0 = time.perf_counter()
hpa = hpa_whatif(**frames, settings=HpaSettings(), prices=prices)
t1 = time.perf_counter()
off = offhours_plans(**frames, settings=OffHoursSettings(), prices=prices)
t2 = time.perf_counter()
print(json.dumps({"hpa_s": t1 - t0, "offhours_s": t2 - t1, "workloads": hpa.height,
                  "simulated": int(hpa["hpa_max"].is_not_null().sum()), "plans": off.height,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def manifests(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for first in range(0, count, 10):
            names = [f"svc-{i:05d}" for i in range(first, min(first + 10, count))]
            (root / f"team-{first // 100:03d}").mkdir(exist_ok=True)
            text = "".join(DEPLOYMENT.format(name=name) for name in names)
            (root / f"team-{first // 100:03d}" / f"svc-{first:05d}.yaml").write_text(text)
        targets = [
            ResourceTarget(
                WorkloadRef("bench", "Deployment", f"svc-{i:05d}"),
                container,
                {("requests", "cpu"): "120m", ("requests", "memory"): "256Mi", ("limits", "cpu"): None},
            )
            for i in range(count)
            for container in ("app", "sidecar")
        ]
        size = sum(p.stat().st_size for p in root.rglob("*.yaml"))
        t0 = time.perf_counter()
        plan = plan_manifests(root, targets)
        t1 = time.perf_counter()
        apply_plan(plan)
        t2 = time.perf_counter()
        print("| deployments | files | MB | values changed | plan s | apply s | deployments/s |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {count:,} | {len(plan.files)} | {size / 1e6:.1f} | {len(plan.changes):,} | {t1 - t0:.2f} | "
            f"{t2 - t1:.2f} | {count / (t1 - t0):,.0f} |"
        )


def scaling(workloads: int, days: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "ds"
        subprocess.run([sys.executable, "-c", MAKE, str(workloads), str(days), str(target)], check=True)
        out = subprocess.run([sys.executable, "-c", CASE, str(target)], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout)
        print("| workloads | days | Deployments considered | simulated | HPA what-if s | off-hours s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| AuditFlow + {workloads:,} | {days:g} | {r['workloads']:,} | {r['simulated']:,} | {r['hpa_s']:.1f} | "
            f"{r['offhours_s']:.1f} | {r['peak_rss_mb']:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    manifests(args.deployments)
    scaling(args.workloads, args.days)


if __name__ == "__main__":
    main()
