"""Hypothesis: generated manifests in many YAML styles survive rewriting with only resource lines changed.

The generated pods include templates, anchors, merge keys, Guaranteed pods and drifted values; for each
the written file parses, only resource values differ, the object validates, requests <= limits and the
QoS class is kept -- or the object is refused with a reason and the file is untouched.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kubetally.actions.manifests import ResourceTarget, WorkloadRef, apply_plan, plan_manifests
from kubetally.actions.manifests.invariants import qos_class
from kubetally.model.quantity import parse_quantity

RESOURCE_LINE = re.compile(r"^\s*(?:- )?(resources|requests|limits|cpu|memory)\s*:")
FIELDS = [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")]
CPU = st.sampled_from(["5m", "100m", "250m", "1", "2", "1500m"])
MEMORY = st.sampled_from(["16Mi", "64Mi", "128Mi", "1Gi", "1500Mi"])


@st.composite
def styled_value(draw: st.DrawFn, resource: str) -> str:
    value = draw(CPU if resource == "cpu" else MEMORY)
    quote = draw(st.sampled_from(["", '"', "'"]))
    comment = draw(st.sampled_from(["", "  # tuned", " #x"]))
    return f"{quote}{value}{quote}{comment}"


@st.composite
def container(draw: st.DrawFn, name: str, ind: int, dash: str, guaranteed: bool) -> tuple[list[str], dict[str, Any]]:
    """Lines of one container (relative to col 0 of the `- `), and its plain resources."""
    sp = " " * ind
    lines = [f"{dash}name: {name}"]
    pad = " " * len(dash)
    image = draw(st.sampled_from(["nginx", '"redis:7"', "x/y@sha256:abc"]))
    lines.append(f"{pad}image: {image}")
    if draw(st.booleans()):
        lines.append(f"{pad}# a comment about ports")
        lines.append(f"{pad}ports:")
        lines.append(f"{pad}- containerPort: 8080")
    layout = draw(
        st.sampled_from(
            ["absent", "empty-flow", "block", "flow-sections", "null"] * 4 + ["template", "merge", "anchor"]
        )
    )
    resources: dict[str, Any] = {}
    present = draw(st.lists(st.sampled_from(FIELDS), unique=True))
    for section, resource in present:
        resources.setdefault(section, {})[resource] = draw(styled_value(resource))
    if guaranteed:
        layout = "block"
        cpu, memory = draw(CPU), draw(MEMORY)
        resources = {s: {"cpu": cpu, "memory": memory} for s in ("requests", "limits")}
    if layout == "template":
        lines += [f"{pad}resources:", f"{pad}{sp}requests:", f'{pad}{sp}{sp}cpu: "{{{{ .Values.cpu }}}}"']
    elif layout == "merge":
        lines += [f"{pad}resources:", f"{pad}{sp}<<: {{requests: {{cpu: 100m}}}}", f"{pad}{sp}limits: {{cpu: 1}}"]
    elif layout == "anchor":
        lines += [f"{pad}resources: &res-{name}", f"{pad}{sp}requests: {{memory: 64Mi}}"]
    elif layout == "empty-flow" or (layout in ("block", "flow-sections") and not resources):
        lines.append(f"{pad}resources: {{}}")
        resources = {}
    elif layout == "null":
        lines.append(f"{pad}resources:")
        resources = {}
    elif layout == "block":
        lines.append(f"{pad}resources:")
        for section in draw(st.permutations(sorted(resources))):
            lines.append(f"{pad}{sp}{section}:")
            if draw(st.booleans()):
                lines.append(f"{pad}{sp}{sp}# about {section}")
            for resource, value in resources[section].items():
                lines.append(f"{pad}{sp}{sp}{resource}: {value}")
    elif layout == "flow-sections":
        lines.append(f"{pad}resources:")
        for section, values in resources.items():
            inner = ", ".join(f"{k}: {v.split('#')[0].strip()}" for k, v in values.items())
            lines.append(f"{pad}{sp}{section}: {{{inner}}}")
    if draw(st.booleans()):
        lines += [f"{pad}env:", f"{pad}- name: A", f'{pad}  value: "1"', f"{pad}# - name: B"]
    if draw(st.booleans()):  # a block scalar whose content looks like a comment, as the last key
        lines += [f"{pad}command:", f"{pad}- |", f"{pad}  echo start", f"{pad}  # not a comment"]
    plain = YAML(typ="safe", pure=True).load("\n".join(lines))[0]
    return lines, plain.get("resources") or {}


@st.composite
def manifest(draw: st.DrawFn) -> tuple[str, list[ResourceTarget], dict[str, dict[str, Any]]]:
    ind = draw(st.sampled_from([2, 4]))
    sp = " " * ind
    dash_indented = draw(st.booleans())
    dash = draw(st.sampled_from(["- ", "-   "])) if ind == 4 else "- "
    seq_pad = sp if dash_indented else ""
    kind = draw(st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "CronJob"]))
    guaranteed = draw(st.integers(0, 4)) == 0
    # containers key col: spec.template.spec.containers (CronJob: spec.jobTemplate.spec.template.spec)
    base = (5 if kind == "CronJob" else 3) * ind
    names = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    init_names = [f"init{i}" for i in range(draw(st.integers(0, 1)))]
    out = [
        "# generated",
        "---" if draw(st.booleans()) else "# no separator",
        "apiVersion: batch/v1" if kind == "CronJob" else "apiVersion: apps/v1",
        f"kind: {kind}",
        "metadata:",
        f"{sp}name: app  # inline comment",
        f'{sp}labels: {{team: "core"}}',
        "spec:",
    ]
    if kind == "CronJob":
        out += [f"{sp}schedule: '*/5 * * * *'", f"{sp}jobTemplate:", f"{sp * 2}spec:", f"{sp * 3}template:"]
        out += [f"{sp * 4}spec:", f"{sp * 5}restartPolicy: Never"]
    else:
        out += [f"{sp}serviceName: app"] if kind == "StatefulSet" else []
        out += [f"{sp}selector: {{matchLabels: {{app: app}}}}", f"{sp}template:"]
        out += [f"{sp}{sp}metadata: {{labels: {{app: app}}}}", f"{sp}{sp}spec:"]
    originals: dict[str, dict[str, Any]] = {}
    for key, group in (("initContainers", init_names), ("containers", names)):
        if not group:
            continue
        out.append(f"{' ' * base}{key}:")
        for name in group:
            lines, plain = draw(container(name, ind, dash, guaranteed))
            originals[name] = plain
            out += [" " * base + seq_pad + line for line in lines]
    out += [
        "---",
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        f"{sp}name: app",
        "spec:",
        f"{sp}ports: [{{port: 80}}]",
    ]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(out) + (newline if draw(st.booleans()) else "")
    targets = []
    for name in names + init_names:
        change = {}
        for fld in draw(st.lists(st.sampled_from(FIELDS), unique=True, min_size=1)):
            change[fld] = draw(st.none() | (CPU if fld[1] == "cpu" else MEMORY))
        live = {fld: draw(st.none() | (CPU if fld[1] == "cpu" else MEMORY)) for fld in FIELDS if draw(st.booleans())}
        targets.append(ResourceTarget(WorkloadRef("default", kind, "app"), name, change, live=live))
    return text, targets, originals


def _normalized(resources: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    return {s: {r: parse_quantity(v) for r, v in vals.items()} for s, vals in resources.items() if vals}


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(doc)
    return list(pod.get("initContainers", [])) + list(pod["containers"])


BROKEN = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: c0
        image: nginx
        resources:
          requests:
            cpu: 250m
          limits:
            cpu: 5m
"""
"""Found by Hypothesis: the request is already above the limit and the recommendation keeps it (a no-op)."""


