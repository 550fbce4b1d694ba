#!/usr/bin/env python3
"""Writes deploy/grafana/*.json, the provisionable Grafana dashboards (run after changing a panel).

Every panel's query is run against a real Prometheus by tests/grafana/test_panels.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "deploy" / "grafana"
DS = {"type": "prometheus", "uid": "${datasource}"}
LABELS = ("team", "app", "component", "environment", "finops_tier")
SEL = ", ".join(f'{k}=~"${k}"' for k in LABELS)


def datasource() -> dict[str, Any]:
    return {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1}  # fmt: skip


def label_var(key: str) -> dict[str, Any]:
    return {
        "name": key, "label": key, "type": "query", "datasource": DS,
        "query": {"query": f"label_values(kubetally_workload_cost_per_hour, {key})", "refId": key},
        "definition": f"label_values(kubetally_workload_cost_per_hour, {key})",
        "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
        "refresh": 2, "sort": 1,
    }  # fmt: skip


def panel(pid: int, title: str, exprs: list[tuple[str, str]], *, kind: str = "timeseries", unit: str = "none",
          x: int = 0, y: int = 0, w: int = 12, h: int = 8, description: str = "") -> dict[str, Any]:  # fmt: skip
    return {
        "id": pid, "type": kind, "title": title, "description": description, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right"}} if kind == "timeseries" else {},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": legend, "datasource": DS}
                    for i, (e, legend) in enumerate(exprs)],
    }  # fmt: skip


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "tags": ["kubetally", "finops"], "schemaVersion": 39, "version": 1,
        "editable": True, "timezone": "utc", "time": {"from": "now-7d", "to": "now"}, "refresh": "5m",
        "templating": {"list": [datasource(), *variables]}, "annotations": {"list": []}, "panels": panels,
        "links": [], "graphTooltip": 1,
    }  # fmt: skip


def showback() -> dict[str, Any]:
    p = [
        panel(1, "Monthly cost by team", [(f"sum by (team) (kubetally_workload_monthly_cost{{{SEL}}})", "{{team}}")],
              kind="bargauge", unit="currencyUSD", w=8),
        panel(2, "Cost per hour by app", [(f"sum by (app) (kubetally_workload_cost_per_hour{{{SEL}}})", "{{app}}")],
              unit="currencyUSD", x=8, w=16),
        panel(3, "Monthly cost by component", [(f"sum by (component) (kubetally_workload_monthly_cost{{{SEL}}})",
              "{{component}}")], kind="piechart", unit="currencyUSD", y=8, w=8),
        panel(4, "Monthly cost by environment and tier",
              [(f"sum by (environment, finops_tier) (kubetally_workload_monthly_cost{{{SEL}}})",
                "{{environment}} / {{finops_tier}}")], kind="bargauge", unit="currencyUSD", x=8, y=8, w=8),
        panel(5, "CPU efficiency by team (usage within requests / requests)",
              [(f'avg by (team) (kubetally_workload_efficiency_ratio{{resource="cpu", {SEL}}})', "{{team}}")],
              kind="bargauge", unit="percentunit", x=16, y=8, w=8),
        panel(6, "Waste (requested, unused) per hour by team",
              [(f"sum by (team) (kubetally_workload_waste_cost_per_hour{{{SEL}}})", "{{team}}")],
              unit="currencyUSD", y=16),
        panel(7, "Cluster: nodes per month (OpenCost names) and idle",
              [("sum(node_total_hourly_cost) * 730", "nodes (node_total_hourly_cost x 730)"),
               ("sum(kubetally_node_idle_cost_per_hour) * 730", "idle")], kind="stat", unit="currencyUSD",
              x=12, y=16),
        panel(8, "Memory cost per namespace (OpenCost query)",
              [("sum by (namespace) (container_memory_allocation_bytes / 1024 / 1024 / 1024 "
                "* on (instance) group_left() node_ram_hourly_cost)", "{{namespace}}")],
              unit="currencyUSD", y=24, w=24,
              description="The example query of OpenCost's docs, on kubetally's OpenCost-compatible series."),
    ]  # fmt: skip
    return dashboard("kubetally-showback", "kubetally / Showback by label", p, [label_var(k) for k in LABELS])


def nodes() -> dict[str, Any]:
    p = [
        panel(1, "Node CPU busy (node-exporter)",
              [('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))', "{{instance}}")],
              unit="percentunit"),
        panel(2, "Node memory used (node-exporter)",
              [("node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes", "{{instance}}")], unit="bytes", x=12),
        panel(3, "CPU requested / allocatable per node (kube-state-metrics)",
              [('sum by (node) (kube_pod_container_resource_requests{resource="cpu"}) / '
                'sum by (node) (kube_node_status_allocatable{resource="cpu"})', "{{node}}")], unit="percentunit", y=8),
        panel(4, "Stranded CPU: allocatable nobody requested", [("kubetally_node_cpu_stranded_cores", "{{node}}")],
              kind="bargauge", unit="none", x=12, y=8),
        panel(5, "Stranded memory", [("kubetally_node_memory_stranded_bytes", "{{node}}")], kind="bargauge",
              unit="bytes", y=16),
        panel(6, "Requested vs used p95 CPU per node",
              [("kubetally_node_cpu_requested_cores", "{{node}} requested"),
               ("kubetally_node_cpu_used_p95_cores", "{{node}} used p95")], kind="bargauge", x=12, y=16),
        panel(7, "Nodes the pods need (first-fit-decreasing)", [("kubetally_nodes_needed", "{{scenario}}")],
              kind="stat", y=24),
        panel(8, "Idle cost per node per month", [("kubetally_node_idle_cost_per_hour * 730", "{{node}}")],
              kind="bargauge", unit="currencyUSD", x=12, y=24),
    ]  # fmt: skip
    return dashboard("kubetally-nodes", "kubetally / Nodes and stranded capacity", p, [])


def rightsizing() -> dict[str, Any]:
    p = [
        panel(1, "CPU requests: current vs recommended (per pod)",
              [('sum by (namespace, owner_name, state) (kubetally_container_cpu_request_cores)',
                "{{namespace}}/{{owner_name}} {{state}}")], kind="bargauge", w=24),
        panel(2, "CPU requested vs used (cAdvisor, kube-state-metrics)",
              [('sum by (namespace, pod) (kube_pod_container_resource_requests{resource="cpu"})', "{{pod}} requested"),
               ('sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=""}[$__rate_interval]))',
                "{{pod}} used")], y=8),
        panel(3, "p95 CPU usage vs request", [("kubetally_container_cpu_usage_p95_cores", "{{owner_name}} p95"),
              ('kubetally_container_cpu_request_cores{state="current"}', "{{owner_name}} request")],
              kind="bargauge", x=12, y=8),
        panel(4, "Memory peak vs request", [("kubetally_container_memory_peak_bytes", "{{owner_name}} peak"),
              ('kubetally_container_memory_request_bytes{state="current"}', "{{owner_name}} request")],
              kind="bargauge", unit="bytes", y=16),
        panel(5, "Top monthly savings", [("topk(10, kubetally_recommendation_monthly_saving)",
              "{{namespace}}/{{owner_name}}")], kind="bargauge", unit="currencyUSD", x=12, y=16),
        panel(6, "CPU throttling (cAdvisor)",
              [('sum by (pod) (rate(container_cpu_cfs_throttled_periods_total[$__rate_interval])) / '
                'sum by (pod) (rate(container_cpu_cfs_periods_total[$__rate_interval]))', "{{pod}}")],
              unit="percentunit", y=24, w=24),
    ]  # fmt: skip
    return dashboard("kubetally-rightsizing", "kubetally / Right-sizing: requests vs p95 usage", p, [])


def waste() -> dict[str, Any]:
    p = [
        panel(1, "Findings by rule", [("sum by (rule) (kubetally_waste_findings)", "{{rule}}")], kind="bargauge"),
        panel(2, "Waste per month by namespace", [("sum by (namespace) (kubetally_waste_monthly_cost)",
              "{{namespace}}")], kind="bargauge", unit="currencyUSD", x=12),
        panel(3, "Findings by severity", [("sum by (severity) (kubetally_waste_findings)", "{{severity}}")],
              kind="piechart", y=8),
        panel(4, "Released or unbound PersistentVolumes (kube-state-metrics)",
              [('sum by (persistentvolume) (kube_persistentvolume_status_phase{phase=~"Released|Available"})',
                "{{persistentvolume}}")], kind="stat", x=12, y=8),
    ]  # fmt: skip
    return dashboard("kubetally-waste", "kubetally / Waste", p, [])


def storage() -> dict[str, Any]:
    p = [
        panel(1, "Volume used bytes (kubelet)", [("kubelet_volume_stats_used_bytes", "{{namespace}}/{{persistentvolumeclaim}}")],
              unit="bytes"),
        panel(2, "Volume growth per day", [("deriv(kubelet_volume_stats_used_bytes[1h]) * 86400",
              "{{namespace}}/{{persistentvolumeclaim}}")], unit="bytes", x=12),
        panel(3, "Table size (postgres_exporter)", [("pg_stat_user_tables_table_size_bytes", "{{datname}}.{{relname}}")],
              unit="bytes", y=8),
        panel(4, "Database size", [("pg_database_size_bytes", "{{datname}}")], unit="bytes", x=12, y=8),
        panel(5, "Volume fill (used / capacity)", [("kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes",
              "{{namespace}}/{{persistentvolumeclaim}}")], kind="bargauge", unit="percentunit", y=16),
        panel(6, "Volume cost per month (OpenCost names)",
              [("pv_hourly_cost * on (persistentvolume) group_left() (last_over_time(kube_persistentvolume_capacity_bytes[1d]) / 1024 / 1024 / 1024) * 730",
                "{{persistentvolume}}")], kind="bargauge", unit="currencyUSD", x=12, y=16,
              description="Needs kube-state-metrics and kubetally scraped by the same Prometheus."),
    ]  # fmt: skip
    return dashboard("kubetally-storage", "kubetally / Storage growth", p, [])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in (("showback", showback), ("nodes", nodes), ("rightsizing", rightsizing), ("waste", waste),
                       ("storage", storage)):  # fmt: skip
        (OUT / f"kubetally-{name}.json").write_text(json.dumps(make(), indent=2) + "\n")
    (OUT / "provisioning.yaml").write_text(PROVISIONING)


PROVISIONING = """\
# Grafana provisioning: copy to /etc/grafana/provisioning/dashboards/kubetally.yaml and the JSON files
# beside it to /var/lib/grafana/dashboards/kubetally/ (or mount this folder there, e.g. a ConfigMap).
apiVersion: 1
providers:
  - name: kubetally
    folder: kubetally
    type: file
    disableDeletion: false
    allowUiUpdates: true
    updateIntervalSeconds: 60
    options:
      path: /var/lib/grafana/dashboards/kubetally
      foldersFromFilesStructure: false
"""

if __name__ == "__main__":
    main()
