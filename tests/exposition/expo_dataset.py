"""A tiny hand-made Dataset whose exposition can be worked out by hand.

Window: 2026-11-01 00:00 UTC, 12 steps of 300 s (one hour). Cluster ``handmade``.

* shop/web-6d4b9c7f8-abcde (Deployment web, node pi-1): container ``web`` uses 0.1 cores
  every step (30 cpu-seconds per step), has a 0.5-core limit with 25 % throttled periods,
  and is OOMKilled at 00:25:00 + 150 s, i.e. during the step starting 00:25 -> its counters
  restart at the step starting 00:30; container ``log-shipper`` uses 0.02 cores, no requests.
* shop/db-0 (StatefulSet db, node pi-2): Guaranteed, mounts claim data-db-0 (local-path:
  no kubelet volume stats) and reports a postgres database ``shop`` and table ``orders``.
* batch/report-29012345-xk2lp (CronJob report): runs 00:10-00:20, then Completed.
* an unused claim shop/scratch (storage class longhorn: reports stats) and a Released PV.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from kubetally.dataset import Dataset, DatasetInfo
from kubetally.model import columns as c

START = datetime(2026, 11, 1, tzinfo=UTC)
STEP = 300
STEPS = 12
END = START + timedelta(seconds=STEP * STEPS)
CLUSTER = "handmade"
T0 = int(START.timestamp())
WEB = "web-6d4b9c7f8-abcde"
REPORT = "report-29012345-xk2lp"
OOM_AT = START + timedelta(seconds=5 * STEP + 150)
GI = 1 << 30
MI = 1 << 20


def _ts(i: int) -> datetime:
    return START + timedelta(seconds=i * STEP)


def _container(
    ns: str, pod: str, uid: str, name: str, node: str, kind: str, owner: str, **kw: object
) -> dict[str, object]:
    row: dict[str, object] = {
        c.CLUSTER: CLUSTER,
        c.NAMESPACE: ns,
        c.POD: pod,
        c.POD_UID: uid,
        c.CONTAINER: name,
        c.INIT_CONTAINER: False,
        c.NODE: node,
        c.OWNER_KIND: kind,
        c.OWNER_NAME: owner,
        c.CPU_REQUEST_CORES: None,
        c.CPU_LIMIT_CORES: None,
        c.MEMORY_REQUEST_BYTES: None,
        c.MEMORY_LIMIT_BYTES: None,
        c.START_TIME: START - timedelta(days=1),
        c.END_TIME: None,
        c.RESTARTS: 0,
        c.LAST_TERMINATION_REASON: None,
        c.QOS_CLASS: "Burstable",
        c.IMAGE: f"docker.io/library/{name}:1",
    }
    row.update(kw)
    return row


def containers() -> pl.DataFrame:
    rows = [
        _container(
            "shop",
            WEB,
            "11111111-1111-1111-1111-111111111111",
            "web",
            "pi-1",
            "Deployment",
            "web",
            **{
                c.CPU_REQUEST_CORES: 0.25,
                c.CPU_LIMIT_CORES: 0.5,
                c.MEMORY_REQUEST_BYTES: 256 * MI,
                c.MEMORY_LIMIT_BYTES: 512 * MI,
                c.RESTARTS: 1,
                c.LAST_TERMINATION_REASON: "OOMKilled",
            },
        ),
        _container("shop", WEB, "11111111-1111-1111-1111-111111111111", "log-shipper", "pi-1", "Deployment", "web"),
        _container(
            "shop",
            "db-0",
            "22222222-2222-2222-2222-222222222222",
            "postgres",
            "pi-2",
            "StatefulSet",
            "db",
            **{
                c.CPU_REQUEST_CORES: 1.0,
                c.CPU_LIMIT_CORES: 1.0,
                c.MEMORY_REQUEST_BYTES: GI,
                c.MEMORY_LIMIT_BYTES: GI,
                c.QOS_CLASS: "Guaranteed",
            },
        ),
        _container(
            "batch",
            REPORT,
            "33333333-3333-3333-3333-333333333333",
            "report",
            "pi-2",
            "CronJob",
            "report",
            **{
                c.CPU_REQUEST_CORES: 0.1,
                c.MEMORY_REQUEST_BYTES: 128 * MI,
                c.START_TIME: _ts(2),
                c.END_TIME: _ts(4),
                c.LAST_TERMINATION_REASON: "Completed",
            },
        ),
    ]
    return pl.DataFrame(rows)


def usage() -> pl.DataFrame:
    rows = []
    plan = [
        ("shop", WEB, "web", 0.1, 0.25, range(STEPS)),
        ("shop", WEB, "log-shipper", 0.02, None, range(STEPS)),
        ("shop", "db-0", "postgres", 0.5, 0.0, range(STEPS)),
        ("batch", REPORT, "report", 0.05, None, range(2, 4)),
    ]
    for ns, pod, ctr, cpu, throttled, steps in plan:
        for i in steps:
            rows.append(
                {
                    c.CLUSTER: CLUSTER,
                    c.NAMESPACE: ns,
                    c.POD: pod,
                    c.CONTAINER: ctr,
                    c.TIMESTAMP: _ts(i),
                    c.CPU_USAGE_CORES: cpu,
                    c.MEMORY_WORKING_SET_BYTES: 100.0 * MI + i,
                    c.MEMORY_RSS_BYTES: 80.0 * MI,
                    c.FS_READ_BYTES_PER_SECOND: 10.0,
                    c.FS_WRITE_BYTES_PER_SECOND: 20.0,
                    c.CPU_THROTTLED_RATIO: throttled,
                }
            )
    return pl.DataFrame(rows)


def dataset() -> Dataset:
    net = [
        {
            c.CLUSTER: CLUSTER,
            c.NAMESPACE: ns,
            c.POD: pod,
            c.TIMESTAMP: _ts(i),
            c.NETWORK_RECEIVE_BYTES_PER_SECOND: 1000.0,
            c.NETWORK_TRANSMIT_BYTES_PER_SECOND: 500.0,
        }
        for ns, pod, steps in (
            ("shop", WEB, range(STEPS)),
            ("shop", "db-0", range(STEPS)),
            ("batch", REPORT, range(2, 4)),
        )
        for i in steps
    ]
    terminations = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: "shop",
                c.POD: WEB,
                c.CONTAINER: "web",
                c.TIMESTAMP: OOM_AT,
                c.REASON: "OOMKilled",
                c.MEMORY_LIMIT_BYTES: 512 * MI,
            },
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: "batch",
                c.POD: REPORT,
                c.CONTAINER: "report",
                c.TIMESTAMP: _ts(4),
                c.REASON: "Completed",
                c.MEMORY_LIMIT_BYTES: None,
            },
        ]
    )
    wl = [
        (("shop", "Deployment", "web"), 1, (1, 3, 80.0)),
        (("shop", "StatefulSet", "db"), 1, (None, None, None)),
        (("batch", "CronJob", "report"), 1, (None, None, None)),
    ]
    workloads = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: ns,
                c.KIND: kind,
                c.NAME: name,
                c.DESIRED_REPLICAS: rep,
                c.HPA_MIN_REPLICAS: hmin,
                c.HPA_MAX_REPLICAS: hmax,
                c.HPA_TARGET_CPU_UTILIZATION: target,
                c.CREATED_AT: START - timedelta(days=30),
            }
            for (ns, kind, name), rep, (hmin, hmax, target) in wl
        ]
    )
    nodes = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NODE: n,
                c.INSTANCE_TYPE: "k3s",
                c.ARCH: "arm64",
                c.ROLE: role,
                c.CPU_CAPACITY_CORES: 4.0,
                c.CPU_ALLOCATABLE_CORES: 4.0,
                c.MEMORY_CAPACITY_BYTES: 8 * GI,
                c.MEMORY_ALLOCATABLE_BYTES: 8 * GI - 256 * MI,
                c.PODS_CAPACITY: 110,
                c.PODS_ALLOCATABLE: 110,
            }
            for n, role in (("pi-1", "control-plane"), ("pi-2", "worker"))
        ]
    )
    node_usage = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NODE: n,
                c.TIMESTAMP: _ts(i),
                c.CPU_USAGE_CORES: busy,
                c.MEMORY_USED_BYTES: 2.0 * GI,
                c.NETWORK_RECEIVE_BYTES_PER_SECOND: 5000.0,
                c.NETWORK_TRANSMIT_BYTES_PER_SECOND: 2500.0,
            }
            for n, busy in (("pi-1", 1.0), ("pi-2", 0.6))
            for i in range(STEPS)
        ]
    )
    label_rows = [
        ("Pod", "shop", WEB, "app", "web"),
        ("Pod", "shop", WEB, "team", "shop-team"),
        ("Pod", "shop", "db-0", "app", "db"),
        ("Pod", "batch", REPORT, "app.kubernetes.io/name", "report"),
        ("Deployment", "shop", "web", "team", "shop-team"),
        ("Node", "", "pi-1", "kubernetes.io/arch", "arm64"),
        ("Node", "", "pi-2", "kubernetes.io/arch", "arm64"),
        ("Node", "", "pi-1", "node.kubernetes.io/instance-type", "k3s"),
        ("Node", "", "pi-2", "node.kubernetes.io/instance-type", "k3s"),
        ("Namespace", "", "shop", "team", "shop-team"),
    ]
    labels = pl.DataFrame(
        [
            {c.CLUSTER: CLUSTER, c.OBJECT_KIND: k, c.NAMESPACE: ns, c.NAME: n, c.KEY: key, c.VALUE: v}
            for k, ns, n, key, v in label_rows
        ]
    )
    volumes = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: ns,
                c.PVC: pvc,
                c.PV: pv,
                c.STORAGE_CLASS: sc,
                c.CAPACITY_BYTES: cap,
                c.PVC_PHASE: pvc_phase,
                c.PV_PHASE: pv_phase,
                c.RECLAIM_POLICY: policy,
                c.CREATED_AT: START - timedelta(days=9),
            }
            for ns, pvc, pv, sc, cap, pvc_phase, pv_phase, policy in (
                ("shop", "data-db-0", "pvc-aaaa", "local-path", 10 * GI, "Bound", "Bound", "Delete"),
                ("shop", "scratch", "pvc-bbbb", "longhorn", 5 * GI, "Bound", "Bound", "Delete"),
                ("", "", "pvc-old", "local-path", 2 * GI, "", "Released", "Retain"),
            )
        ]
    )
    mounts = pl.DataFrame([{c.CLUSTER: CLUSTER, c.NAMESPACE: "shop", c.PVC: "data-db-0", c.POD: "db-0"}])
    volume_usage = pl.DataFrame(
        [
            {c.CLUSTER: CLUSTER, c.NAMESPACE: "shop", c.PVC: pvc, c.TIMESTAMP: _ts(i), c.USED_BYTES: used}
            for pvc, used in (("data-db-0", 3.0 * GI), ("scratch", 1.0 * MI))
            for i in range(STEPS)
        ]
    )
    log_usage = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: "shop",
                c.POD: WEB,
                c.CONTAINER: "web",
                c.TIMESTAMP: _ts(i),
                c.LOG_BYTES: 1000.0 * (i + 1),
            }
            for i in range(STEPS)
        ]
    )
    database_usage = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.NAMESPACE: "shop",
                c.POD: "db-0",
                c.DATABASE: "shop",
                c.TABLE: table,
                c.TIMESTAMP: _ts(i),
                c.SIZE_BYTES: size + i,
                c.ROWS: rows,
            }
            for table, size, rows in (("", 50.0 * MI, None), ("orders", 20.0 * MI, 1000.0))
            for i in range(STEPS)
        ]
    )
    objects = pl.DataFrame(
        [
            {
                c.CLUSTER: CLUSTER,
                c.KIND: kind,
                c.NAMESPACE: "shop",
                c.NAME: name,
                c.CREATED_AT: START - timedelta(days=3),
                c.ENDPOINTS: ep,
                c.STATUS: "",
                c.FINISHED_AT: None,
                c.OWNER_KIND: "",
                c.OWNER_NAME: "",
                c.TYPE: "",
                c.SELECTOR: "",
                c.REPLICAS: None,
                c.REVISION: None,
                c.TTL_SECONDS_AFTER_FINISHED: None,
            }
            for kind, name, ep in (("ConfigMap", "web-config", None), ("Service", "web", 1), ("Service", "old", 0))
        ]
    )
    info = DatasetInfo(source="handmade", start=START, end=END, step_seconds=STEP)
    return Dataset.create(
        info,
        containers=containers(),
        usage=usage(),
        pod_network=pl.DataFrame(net),
        terminations=terminations,
        workloads=workloads,
        nodes=nodes,
        node_usage=node_usage,
        labels=labels,
        volumes=volumes,
        volume_mounts=mounts,
        volume_usage=volume_usage,
        objects=objects,
        log_usage=log_usage,
        database_usage=database_usage,
    )