def _broken_case(change: dict[tuple[str, str], str | None]) -> tuple[str, list[ResourceTarget], dict[str, Any]]:
    return BROKEN, [ResourceTarget(WorkloadRef("default", "Deployment", "app"), "c0", change)], {}


@pytest.mark.slow
@example(_broken_case({("requests", "cpu"): "250m"}))
@example(_broken_case({("requests", "memory"): "64Mi"}))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifest())
def test_generated_manifests_keep_the_invariants_or_are_refused(
    case: tuple[str, list[ResourceTarget], dict[str, dict[str, Any]]],
) -> None:
    text, targets, _ = case
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_bytes(text.encode())
        plan = plan_manifests(Path(tmp), targets)
        apply_plan(plan)
        new = path.read_bytes().decode()
    [report] = plan.objects
    event(f"{report.status}: {(report.reason or '').split(':')[-1][:40]}")
    if report.status == "refused":
        assert report.reason and new == text
        return
    # 1. byte-for-byte outside resource lines (comments, order, quoting, separators, line ends)
    keep_old = [ln for ln in text.splitlines(keepends=True) if not RESOURCE_LINE.match(ln)]
    keep_new = [ln for ln in new.splitlines(keepends=True) if not RESOURCE_LINE.match(ln)]
    assert keep_old == keep_new
    assert new.endswith(("\n", "\r\n")) == text.endswith(("\n", "\r\n"))
    docs = list(YAML(typ="safe", pure=True).load_all(new))
    old_docs = list(YAML(typ="safe", pure=True).load_all(text))
    # 2. every object validates; requests <= limits; the QoS class is the one before
    for doc in docs:
        kubernetes_validate.validate(doc, "1.32", strict=True)
    for c in _containers(docs[0]):
        res = c.get("resources") or {}
        for resource, limit in (res.get("limits") or {}).items():
            request = (res.get("requests") or {}).get(resource)
            assert request is None or parse_quantity(str(request)) <= parse_quantity(str(limit)), c
    assert qos_class({c["name"]: c.get("resources") for c in _containers(docs[0])}) == qos_class(
        {c["name"]: c.get("resources") for c in _containers(old_docs[0])}
    )
    # 3. the recommended requests are written as recommended (limits may be raised to keep the invariants)
    for target in targets:
        got = next(c for c in _containers(docs[0]) if c["name"] == target.container)
        for (section, resource), value in target.change.items():
            if section == "requests" and value is not None:
                assert parse_quantity(str(got["resources"]["requests"][resource])) == parse_quantity(value)
    # 4. nothing but resources changed
    for c in _containers(docs[0]) + _containers(old_docs[0]):
        c.pop("resources", None)
    assert docs == old_docs
