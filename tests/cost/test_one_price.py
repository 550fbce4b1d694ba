"""One price of requested capacity (kubetally.model.unit_prices): a container's monthly cost at its
current request is the same number in showback, rightsize (before), scale and cost-diff.

The simulated AuditFlow cluster cut down to one node (pi-agent-1, 4 cores, 8390705152 bytes) and the
pods on it, priced by a hand-made owned-hardware rule:

    fixed  = 73 / (10 months x 730 h)        = 0.01 per hour
    power  = (100 W + 1000 W x u) x 1 per kWh = 0.1 + u per hour      (u: CPU utilization)
    cpu_share 0.5  ->  per core-hour = (0.11 + u) x 0.5 / 4
                       per GiB-hour  = (0.11 + u) x 0.5 / (8390705152 / 2^30)

audit-event-generator (1 replica) requests 150m and 192Mi (0.1875 GiB); over the window it costs
``730 x (0.15 x per core-hour + 0.1875 x per GiB-hour)`` a month at the node's mean utilization ū.
Before, rightsize, scale and cost-diff priced requests at idle power (u = 0) while showback charged the
power each step's load draws, so the four disagreed.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from kubetally.cli import app
from kubetally.dataset import Dataset, save
from kubetally.model import schema
from kubetally.simulate import ScenarioConfig, simulate

NODE = "pi-agent-1"
PRICES = """currency: USD
hours_per_month: 730
cpu_share: 0.5
nodes:
  - match: {}
    owned: {purchase_price: 73, lifetime_months: 10, power_idle_watts: 100, power_max_watts: 1100,
            electricity_per_kwh: 1, overhead_per_month: 0}
storage: {default_per_gib_month: 0}
"""
MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata: {name: audit-event-generator, namespace: auditflow}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: audit-event-generator
          resources: {requests: {cpu: 150m, memory: 192Mi}}
"""


def _one_node() -> Dataset:
    ds = simulate(ScenarioConfig(days=2, step_seconds=300))
    containers = ds.containers.filter(pl.col("node") == NODE)
    pods = containers.select("cluster", "namespace", "pod").unique()
    owners = containers.select(
        "cluster", "namespace", pl.col("owner_kind").alias("kind"), pl.col("owner_name").alias("name")
    ).unique()
    return ds.with_frames(
        nodes=ds.nodes.filter(pl.col("node") == NODE),
        node_usage=ds.node_usage.filter(pl.col("node") == NODE),
        containers=containers,
        usage=ds.usage.join(pods.lazy(), on=["cluster", "namespace", "pod"]),
        workloads=ds.workloads.join(owners, on=["cluster", "namespace", "kind", "name"]),
        volume_mounts=ds.table(schema.VOLUME_MOUNTS).join(pods, on=["cluster", "namespace", "pod"]),
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    root = tmp_path_factory.mktemp("one-price")
    ds = _one_node()
    save(ds, root / "dataset")
    (root / "prices.yaml").write_text(PRICES)
    (root / "basis.yaml").write_text("basis: request\nidle: separate\n")
    for tree in ("base", "head"):
        (root / tree).mkdir()
        (root / tree / "deploy.yaml").write_text(MANIFEST)
    u = ds.node_usage.select((pl.col("cpu_usage_cores") / 4.0).clip(0.0, 1.0).mean()).collect().item()
    hourly = 0.11 + u
    expected = 730 * (0.15 * hourly * 0.5 / 4 + 0.1875 * hourly * 0.5 / (8390705152 / 2**30))
    return root, root / "dataset", expected


def _json(*args: str) -> object:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_container_costs_the_same_in_every_command(saved: tuple[Path, Path, float]) -> None:
    root, dataset, expected = saved
    prices = str(root / "prices.yaml")

    rows = _json(
        "showback",
        "-d",
        str(dataset),
        "--prices",
        prices,
        "--allocation",
        str(root / "basis.yaml"),
        "--by",
        "controller",
        "-o",
        "json",
    )
    showback = next(float(r["monthly_projection"]) for r in rows if r["controller"] == "audit-event-generator")

    recs = _json("rightsize", "-d", str(dataset), "--prices", prices, "-o", "json")
    rightsize = next(r["monthly_cost_current"] for r in recs if r["owner_name"] == "audit-event-generator")

    unit = _json("scale", "-d", str(dataset), "--prices", prices, "-o", "json")["prices"]
    scale = 730 * (0.15 * unit["cpu_per_core_hour"] + 0.1875 * unit["memory_per_gib_hour"])

    diff = _json(
        "cost-diff", str(root / "base"), str(root / "head"), "--dataset", str(dataset), "--prices", prices, "-o", "json"
    )
    cost_diff = diff["monthly_cost_base"]

    assert {"showback": showback, "rightsize": rightsize, "scale": round(scale, 2), "cost-diff": cost_diff} == {
        "showback": round(expected, 2),
        "rightsize": round(expected, 2),
        "scale": round(expected, 2),
        "cost-diff": round(expected, 2),
    }
