"""Off-hours by the janitor, against the Kubernetes API test server with the AuditFlow objects, read back
with the real kubectl.

The plan comes from ``kubetally scale --demo -o json`` as a user runs it (audit-log-analysis-dev:
``Mon-Fri 06:30-20:30 Europe/Berlin``). The janitor puts it on the Deployment as ``downscaler/uptime``,
then scales it to 0 on Saturday and back to 1 on Monday morning; production workloads, protected
namespaces and ``kubetally.io/protect`` hold; a run killed after a PATCH and run again changes nothing twice;
an object changed by someone since the plan is left as they left it. Times are hand-worked: Berlin is
UTC+1 in December (CET) and UTC+2 in July (CEST).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kubeapi.server import KubeAPIServer
from kubetally.actions.janitor import downscale as d
from kubetally.actions.janitor.client import Client, connection
from kubetally.actions.janitor.execute import Journal, run_changes, start_changes, unfinished_changes
from kubetally.actions.janitor.rules import JanitorRules
from kubetally.errors import ConfigError
from servers import require_binary

DEV = ("Deployment", "auditflow-dev", "audit-log-analysis-dev")
DEV_PATH = "/apis/apps/v1/namespaces/auditflow-dev/deployments/audit-log-analysis-dev"
SATURDAY_NOON = datetime(2026, 12, 12, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
MONDAY_TEN = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_uptime_follows_kube_downscaler_format_and_the_time_zone() -> None:
    office = d.parse_uptime("Mon-Fri 07:30-20:30 Europe/Berlin")
    # Monday 7 December 2026, CET (UTC+1)
    assert not office.is_up(at("2026-12-07T06:29"))  # 07:29 Berlin
    assert office.is_up(at("2026-12-07T06:30"))  # 07:30
    assert office.is_up(at("2026-12-07T19:29"))  # 20:29
    assert not office.is_up(at("2026-12-07T19:30"))  # 20:30: the end is exclusive
    assert not office.is_up(at("2026-12-12T12:00"))  # Saturday
    # Monday 6 July 2026, CEST (UTC+2)
    assert not office.is_up(at("2026-07-06T05:29")) and office.is_up(at("2026-07-06T05:30"))
    weekend = d.parse_uptime("Fri-Mon 10:00-12:00 UTC, Wed 00:00-24:00 UTC")  # wraps over the week end
    assert weekend.is_up(at("2026-12-13T11:00")) and weekend.is_up(at("2026-12-09T23:59"))
    assert not weekend.is_up(at("2026-12-08T11:00"))  # Tuesday
    assert d.parse_uptime("always").is_up(SATURDAY_NOON) and not d.parse_uptime("never").is_up(MONDAY_TEN)
    for bad in ("Mon-Fri 7:30-20:30 Europe/Berlin", "Mon-Fri 20:00-08:00 UTC", "Mon-Fri 08:00-20:00 Mars/Olympus",
                "weekdays"):  # fmt: skip
        with pytest.raises(ValueError, match=r"uptime|time zone|before it ends"):
            d.parse_uptime(bad)


@pytest.fixture(scope="module")
def scale_json(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What ``kubetally scale --demo -o json`` prints (the user's off-hours plan file)."""
    result = subprocess.run([sys.executable, "-m", "kubetally", "scale", "--demo", "-o", "json"],
                            capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def kube(api: KubeAPIServer, tmp_path: Path) -> Iterator[tuple[Client, Path]]:
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    client = Client(connection(config, None))
    try:
        yield client, config
    finally:
        client.close()


def kubectl(config: Path, *args: str) -> str:
    result = subprocess.run([require_binary("kubectl"), "--kubeconfig", str(config), *args],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def live(config: Path, ns: str, name: str) -> tuple[int, dict[str, str]]:
    obj = json.loads(kubectl(config, "get", "deployment", name, "-n", ns, "-o", "json"))
    return int(obj["spec"]["replicas"]), {k: v for k, v in (obj["metadata"].get("annotations") or {}).items()
                                          if k.startswith("downscaler/")}  # fmt: skip


def objects(client: Client) -> list[dict[str, Any]]:
    return [o for kind in ("Namespace", "Deployment", "StatefulSet") for o in client.list(kind)]


def patches(api: KubeAPIServer) -> list[str]:
    return [r.path for r in api.requests if r.method == "PATCH"]


def apply(client: Client, plan: d.ChangePlan, journal: Journal) -> dict[str, int]:
    assert plan.blocked is None, plan.blocked
    return run_changes(start_changes(journal, plan.changes, context="test"), plan.changes, client, journal)


def test_scale_plan_annotated_then_scaled_down_and_up(
    api: KubeAPIServer, kube: tuple[Client, Path], scale_json: str, tmp_path: Path
) -> None:
    client, config = kube
    plans = d.plans_from_scale_json(scale_json)
    assert plans == [d.OffHoursPlan(DEV[1], DEV[0], DEV[2], "Mon-Fri 06:30-20:30 Europe/Berlin")]
    # what a careless plan file could add: a production workload, one in kube-system, a protected one
    extra = [
        d.OffHoursPlan("auditflow", "Deployment", "notification-service", "Mon-Fri 08:00-18:00 UTC"),
        d.OffHoursPlan("kube-system", "Deployment", "coredns", "Mon-Fri 08:00-18:00 UTC"),
        d.OffHoursPlan("auditflow", "StatefulSet", "postgresql", "Mon-Fri 08:00-18:00 UTC"),
        d.OffHoursPlan("auditflow", "Deployment", "no-such-thing", "Mon-Fri 08:00-18:00 UTC"),
    ]
    rules = JanitorRules()
    plan = d.annotate_plan(objects(client), plans + extra, rules=rules)
    assert [c.key() for c in plan.changes] == [DEV]
    refused = {(r.namespace, r.name): r.reason for r in plan.refused}
    assert refused == {
        ("auditflow", "notification-service"): "environment=production is production",
        ("kube-system", "coredns"): "namespace kube-system is protected",
        ("auditflow", "postgresql"): "environment=production is production",
    }
    assert plan.problems == ["Deployment auditflow/no-such-thing: not in the cluster; skipped"]
    assert patches(api) == []  # planning sends nothing

    journal = Journal(tmp_path / "audit.jsonl")
    assert apply(client, plan, journal) == {"changed": 1}
    assert patches(api) == [DEV_PATH]
    patch = next(r for r in api.requests if r.method == "PATCH")
    assert patch.headers.get("content-type", patch.headers.get("Content-Type")) == "application/merge-patch+json"
    assert live(config, "auditflow-dev", "audit-log-analysis-dev") == (
        1, {"downscaler/uptime": "Mon-Fri 06:30-20:30 Europe/Berlin"})  # fmt: skip
    events = [e for e in api.objects("Event") if e["reason"] == "KubetallyJanitorOffHours"]
    assert [e["involvedObject"]["name"] for e in events] == ["audit-log-analysis-dev"]
    # the same plan again: nothing to do
    assert d.annotate_plan(objects(client), plans, rules=rules).changes == []

    # Saturday noon: outside the uptime. A kube-system Deployment annotated by hand (kubectl) is not touched,
    # nor one annotated downscaler/exclude or kubetally.io/protect.
    kubectl(config, "annotate", "deployment", "traefik", "-n", "kube-system", "downscaler/uptime=never")
    kubectl(config, "annotate", "deployment", "mailhog", "-n", "auditflow-dev", "downscaler/uptime=never",
            "downscaler/exclude=true")  # fmt: skip
    kubectl(config, "annotate", "deployment", "load-tester", "-n", "auditflow-dev", "downscaler/uptime=never",
            "kubetally.io/protect=true")  # fmt: skip
    down = d.downscale_plan(objects(client), now=SATURDAY_NOON, rules=rules)
    assert [(c.key(), c.action, c.replicas) for c in down.changes] == [(DEV, "scale-down", 0)]
    assert {(r.namespace, r.name): r.reason for r in down.refused} == {
        ("kube-system", "traefik"): "namespace kube-system is protected",
        ("auditflow-dev", "load-tester"): "annotated kubetally.io/protect: true",
    }
    assert apply(client, down, journal) == {"changed": 1}
    assert live(config, "auditflow-dev", "audit-log-analysis-dev") == (
        0, {"downscaler/uptime": "Mon-Fri 06:30-20:30 Europe/Berlin", "downscaler/original-replicas": "1"})  # fmt: skip
    assert live(config, "auditflow-dev", "mailhog")[0] == 1 and live(config, "auditflow-dev", "load-tester")[0] == 1
    assert d.downscale_plan(objects(client), now=SATURDAY_NOON, rules=rules).changes == []  # already down

    # Monday 10:00 in Berlin: back to the replica count it had, the bookkeeping annotation removed
    up = d.downscale_plan(objects(client), now=MONDAY_TEN, rules=rules)
    assert [(c.key(), c.action, c.replicas) for c in up.changes] == [(DEV, "scale-up", 1)]
    assert apply(client, up, journal) == {"changed": 1}
    assert live(config, "auditflow-dev", "audit-log-analysis-dev") == (
        1, {"downscaler/uptime": "Mon-Fri 06:30-20:30 Europe/Berlin"})  # fmt: skip
    reasons = [e["reason"] for e in api.objects("Event") if e["reason"].startswith("KubetallyJanitor")]
    assert sorted(reasons) == ["KubetallyJanitorOffHours", "KubetallyJanitorScaleDown", "KubetallyJanitorScaleUp"]
    records = journal.records()
    assert [r["event"] for r in records].count("change") == 3 and unfinished_changes(journal) is None


def test_killed_after_a_patch_the_rerun_changes_nothing_twice(
    api: KubeAPIServer, kube: tuple[Client, Path], tmp_path: Path
) -> None:
    client, config = kube
    for name in ("audit-log-analysis-dev", "load-tester"):
        kubectl(config, "annotate", "deployment", name, "-n", "auditflow-dev", "downscaler/uptime=never")
    plan = d.downscale_plan(objects(client), now=SATURDAY_NOON, rules=JanitorRules())
    assert [c.name for c in plan.changes] == ["audit-log-analysis-dev", "load-tester"]
    journal = Journal(tmp_path / "audit.jsonl")
    plan_id = start_changes(journal, plan.changes, context="test")
    # the first run patched audit-log-analysis-dev and was killed before it wrote the record
    assert client.patch(*plan.changes[0].key(), plan.changes[0].patch(), dry_run=False) == "changed"
    before = len(patches(api))
    resume = unfinished_changes(journal)
    assert resume is not None and resume[0] == plan_id and resume[2] == set()
    counts = run_changes(plan_id, resume[1], client, journal, done=resume[2])
    # its stale resourceVersion is refused (409), the object is read back and found already changed
    assert counts == {"already": 1, "changed": 1}
    assert len(patches(api)) == before + 2
    assert set(patches(api)) == {DEV_PATH, DEV_PATH.replace("audit-log-analysis-dev", "load-tester")}
    assert live(config, "auditflow-dev", "load-tester")[0] == 0
    assert unfinished_changes(journal) is None


def test_an_object_changed_since_the_plan_is_left_as_it_is(
    api: KubeAPIServer, kube: tuple[Client, Path], tmp_path: Path
) -> None:
    client, config = kube
    kubectl(
        config, "annotate", "deployment", "audit-log-analysis-dev", "-n", "auditflow-dev", "downscaler/uptime=never"
    )
    plan = d.downscale_plan(objects(client), now=SATURDAY_NOON, rules=JanitorRules())
    kubectl(config, "patch", "deployment", "audit-log-analysis-dev", "-n", "auditflow-dev", "--type=merge",
            "-p", '{"spec": {"replicas": 3}}')  # fmt: skip
    journal = Journal(tmp_path / "audit.jsonl")
    assert run_changes(start_changes(journal, plan.changes, context="t"), plan.changes, client, journal) == {
        "modified": 1
    }
    assert live(config, "auditflow-dev", "audit-log-analysis-dev")[0] == 3


def test_blast_radius_and_bad_plan_files(api: KubeAPIServer, kube: tuple[Client, Path]) -> None:
    client, config = kube
    for name in ("audit-log-analysis-dev", "load-tester", "mailhog"):
        kubectl(config, "annotate", "deployment", name, "-n", "auditflow-dev", "downscaler/uptime=never")
    plan = d.downscale_plan(objects(client), now=SATURDAY_NOON, rules=JanitorRules(max_deletions=2))
    assert plan.blocked == "3 changes planned, more than the limit of 2 (--max-deletions): nothing changed"
    kubectl(config, "annotate", "deployment", "mailhog", "-n", "auditflow-dev", "--overwrite", "downscaler/uptime=soon")
    plan = d.downscale_plan(objects(client), now=SATURDAY_NOON, rules=JanitorRules())
    assert [c.name for c in plan.changes] == ["audit-log-analysis-dev", "load-tester"]
    assert plan.problems == ["Deployment auditflow-dev/mailhog: downscaler/uptime 'soon' is not an uptime "
                             "(e.g. 'Mon-Fri 07:30-20:30 Europe/Berlin', always, never); kept"]  # fmt: skip
    for text, message in (("{", "not JSON"), ('{"hpa": []}', "no 'offhours' list"),
                          ('{"offhours": [{"kind": 1}]}', "offhours\\[0\\] has no namespace")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            d.plans_from_scale_json(text)


def janitor(config: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kubetally", "janitor", "--kubeconfig", str(config),
           "--audit-log", str(tmp_path / "audit.jsonl"), *args]  # fmt: skip
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})  # fmt: skip


def test_the_command_dry_run_then_yes(
    api: KubeAPIServer, kube: tuple[Client, Path], scale_json: str, tmp_path: Path
) -> None:
    _client, config = kube
    plan_file = tmp_path / "scale.json"
    plan_file.write_text(scale_json)
    dry = janitor(config, tmp_path, "--offhours", str(plan_file))
    assert dry.returncode == 0, dry.stderr
    assert (
        "annotate" in dry.stdout and "audit-log-analysis-dev" in dry.stdout and "dry-run: nothing changed" in dry.stdout
    )
    assert patches(api) == [] and not (tmp_path / "audit.jsonl").exists()
    done = janitor(config, tmp_path, "--offhours", str(plan_file), "--yes")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "audit-log-analysis-dev" in line)
    assert [cell.strip() for cell in row.split("│")][2:4] == ["annotate", "Deployment"] and "changed" in row
    assert "1 changed; audit log" in done.stderr
    down = janitor(config, tmp_path, "--downscale", "--now", "2026-12-12T11:00:00Z", "--yes", "-o", "json")
    assert down.returncode == 0, down.stderr
    out = json.loads(down.stdout)
    assert [c["action"] for c in out["changes"]] == ["scale-down"] and out["run"]["counts"] == {"changed": 1}
    assert live(config, "auditflow-dev", "audit-log-analysis-dev")[0] == 0
    blocked = janitor(config, tmp_path, "--downscale", "--now", "2026-12-14T09:00:00Z", "--max-deletions", "0", "--yes")
    assert blocked.returncode == 4 and "nothing changed" in blocked.stderr
    assert live(config, "auditflow-dev", "audit-log-analysis-dev")[0] == 0
    both = janitor(config, tmp_path, "--downscale", "--offhours", str(plan_file))
    assert both.returncode == 2 and "give one of them" in both.stderr and "Traceback" not in both.stderr
