"""Hypothesis on kustomize trees: a generated base shared by 1-3 overlays (namePrefix, nameSuffix, namespace, a
strategic-merge patch of their own resources, Guaranteed pods) and a generated recommendation for one overlay's
rendered workload.

Checked with the real ``kubectl kustomize`` before and after: the other overlays render exactly as before; the
chosen one renders the same objects except resource values, its requests are the recommended ones, requests <=
limits, its QoS class is kept and it validates (strict) -- or it is refused with a reason and no file changes; a
second plan changes nothing.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kubetally.actions.manifests import ResourceTarget, WorkloadRef, apply_plan, plan_manifests
from kubetally.actions.manifests.invariants import qos_class
from kubetally.model.quantity import parse_quantity

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kubernetes-client) not installed"),
]
FIELDS = [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")]
VALUES = {"cpu": st.sampled_from(["50m", "100m", "250m", "1", "1500m"]),
          "memory": st.sampled_from(["64Mi", "128Mi", "1Gi", "1500Mi"])}  # fmt: skip


@st.composite
def resources(draw: st.DrawFn, guaranteed: bool) -> dict[str, dict[str, str]]:
    if guaranteed:
        req = {r: draw(VALUES[r]) for r in ("cpu", "memory")}
        return {"requests": dict(req), "limits": dict(req)}
    out: dict[str, dict[str, str]] = {}
    for section, resource in draw(st.lists(st.sampled_from(FIELDS), unique=True)):
        out.setdefault(section, {})[resource] = draw(VALUES[resource])
    for resource in ("cpu", "memory"):  # a valid starting point: requests <= limits
        req, lim = out.get("requests", {}).get(resource), out.get("limits", {}).get(resource)
        if req and lim and parse_quantity(req) > parse_quantity(lim):
            out["limits"][resource] = req
    return out


def block(res: dict[str, dict[str, str]], indent: int) -> str:
    pad = " " * indent
    if not res:
        return ""
    lines = [f"{pad}resources:"]
    for section, values in res.items():
        lines.append(f"{pad}  {section}:")
        lines.extend(f"{pad}    {k}: {v!r}" if draw_quote else f"{pad}    {k}: {v}" for k, v in values.items()
                     for draw_quote in [k == "cpu"])  # fmt: skip
    return "\n".join(lines) + "\n"


@st.composite
def tree(draw: st.DrawFn) -> dict[str, Any]:
    guaranteed = draw(st.booleans())
    base = draw(resources(guaranteed))
    overlays = []
    for i in range(draw(st.integers(1, 3))):
        overlays.append({
            "name": f"o{i}",
            "prefix": draw(st.sampled_from(["", f"p{i}-"])),
            "suffix": draw(st.sampled_from(["", f"-s{i}"])),
            "namespace": draw(st.sampled_from(["", f"ns{i}"])),
            "patch": draw(st.none() | resources(guaranteed)) if not guaranteed else None,
        })  # fmt: skip
    if all(o["prefix"] == o["suffix"] == o["namespace"] == "" for o in overlays[1:]) and len(overlays) > 1:
        overlays[1]["prefix"] = "p1-"  # two overlays rendering one name are two views of one workload
    chosen = draw(st.integers(0, len(overlays) - 1))
    change: dict[tuple[str, str], str | None] = {}
    for section, resource in draw(st.lists(st.sampled_from(FIELDS), min_size=1, unique=True)):
        change[(section, resource)] = (
            draw(st.none() | VALUES[resource]) if section == "limits" else draw(VALUES[resource])
        )
    return {"base": base, "overlays": overlays, "chosen": chosen, "change": change}


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27  # pinned
{resources}"""


def write(root: Path, case: dict[str, Any]) -> None:
    (root / "base").mkdir(parents=True)
    (root / "base/kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    (root / "base/deployment.yaml").write_text(DEPLOYMENT.format(resources=block(case["base"], 8)))
    for o in case["overlays"]:
        folder = root / "overlays" / o["name"]
        folder.mkdir(parents=True)
        keys = (("namePrefix", "prefix"), ("nameSuffix", "suffix"), ("namespace", "namespace"))
        text = "".join(f"{key}: {o[field]}\n" for key, field in keys if o[field])
        text += "resources:\n- ../../base\n"
        if o["patch"]:
            text += "patches:\n- path: resources.yaml\n"
            (folder / "resources.yaml").write_text(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
                "      containers:\n      - name: web\n" + block(o["patch"], 8)
            )
        (folder / "kustomization.yaml").write_text(text)


def render(folder: Path) -> dict[str, Any]:
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True).stdout
    [doc] = [d for d in YAML(typ="safe", pure=True).load_all(out) if d]
    return doc


def container_resources(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]["containers"][0].get("resources") or {}


def stripped(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["spec"]["template"]["spec"]["containers"][0].pop("resources", None)
    return doc


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree())
def test_generated_kustomize_trees_keep_other_overlays_and_the_invariants(case: dict[str, Any]) -> None:
    with TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root, case)
        folders = [root / "overlays" / o["name"] for o in case["overlays"]]
        before = {f.name: render(f) for f in folders}
        o = case["overlays"][case["chosen"]]
        ref = WorkloadRef(o["namespace"] or "default", "Deployment", f"{o['prefix']}web{o['suffix']}")
        files = snapshot(root)
        plan = plan_manifests(root, [ResourceTarget(ref, "web", case["change"])])
        mine = [r for r in plan.objects if r.ref == ref or r.file.parent.name == o["name"]]
        if not mine:  # the recommendation is what the manifest already says: nothing to write
            assert plan.files == () and ref in plan.workloads
            return
        apply_plan(plan)
        after = {f.name: render(f) for f in folders}
        for name, rendered in before.items():
            if name != o["name"]:
                assert after[name] == rendered, f"overlay {name} renders differently"
        was, now = before[o["name"]], after[o["name"]]
        if any(r.status == "refused" for r in mine):
            assert all(r.reason for r in mine if r.status == "refused")
            assert snapshot(root) == files
            return
        assert stripped(now) == stripped(was)
        kubernetes_validate.validate(now, "1.32", strict=True)
        res = container_resources(now)
        for (section, resource), want in case["change"].items():
            if section == "requests":
                assert parse_quantity(str(res["requests"][resource])) == parse_quantity(want)
        for resource, value in (res.get("requests") or {}).items():
            limit = (res.get("limits") or {}).get(resource)
            assert limit is None or parse_quantity(str(value)) <= parse_quantity(str(limit))
        assert qos_class({"web": res}) == qos_class({"web": container_resources(was)})
        assert plan_manifests(root, [ResourceTarget(ref, "web", case["change"])]).files == ()
