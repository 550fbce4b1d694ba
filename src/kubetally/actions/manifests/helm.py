"""Helm charts: never edited; a recommendation becomes a values suggestion.

A folder with a ``Chart.yaml`` is a chart. Its templates are Go templates, not manifests, so
kubetally does not parse or touch them. A workload matches a chart when its name (after
``--name-map``) is the chart's name or holds it between dashes (Helm's usual fullname
``RELEASE-CHART``, and ``RELEASE-CHART-PART`` for its other workloads). Its containers are
matched to the ``resources`` keys of the chart's ``values.yaml``: the top-level ``resources`` is
the chart's main container (named after the chart, or the single container of the workload named
like the chart); ``KEY.resources`` is the container whose name, stripped of ``-`` and case, starts or ends with KEY,
or the workload whose name ends with it (``kubeRBACProxy`` ↔ ``kube-rbac-proxy-http``,
``redis`` ↔ ``podinfo-redis``). The
suggestion holds the whole ``resources`` each key should have — the chart's values with the
recommendation applied under the same invariants as a manifest (requests ≤ limits, QoS kept) —
to put in a values file passed with ``helm upgrade -f`` (or to edit into ``values.yaml``).
A container no key is found for is reported with the reason (set in a template: edit it by hand).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kubetally.actions.manifests.invariants import checked_changes, value_problems
from kubetally.actions.manifests.lines import ManifestError
from kubetally.actions.manifests.scan import WorkloadRef, read_file
from kubetally.actions.manifests.textedit import Change, merged_resources


@dataclass(frozen=True)
class Chart:
    folder: Path
    name: str
    values: Path | None
    resources_keys: tuple[tuple[str, ...], ...]
    """Paths of every ``resources`` mapping in values.yaml (``("resources",)``, ``("redis", "resources")``)."""
    current: Mapping[tuple[str, ...], Any] = field(default_factory=dict)
    """The chart's default value at each of those keys."""


@dataclass(frozen=True)
class ValuesSuggestion:
    """What to set in a chart's values for one workload, or why nothing can be suggested."""

    chart: Path
    ref: WorkloadRef
    values: dict[str, Any]
    """A values overlay: nested keys down to each ``resources`` (empty when refused)."""
    notes: tuple[str, ...] = ()
    refused: str | None = None
    name: str = ""
    """The workload's name as the chart renders it (the live name after ``--name-map``)."""
    rendered: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What each container's resources must render as with the suggestion (checked by ``helm template``)."""

    def text(self) -> str:
        """The values overlay as YAML, with a comment saying what it is for."""
        lines = [f"# {self.ref}: values for the chart in {self.chart} (helm upgrade ... -f THIS_FILE)"]
        lines += _yaml_lines(self.values, 0)
        return "\n".join(lines) + "\n"


def _yaml_lines(tree: Mapping[str, Any], col: int) -> list[str]:
    out = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.append(f"{' ' * col}{key}:" + ("" if value else " {}"))
            out += _yaml_lines(value, col + 2)
        else:
            out.append(f"{' ' * col}{key}: {'null' if value is None else value}")
    return out


def _resources_keys(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    if not isinstance(node, Mapping):
        return found
    for key, value in node.items():
        if not isinstance(key, str):
            continue
        if key == "resources" and (value is None or isinstance(value, Mapping)):
            found.append(((*path, key), value))
        elif isinstance(value, Mapping) and len(path) < 4:
            found += _resources_keys(value, (*path, key))
    return found


def read_chart(folder: Path) -> Chart:
    meta = read_file(folder / "Chart.yaml").documents
    name = meta[0].get("name") if meta and isinstance(meta[0], Mapping) else None
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{folder / 'Chart.yaml'}: a chart without a name")
    values = folder / "values.yaml"
    if not values.is_file():
        return Chart(folder, name, None, ())
    try:
        data = YAML(typ="safe", pure=True).load(values.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises many types; an unreadable values file means no suggestion
        raise ManifestError(f"{values}: invalid YAML: {str(exc).splitlines()[0]}") from None
    keys = _resources_keys(data)
    return Chart(folder, name, values, tuple(k for k, _ in keys), {k: _plain(v) for k, v in keys})


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    return value


def chart_matches(chart: Chart, name: str) -> bool:
    return chart.name in name.split("-") or name == chart.name or f"-{chart.name}-" in f"-{name}-"


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def values_key(chart: Chart, workload: str, container: str, containers: Iterable[str]) -> tuple[str, ...] | None:
    """The values key that sets this container's resources, or None."""
    nested = [k for k in chart.resources_keys if len(k) > 1]
    for key in sorted(nested, key=len, reverse=True):
        owner = _squash(key[-2])
        mine = _squash(container)
        if owner and (mine.startswith(owner) or mine.endswith(owner) or _squash(workload).endswith(owner)):
            return key
    top = ("resources",)
    main = workload == chart.name or workload.endswith(f"-{chart.name}")  # the chart's fullname
    if top in chart.resources_keys and (container == chart.name or (main and len(list(containers)) == 1)):
        return top
    return None


def suggest(
    chart: Chart,
    ref: WorkloadRef,
    changes: Mapping[str, Change],
    *,
    allow_qos_change: bool = False,
    name: str | None = None,
) -> ValuesSuggestion:
    """The values that give ``ref``'s containers the ``changes``, under the invariants; ``name`` is
    the workload's name in the chart when ``--name-map`` maps the live name to another."""
    name = name or ref.name
    suggestion = _suggest(chart, ref, changes, allow_qos_change, name)
    return replace(suggestion, name=name)


def _suggest(
    chart: Chart, ref: WorkloadRef, changes: Mapping[str, Change], allow_qos_change: bool, name: str
) -> ValuesSuggestion:
    if chart.values is None:
        return ValuesSuggestion(chart.folder, ref, {}, refused=f"{chart.folder} has no values.yaml")
    keys: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    for container in changes:
        key = values_key(chart, name, container, changes)
        if key is None:
            notes.append(
                f"container {container}: no resources key in {chart.values} for it (set in a template?): "
                "edit the chart by hand"
            )
            continue
        keys[container] = key
    if not keys:
        return ValuesSuggestion(chart.folder, ref, {}, tuple(notes[1:]), refused=notes[0])
    if len(set(keys.values())) < len(keys):
        return ValuesSuggestion(
            chart.folder, ref, {}, tuple(notes), refused="two containers map to one values key: edit the values by hand"
        )
    pod = {c: chart.current.get(k) or {} for c, k in keys.items()}
    for container, resources in pod.items():
        problems = value_problems(resources)
        if problems:
            return ValuesSuggestion(
                chart.folder, ref, {}, tuple(notes), refused=f"container {container}: {problems[0]}"
            )
    checked = checked_changes(pod, {c: changes[c] for c in keys}, allow_qos_change=allow_qos_change)
    if checked.refused is not None:
        return ValuesSuggestion(chart.folder, ref, {}, tuple(notes), refused=checked.refused)
    values: dict[str, Any] = {}
    rendered: dict[str, dict[str, Any]] = {}
    for container, key in keys.items():
        change = checked.changes[container]
        resources = merged_resources(pod[container], change)
        rendered[container] = merged_resources(pod[container], change)
        for (section, resource), value in change.items():  # Helm merges values: a default is removed by null
            if value is None and resource in (pod[container].get(section) or {}):
                resources.setdefault(section, {})[resource] = None
        node = values
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = resources
        notes.append(f"container {container}: {'.'.join(key)} in {chart.values}")
    return ValuesSuggestion(chart.folder, ref, values, (*notes, *checked.notes), rendered=rendered)
