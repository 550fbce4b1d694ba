"""`kubetally cost-diff` on two git refs of a temporary repository, with hand-computed amounts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="git not installed"), pytest.mark.slow]

PRICES = """\
currency: EUR
hours_per_month: 730
nodes:
  - match: {}
    unit: {cpu_per_core_hour: 0.04, memory_per_gib_hour: 0.005}
"""

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
        - name: app
          image: web
          resources:
            requests: {{cpu: {cpu}, memory: 512Mi}}
"""
DB = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      initContainers:
        - {name: migrate, image: m, resources: {requests: {cpu: "2", memory: 64Mi}}}
      containers:
        - {name: db, image: pg, resources: {requests: {cpu: "1", memory: 2Gi}}}
"""
NIGHTLY = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: job, image: j, resources: {requests: {cpu: 500m, memory: 256Mi}}}
"""
API = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: api
          image: api
          resources:
            requests: {cpu: 100m}
            limits: {memory: 256Mi}   # no memory request: Kubernetes uses the limit
"""


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "deploy" / "shop").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "deploy" / "shop" / "kustomization.yaml").write_text("namespace: shop\nresources: [web.yaml, db.yaml]\n")
    (repo / "deploy" / "shop" / "web.yaml").write_text(WEB.format(replicas=2, cpu="250m"))
    (repo / "deploy" / "shop" / "db.yaml").write_text(DB)
    (repo / "deploy" / "shop" / "nightly.yaml").write_text(NIGHTLY)
    (repo / "README.md").write_text("not a manifest\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "tag", "base")
    (repo / "deploy" / "shop" / "web.yaml").write_text(WEB.format(replicas=3, cpu="300m"))
    (repo / "deploy" / "shop" / "nightly.yaml").unlink()
    (repo / "deploy" / "shop" / "api.yaml").write_text(API)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "head")
    (repo / "prices.yaml").write_text(PRICES)
    return repo


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetally",
            "cost-diff",
            "base",
            "HEAD",
            "--repo",
            str(repo),
            "--path",
            "deploy",
            "--prices",
            str(repo / "prices.yaml"),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=repo.parent,
    )


# Hand-computed, 730 h/month, 0.04 EUR/core-h, 0.005 EUR/GiB-h:
#   web  base: 2 x (0.25 x 0.04 + 0.5 x 0.005) x 730 = 18.25; head: 3 x (0.3 x 0.04 + 0.0025) x 730 = 31.755
#   db   (pod request = max(init 2 cores, 1 core), 2 GiB): (2 x 0.04 + 2 x 0.005) x 730 = 65.70 both
#   api  added (memory request from its limit): (0.1 x 0.04 + 0.25 x 0.005) x 730 = 3.8325
#   nightly removed: a CronJob, not priced (run time unknown)
#   total 83.95 -> 101.2875: +17.3375 (+20.7 %); CPU +0.4 +0.1 -0.5 = 0; memory +512Mi +256Mi -256Mi = +512Mi
def test_json_amounts(repo: Path) -> None:
    result = run(repo, "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["monthly_cost_base"] == 83.95
    assert data["monthly_cost_head"] == 101.29
    assert data["monthly_cost_delta"] == 17.34
    rows = {row["name"]: row for row in data["workloads"]}
    assert {name: row["change"] for name, row in rows.items()} == {
        "api": "added",
        "db": "unchanged",
        "nightly": "removed",
        "web": "changed",
    }
    assert rows["web"]["namespace"] == "shop"  # from the kustomization
    assert rows["web"]["monthly_cost_head"] == pytest.approx(31.755)
    assert rows["api"]["monthly_cost_delta"] == pytest.approx(3.8325)
    assert rows["api"]["memory_request_delta_bytes"] == 256 * 2**20
    assert rows["db"]["cpu_request_head_cores"] == 2.0
    assert rows["nightly"]["cpu_request_delta_cores"] == -0.5 and rows["nightly"]["monthly_cost_delta"] == 0.0


def test_markdown_for_a_pull_request(repo: Path) -> None:
    result = run(repo)
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert md.startswith("### kubetally cost diff: `base` → `HEAD`")
    assert (
        "| shop/Deployment/web | changed | 2 → 3 | 500m → 900m (+400m) | 1Gi → 1536Mi (+512Mi) | "
        "18.25 → 31.75 (+13.50) |"
        in md
        or "18.25 → 31.76 (+13.51) |" in md
    )
    assert "| shop/Deployment/api | added | – → 1 |" in md
    assert "| shop/CronJob/nightly | removed |" in md
    assert "db" not in md.split("**Monthly")[0].replace("kubetally", "")  # unchanged rows are left out
    assert "**Monthly cost: 83.95 → 101.29 EUR (+17.34, +20.7%)** · requested CPU ±0, memory +512Mi" in md


def test_fail_above_gates_ci(repo: Path) -> None:
    assert run(repo, "--fail-above", "20").returncode == 0
    gated = run(repo, "--fail-above", "17")
    assert gated.returncode == 1
    assert "grows by 17.34 EUR" in gated.stderr


def test_directories_and_bad_ref(repo: Path, tmp_path: Path) -> None:
    same = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetally",
            "cost-diff",
            str(repo / "deploy"),
            str(repo / "deploy"),
            "--prices",
            str(repo / "prices.yaml"),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["monthly_cost_delta"] == 0
    bad = (
        run(repo, "--fail-above", "1")
        if False
        else subprocess.run(
            [sys.executable, "-m", "kubetally", "cost-diff", "nope", "HEAD", "--repo", str(repo)],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
    )
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_a_file_as_path_and_two_files(repo: Path) -> None:
    # regressions: `--path some/file.yaml` was a FileExistsError; `cost-diff FILE FILE` said "no YAML manifests"
    one = run(repo, "-o", "json").args
    one[one.index("--path") + 1] = "deploy/shop/web.yaml"
    done = subprocess.run([*one, "-o", "json"], capture_output=True, text=True, check=False, cwd=repo.parent)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # only web, in the namespace its folder's kustomization sets: 18.25 -> 31.755 (hand-computed above)
    assert [(w["namespace"], w["name"]) for w in report["workloads"]] == [("shop", "web")]
    assert (
        report["monthly_cost_base"] == pytest.approx(18.25) and report["monthly_cost_head"] == 31.76
    )  # totals in cents
    files = subprocess.run(
        [sys.executable, "-m", "kubetally", "cost-diff", str(repo / "deploy/shop/db.yaml"),
         str(repo / "deploy/shop/web.yaml"), "--prices", str(repo / "prices.yaml"), "-o", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert files.returncode == 0, files.stderr
    both = json.loads(files.stdout)
    assert sorted((w["name"], w["change"]) for w in both["workloads"]) == [("db", "removed"), ("web", "added")]
    assert both["monthly_cost_base"] == pytest.approx(65.70) and both["monthly_cost_head"] == 31.76
