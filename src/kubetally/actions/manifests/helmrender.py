"""A values suggestion checked by rendering the chart with the real ``helm template``.

The suggestion is matched to the chart by names and ``values.yaml`` keys (``helm``). When the
``helm`` binary is installed, the chart is rendered twice — with its own defaults and with the
suggestion as an extra values file (``helm template RELEASE CHART -f SUGGESTION``) — and the
suggestion is kept only if the workload renders with exactly the planned resources, validates
against the Kubernetes schema, and nothing else in any rendered object changes. Without
``helm`` the suggestion stands, with a note that it was not rendered. The chart's files are
only read (helm reads them; the suggestion goes to a temporary file).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kubetally.actions.manifests.checks import schema_problem
from kubetally.actions.manifests.helm import Chart, ValuesSuggestion
from kubetally.actions.manifests.invariants import quantity_of
from kubetally.actions.manifests.lines import ManifestError
from kubetally.actions.manifests.scan import WorkloadRef

RENDER_TIMEOUT = 120


def helm_template(chart: Path, release: str, namespace: str, values: str | None = None) -> list[dict[str, Any]]:
    """The objects ``helm template`` renders for ``chart`` (with an extra values file's text)."""
    helm = shutil.which("helm")
    if helm is None:
        raise ManifestError("helm not found")
    with tempfile.TemporaryDirectory(prefix="kubetally-helm-") as tmp:
        command = [helm, "template", release, str(chart), "--namespace", namespace]
        if values is not None:
            extra = Path(tmp) / "suggestion.yaml"
            extra.write_text(values, encoding="utf-8")
            command += ["-f", str(extra)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise ManifestError(f"helm template {chart} took over {RENDER_TIMEOUT} s") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["failed"])[0].removeprefix("Error: ")
        raise ManifestError(f"helm template {chart}: {first}")
    return [d for d in YAML(typ="safe", pure=True).load_all(done.stdout) if isinstance(d, dict)]


def release_names(chart: str, workload: str) -> list[str]:
    """Release names under which the chart's usual fullname (``RELEASE-CHART[-PART]``, or the
    release itself when it holds the chart's name) is ``workload``."""
    names = []
    at = f"-{workload}-".find(f"-{chart}-")
    if at > 0:
        names.append(workload[: at - 1])
    names.append(workload)
    return names


def _key(doc: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return (str(doc.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))


def _containers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    return [c for key in ("initContainers", "containers") for c in pod.get(key) or [] if isinstance(c, dict)]


def _normalized(resources: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(resources, Mapping):
        return {}
    return {
        s: {r: quantity_of(v) for r, v in vals.items() if v is not None}
        for s, vals in resources.items()
        if isinstance(vals, Mapping) and any(v is not None for v in vals.values())
    }


def _without_planned(docs: list[dict[str, Any]], ref: WorkloadRef, planned: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The documents with the planned containers' resources taken out (everything else must stay)."""
    for doc in docs:
        if _is(doc, ref):
            containers = _containers(doc)
            names = _by_rendered_name(planned, {str(c.get("name")): None for c in containers})
            for container in containers:
                if container.get("name") in names:
                    container.pop("resources", None)
    return docs


def checked_by_helm(chart: Chart, suggestion: ValuesSuggestion, *, version: str) -> ValuesSuggestion:
    """``suggestion`` confirmed by ``helm template`` (a note says how), or refused with why."""
    if suggestion.refused is not None:
        return suggestion
    ref = suggestion.ref
    rendered_as = WorkloadRef(ref.namespace, ref.kind, suggestion.name or ref.name)
    if shutil.which("helm") is None:
        return _noted(suggestion, "helm not found: the suggestion is not checked by rendering the chart")
    for release in release_names(chart.name, rendered_as.name):
        try:
            before = helm_template(chart.folder, release, ref.namespace)
        except ManifestError as exc:
            return _noted(suggestion, f"{exc}: the suggestion is not checked by rendering the chart")
        if any(_is(doc, rendered_as) for doc in before):
            break
    else:
        names = " or ".join(release_names(chart.name, rendered_as.name))
        return _noted(suggestion, f"helm template renders no {rendered_as} (release {names}): not checked by rendering")
    try:
        after = helm_template(chart.folder, release, ref.namespace, suggestion.text())
    except ManifestError as exc:
        return _refused(suggestion, f"with the suggestion, {exc}")
    problem = _render_problem(before, after, rendered_as, suggestion.rendered, version)
    if problem is not None:
        return _refused(suggestion, problem)
    return _noted(
        suggestion,
        f"checked with helm template {release} {chart.folder} -f SUGGESTION: {rendered_as} renders the recommended "
        "resources and nothing else changes",
    )


def _is(doc: Mapping[str, Any], ref: WorkloadRef) -> bool:
    return doc.get("kind") == ref.kind and (doc.get("metadata") or {}).get("name") == ref.name


def _render_problem(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    ref: WorkloadRef,
    expected: Mapping[str, Mapping[str, Any]],
    version: str,
) -> str | None:
    if sorted(map(_key, before)) != sorted(map(_key, after)):
        return "the suggestion changes which objects the chart renders"
    for doc in after:
        if not _is(doc, ref):
            continue
        problem = schema_problem(doc, version)
        if problem is not None:
            return f"{ref} as the chart renders it with the suggestion does not validate ({version}): {problem}"
        rendered = {str(c.get("name")): c.get("resources") for c in _containers(doc)}
        for name, want in _by_rendered_name(expected, rendered).items():
            if name not in rendered:
                return f"helm template renders no container {name} in {ref}"
            if _normalized(rendered[name]) != _normalized(want):
                have = rendered[name] or "no resources"
                return f"helm template renders container {name} of {ref} with {have}, not the planned {dict(want)}"
    by_key = {_key(d): d for d in _without_planned(before, ref, expected)}
    for doc in _without_planned(after, ref, expected):
        if by_key[_key(doc)] != doc:
            what = f"{doc.get('kind')} {_key(doc)[2]}"
            return f"the suggestion changes more than the planned resources in what the chart renders ({what})"
    return None


def _by_rendered_name(expected: Mapping[str, Any], rendered: Mapping[str, Any]) -> dict[str, Any]:
    """The planned resources keyed by the chart's container names: a live pod's single container is
    the chart's single container whatever each is called (``--name-map`` matched the workloads)."""
    if len(expected) == 1 and len(rendered) == 1 and not set(expected) & set(rendered):
        return {next(iter(rendered)): next(iter(expected.values()))}
    return dict(expected)


def _noted(suggestion: ValuesSuggestion, note: str) -> ValuesSuggestion:
    return replace(suggestion, notes=(*suggestion.notes, note))


def _refused(suggestion: ValuesSuggestion, reason: str) -> ValuesSuggestion:
    return replace(suggestion, values={}, refused=reason)
