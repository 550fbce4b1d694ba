"""Plan resource changes to a manifest directory as data; show them as a diff; apply atomically.

Every planned object is checked before anything is written (``invariants``: valid quantities,
requests ≤ limits, QoS kept), every rewritten file is parsed again and must mean exactly the
original with the planned ``resources`` values — nothing else — and every edited object must
validate against the Kubernetes schema (``kubernetes-validate``, strict). An object that fails
any check is refused with a reason and its file is left as it was; the others proceed.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from kubetally.actions.manifests.checks import Expected, object_problem
from kubetally.actions.manifests.helm import Chart, ValuesSuggestion, chart_matches, read_chart, suggest
from kubetally.actions.manifests.helmrender import checked_by_helm
from kubetally.actions.manifests.invariants import checked_changes, quantity_of, requests_over_limits
from kubetally.actions.manifests.kustomize import (
    PATCH_FILE,
    KustomizeTree,
    OverlayPatch,
    Rendered,
    kustomize_tree,
    layer_problem,
    overlay_texts,
    render_problem,
    smp_merge,
    suggested_patch,  # noqa: F401 - re-exported for the docs
)
from kubetally.actions.manifests.lines import Edit, ManifestError, apply_edits
from kubetally.actions.manifests.scan import (
    KUSTOMIZATIONS,
    WORKLOAD_KINDS,
    FoundWorkload,
    ParsedFile,
    SkippedFile,
    WorkloadRef,
    scan_tree,
    tab_tolerant,
)
from kubetally.actions.manifests.settings import ManifestSettings
from kubetally.actions.manifests.textedit import SECTIONS, Change, Field, container_edits, merged_resources


@dataclass(frozen=True)
class ResourceTarget:
    """The resources one container should have. ``change`` maps (section, resource) to a
    quantity string (set) or None (remove); fields not in it are left as they are."""

    ref: WorkloadRef
    container: str
    change: Mapping[Field, str | None]
    init: bool = False
    """An init container (only the JSON patch output needs to know)."""
    live: Mapping[Field, str | None] = field(default_factory=dict)
    """What runs now (the dataset's current values; None = not set), to show drift against the manifest."""
    cluster: str = ""


@dataclass(frozen=True)
class FieldChange:
    ref: WorkloadRef
    container: str
    field: Field
    before: str | None
    after: str | None


@dataclass(frozen=True)
class FileChange:
    path: Path
    display: str
    before: str
    after: str
    created: bool = False
    """A new file (a kustomize overlay patch); it must still not exist when the plan is applied."""

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            "/dev/null" if self.created else f"a/{self.display}",
            f"b/{self.display}",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True)
class ObjectReport:
    """What happens to one workload object in one file: changed, unchanged or refused (and why)."""

    ref: WorkloadRef
    file: Path
    line: int
    status: Literal["changed", "unchanged", "refused"]
    reason: str | None = None
    notes: tuple[str, ...] = ()
    """Adjustments made to keep the invariants (a limit raised, QoS kept), and drift."""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.ref}: {self.status}"
        return text + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class ManifestPlan:
    root: Path
    files: tuple[FileChange, ...]
    changes: tuple[FieldChange, ...]
    workloads: tuple[WorkloadRef, ...]
    """Every workload found in the manifests."""
    unmatched: tuple[ResourceTarget, ...]
    """Targets whose workload is not in the manifests."""
    objects: tuple[ObjectReport, ...] = ()
    """One report per planned object."""
    skipped: tuple[SkippedFile, ...] = ()
    """Files that could not be used (the rest proceeded)."""
    notes: tuple[str, ...] = ()
    """Documents left alone (not Kubernetes objects, kustomize patches), workloads defined in several files."""
    sidecars: tuple[ResourceTarget, ...] = ()
    """Targets for containers in the usage data but not in the manifest's pod (injected sidecars)."""
    values: tuple[ValuesSuggestion, ...] = ()
    """Helm charts: what to set in their values (their templates are never edited)."""

    def diff(self) -> str:
        return "".join(change.diff() for change in self.files)

    @property
    def refused(self) -> tuple[ObjectReport, ...]:
        return tuple(o for o in self.objects if o.status == "refused")

    def facts(self) -> list[PlanFact]:
        """What the object reports say, one fact once: the same refusal, "unchanged" or note about
        one workload in several places (a base rendered by three overlays) is one fact listing them."""
        grouped: dict[tuple[Literal["refused", "unchanged", "note"], WorkloadRef, str], list[str]] = {}
        for report in self.objects:
            where = f"{report.file}:{report.line}"
            if report.status != "changed":
                grouped.setdefault((report.status, report.ref, report.reason or ""), []).append(where)
            for note in report.notes:
                if report.status != "refused" and not note.startswith("rendered by "):
                    grouped.setdefault(("note", report.ref, note), []).append(str(report.file))
        order = {"refused": 0, "unchanged": 1, "note": 2}
        facts = [PlanFact(kind, ref, text, tuple(dict.fromkeys(where))) for (kind, ref, text), where in grouped.items()]
        return sorted(facts, key=lambda f: (order[f.kind], str(f.ref), f.where))


@dataclass(frozen=True)
class PlanFact:
    """One thing to tell about a workload: refused / unchanged (with why) or a note, and where."""

    kind: Literal["refused", "unchanged", "note"]
    ref: WorkloadRef
    text: str
    where: tuple[str, ...]

    def __str__(self) -> str:
        if len(self.where) == 1:
            return f"{self.where[0]}: {self.ref}: {self.text}"
        return f"{self.ref}: {self.text} (in {len(self.where)} places: {', '.join(self.where)})"


def _check_kind(ref: WorkloadRef) -> None:
    if ref.kind not in WORKLOAD_KINDS:
        raise ManifestError(
            f"cannot rewrite {ref}: unknown workload kind {ref.kind!r} (kubetally rewrites {', '.join(WORKLOAD_KINDS)})"
        )


def _quantity(value: Any) -> Decimal | None:
    return quantity_of(value)


def _effective(node: Any, change: Mapping[Field, str | None]) -> dict[Field, str | None]:
    """Drop the fields that already hold the wanted value (``1`` and ``1000m`` are the same)."""
    current = node.get("resources") if isinstance(node, dict) else None
    effective: dict[Field, str | None] = {}
    for (section, resource), want in change.items():
        if section not in SECTIONS:
            raise ManifestError(f"unknown resources section {section!r}")
        if want is not None and _quantity(want) is None:
            raise ManifestError(f"not a Kubernetes quantity for {section}.{resource}: {want!r}")
        part = current.get(section) if isinstance(current, dict) else None
        have = part.get(resource) if isinstance(part, dict) else None
        if (want is None and have is None) or (want is not None and _quantity(have) == _quantity(want)):
            continue
        effective[(section, resource)] = want
    return effective


def _plain(value: Any) -> Any:
    """Plain data of a ruamel node (merge keys resolved)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _layout_problem(lines: list[str], container: Any) -> str | None:
    """Why the resources of this container cannot be edited as text (anchors, aliases, merge keys)."""
    node = container.get("resources")
    if "resources" in container and container.lc.value("resources") is not None:
        line, col = container.lc.value("resources")
        if lines[line][col : col + 1] == "*":
            return "resources is a YAML alias (*...): edit the anchor it refers to by hand"
    for part in [node, *(node.get(s) for s in SECTIONS if isinstance(node, Mapping))] if node is not None else []:
        if not isinstance(part, Mapping):
            continue
        if getattr(part, "merge", None):
            return "resources uses a YAML merge key (<<): edit it by hand"
        anchor = getattr(getattr(part, "anchor", None), "value", None)
        if anchor is not None:
            return f"resources is a YAML anchor (&{anchor}) other objects may alias: edit it by hand"
    return None


def _values(resources: Any, fld: Field) -> Any:
    part = resources.get(fld[0]) if isinstance(resources, Mapping) else None
    return part.get(fld[1]) if isinstance(part, Mapping) else None


def _drift(name: str, resources: Any, live: Mapping[Field, str | None]) -> list[str]:
    """One note per container whose manifest values differ from what runs (every field in it)."""
    fields = []
    for fld, running in sorted(live.items()):
        have = _values(resources, fld)
        if _quantity(have) != _quantity(running) or (have is None) != (running is None):
            fields.append(
                f"{'.'.join(fld)} {have if have is not None else 'unset'} in the manifest, "
                f"{running if running is not None else 'unset'} live"
            )
    if not fields:
        return []
    return [f"drift: container {name}: {'; '.join(fields)}; checked against the manifest (what will run)"]


def _unchanged(asked: Mapping[str, Change], notes: list[str]) -> tuple[str, tuple[str, ...]]:
    """Why nothing changes, and the notes left to tell: the drift of a manifest that already holds
    the recommendation (applied to the repo, not yet deployed) is said in the reason, as a count."""
    if not asked:
        return "none of its recommended containers is in the manifest", tuple(notes)
    drift = [n for n in notes if n.startswith("drift: ")]
    if not drift:
        return "the manifest already holds the recommendation", tuple(notes)
    fields = sum(n.count(" live") for n in drift)
    rest = tuple(n for n in notes if not n.startswith("drift: "))
    return f"the manifest already holds the recommendation (not live yet: {fields} values differ in the cluster)", rest


@dataclass
class _Planned:
    parsed: ParsedFile
    workload: FoundWorkload
    edits: list[Edit]
    expected: list[tuple[tuple[Any, ...], Change]]
    changes: list[FieldChange]
    notes: list[str]
    group: int = 0
    """Parts of one rendered workload (in several files) share a group: all are written or none."""
    validate: bool = True
    report_ref: WorkloadRef | None = None
    report_file: Path | None = None
    root: Path | None = None
    """The kustomize root that renders it (None: a plain manifest)."""
    report_line: int = 0

    @property
    def ref(self) -> WorkloadRef:
        return self.report_ref or self.workload.ref

    @property
    def where(self) -> tuple[Path, int]:
        return (self.report_file or self.parsed.path, self.report_line or self.workload.line)


def _plan_object(
    parsed: ParsedFile, workload: FoundWorkload, group: list[ResourceTarget], settings: ManifestSettings
) -> _Planned | ObjectReport:
    by_name = {c.name: c for c in workload.containers}
    notes: list[str] = []
    asked: dict[str, Change] = {}
    wanted = False
    for target in group:
        container = by_name.get(target.container)
        if container is None:
            continue
        notes += _drift(target.container, _plain(container.node.get("resources")), target.live)
        wanted |= bool(_effective(container.node, target.change))
        asked[target.container] = dict(target.change)  # no-op fields too: a request already above its limit
    pod = {c.name: _plain(c.node.get("resources")) for c in workload.containers}
    if not asked or not (wanted or any(requests_over_limits(r) for r in pod.values() if isinstance(r, Mapping))):
        reason, left = _unchanged(asked, notes)
        return ObjectReport(workload.ref, parsed.path, workload.line, "unchanged", reason, left)
    checked = checked_changes(pod, asked, allow_qos_change=settings.allow_qos_change)
    if checked.refused is not None:
        return ObjectReport(workload.ref, parsed.path, workload.line, "refused", checked.refused, tuple(notes))
    notes += checked.notes
    planned = _Planned(parsed, workload, [], [], [], notes)
    for name, adjusted in checked.changes.items():
        container = by_name[name]
        change = _effective(container.node, adjusted)
        if not change:
            continue
        problem = _layout_problem(parsed.lines, container.node)
        if problem:
            return ObjectReport(workload.ref, parsed.path, workload.line, "refused", f"container {name}: {problem}")
        try:
            planned.edits += container_edits(parsed.lines, container.node, change, workload.indent_step)
        except (ManifestError, KeyError, TypeError) as exc:
            return ObjectReport(workload.ref, parsed.path, workload.line, "refused", f"container {name}: {exc}")
        planned.expected.append((container.path, change))
        current = container.node.get("resources")
        for fld, after in sorted(change.items()):
            planned.changes.append(FieldChange(workload.ref, name, fld, _text(_values(current, fld)), after))
    if planned.edits:
        return planned
    reason, left = _unchanged(asked, notes)
    return ObjectReport(workload.ref, parsed.path, workload.line, "unchanged", reason, left)


def _settle(
    parsed: ParsedFile, planned: list[_Planned], settings: ManifestSettings, top: Path
) -> tuple[str | None, list[_Planned], list[ObjectReport]]:
    """The file's new text with every object that passes the checks; the refused ones with why."""
    refused: list[ObjectReport] = []

    def attempt(objs: list[_Planned]) -> tuple[str, str | None, dict[int, str]]:
        text = apply_edits(parsed.lines, [e for p in objs for e in p.edits])
        expected = [
            Expected(i, p.workload.document, p.workload.prefix, tuple(p.expected), p.validate)
            for i, p in enumerate(objs)
        ]
        general, problems = object_problem(
            parsed.parse_text, tab_tolerant(text), expected, version=settings.kubernetes_version
        )
        return text, general, problems

    current = list(planned)
    while current:
        text, general, problems = attempt(current)
        if general is None and not problems:
            return text, current, refused
        if general is not None:  # find the objects that fail on their own
            problems = {}
            for i, p in enumerate(current):
                _, alone, mine = attempt([p])
                if alone is not None or mine:
                    problems[i] = alone or next(iter(mine.values()))
            if not problems:  # each passes alone but not together: refuse all, never guess
                problems = dict.fromkeys(range(len(current)), general)
        for i, reason in problems.items():
            p = current[i]
            file, line = p.where
            where = "" if p.report_file is None else f"{shown(parsed.path, top)}: "
            refused.append(ObjectReport(p.ref, file, line, "refused", where + reason, tuple(p.notes)))
        current = [p for i, p in enumerate(current) if i not in problems]
    return None, [], refused


def _lookup(index: Mapping[WorkloadRef, list[Any]], ref: WorkloadRef, settings: ManifestSettings) -> list[Any]:
    for name in settings.manifest_names(ref.name):
        found = index.get(WorkloadRef(ref.namespace, ref.kind, name))
        if found:
            return found
    return []


def shown(path: Path, top: Path) -> str:
    """``path`` as the user reaches it: under the manifests folder ``top`` as they typed it (so
    relative to the repo when run from it), never a resolved or temporary path."""
    absolute = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(top)), top.resolve()):
        if absolute == base or base in absolute.parents:
            return os.path.normpath(top / absolute.relative_to(base))
    return os.path.normpath(top / os.path.relpath(path.resolve(), top.resolve()))


def _root_file(item: Rendered, top: Path) -> Path:
    for name in KUSTOMIZATIONS:
        if (item.root / name).is_file():
            return Path(shown(item.root / name, top))
    return item.root  # pragma: no cover - a root always has one


def _plan_rendered(
    item: Rendered,
    group: list[ResourceTarget],
    ktree: KustomizeTree,
    settings: ManifestSettings,
    gid: int,
    overlay_changes: list[FieldChange],
    top: Path,
) -> tuple[list[_Planned], ObjectReport | OverlayPatch | None, dict[str, dict[str, Any]]]:
    """The edits (in the files that set each value) for a workload a kustomize root renders.

    Returns the parts to write, or a report (unchanged / refused), and the resources the render
    must then show per container.
    """
    kfile = _root_file(item, top)
    origin_file, workload = item.origin
    where = f"rendered by {kfile.parent}"
    # reported where a person looks: the object's own file when only this root uses it, else the overlay
    at, line = (
        (origin_file.path, workload.line) if ktree.exclusive(origin_file.path.resolve(), item.root) else (kfile, 1)
    )

    def report(
        status: Literal["changed", "unchanged", "refused"], reason: str | None, notes: list[str]
    ) -> ObjectReport:
        return ObjectReport(item.ref, at, line, status, reason, (where, *notes))

    notes: list[str] = []
    if item.blocked:
        return [], report("refused", item.blocked[0], notes), {}
    layers = {c.name: item.layers(c.name) for c in workload.containers}
    rendered = {name: smp_merge(ls) for name, ls in layers.items()}
    pod = {name: final for name, (final, _) in rendered.items()}
    asked: dict[str, Change] = {}
    wanted = False
    for target in group:
        if target.container not in layers:
            continue
        notes += _drift(target.container, pod[target.container], target.live)
        problem = layer_problem(layers[target.container])
        effective = _effective({"resources": pod[target.container]}, target.change)
        if problem and effective:
            return [], report("refused", f"container {target.container}: {problem}", notes), {}
        wanted |= bool(effective)
        asked[target.container] = dict(target.change)
    if not asked or not (wanted or any(requests_over_limits(r) for r in pod.values())):
        reason, left = _unchanged(asked, notes)
        return [], report("unchanged", reason, list(left)), {}
    checked = checked_changes(pod, asked, allow_qos_change=settings.allow_qos_change)
    if checked.refused is not None:
        return [], report("refused", checked.refused, notes), {}
    notes += checked.notes
    parts: dict[tuple[Path, int], _Planned] = {}
    missing: dict[str, dict[Field, str | None]] = {}
    expected: dict[str, dict[str, Any]] = dict(pod)
    for name, adjusted in checked.changes.items():
        change = _effective({"resources": pod[name]}, adjusted)
        if not change:
            continue
        expected[name] = merged_resources(pod[name], change)
        _, definer = rendered[name]
        for fld, value in sorted(change.items()):
            index = _destination(layers[name], definer.get(fld), item.root, ktree)
            if index is None:
                missing.setdefault(name, {})[fld] = value
                continue
            if value is None and definer.get(fld) != index:
                return [], report("refused", f"container {name}: remove {'.'.join(fld)} by hand", notes), {}
            layer = layers[name][index]
            assert layer.container is not None
            key = (layer.parsed.path, layer.workload.line)
            part = parts.get(key)
            if part is None:
                part = _Planned(
                    layer.parsed,
                    layer.workload,
                    [],
                    [],
                    [],
                    notes,
                    gid,
                    False,
                    report_ref=item.ref,
                    report_file=at,
                    report_line=line,
                    root=item.root,
                )
                parts[key] = part
            before = _values(layer.container.node.get("resources"), fld)
            part.expected.append((layer.container.path, {fld: value}))
            part.changes.append(FieldChange(item.ref, name, fld, _text(_values(pod[name], fld)), value))
            del before
    overlay = None
    if missing:
        api = str(workload.obj.get("apiVersion")) if workload.obj is not None else "apps/v1"
        overlay = OverlayPatch(gid, item, missing, api, notes)
        for name, change in missing.items():
            for fld, value in sorted(change.items()):
                overlay_changes.append(FieldChange(item.ref, name, fld, _text(_values(pod[name], fld)), value))
        shared = sorted({shown(layers[n][0].parsed.path, top) for n in missing})
        notes.append(
            f"values set in {', '.join(shared)} (other overlays use it too): "
            f"written to a patch in the overlay, {PATCH_FILE}"
        )
    for part in parts.values():
        merged: dict[tuple[Any, ...], dict[Field, str | None]] = {}
        for path, one in part.expected:
            merged.setdefault(path, {}).update(one)
        part.expected = list(merged.items())
        for path, change in merged.items():
            container = next(c for c in part.workload.containers if c.path == path)
            problem = _layout_problem(part.parsed.lines, container.node)
            if problem:
                return (
                    [],
                    report("refused", f"{shown(part.parsed.path, top)}: container {container.name}: {problem}", notes),
                    {},
                )
            try:
                part.edits += container_edits(part.parsed.lines, container.node, change, part.workload.indent_step)
            except (ManifestError, KeyError, TypeError) as exc:
                return (
                    [],
                    report("refused", f"{shown(part.parsed.path, top)}: container {container.name}: {exc}", notes),
                    {},
                )
        if part.parsed.path != origin_file.path:
            notes.append(f"values written to {shown(part.parsed.path, top)}")
    return list(parts.values()), overlay, expected


def _destination(layers: list[Any], definer: int | None, root: Path, ktree: KustomizeTree) -> int | None:
    """The layer to write a field in: the one that sets it, if only this root uses it; else the most
    specific layer this root alone uses that mentions the container and comes after the definer."""
    if definer is not None and ktree.exclusive(layers[definer].parsed.path.resolve(), root):
        return definer
    for index in range(len(layers) - 1, -1, -1):
        if definer is not None and index <= definer:
            break
        layer = layers[index]
        if layer.container is not None and ktree.exclusive(layer.parsed.path.resolve(), root):
            return index
    return None


def plan_manifests(
    root: Path,
    targets: Iterable[ResourceTarget],
    *,
    namespace: str | None = None,
    settings: ManifestSettings | None = None,
) -> ManifestPlan:
    """What changes ``targets`` make to the manifests under ``root`` (nothing is written)."""
    settings = settings or ManifestSettings()
    targets = list(targets)
    for target in targets:
        _check_kind(target.ref)
        for (section, resource), want in target.change.items():
            if section not in SECTIONS:
                raise ManifestError(f"unknown resources section {section!r}")
            if want is not None and _quantity(want) is None:
                raise ManifestError(f"not a Kubernetes quantity for {section}.{resource}: {want!r}")
    default_ns = namespace or "default"
    tree = scan_tree(root, default_namespace=default_ns, settings=settings)
    cache = {parsed.path.resolve(): parsed for parsed in tree.files}
    top = root if root.is_dir() else root.parent
    ktree, failed = kustomize_tree(top, tree.kustomizations, cache, default_ns)
    skipped = list(tree.skipped) + [SkippedFile(path, reason) for path, reason in failed]
    if failed and settings.strict:
        raise ManifestError(f"{failed[0][1]} (--strict); no file was changed")
    index: dict[WorkloadRef, list[Any]] = {}
    for parsed in tree.files:
        if parsed.path.resolve() in ktree.files:
            continue  # planned through what its kustomization renders
        for workload in parsed.workloads:
            index.setdefault(workload.ref, []).append((parsed, workload))
    for item in ktree.rendered:
        index.setdefault(item.ref, []).append(item)
    groups: dict[WorkloadRef, list[ResourceTarget]] = {}
    for target in targets:
        groups.setdefault(target.ref, []).append(target)
    unmatched: list[ResourceTarget] = []
    sidecars: list[ResourceTarget] = []
    notes = [note for parsed in tree.files for note in parsed.notes] + ktree.notes
    notes += [
        f"{chart}: a Helm chart: its templates are not edited (see the values suggestion)" for chart in tree.charts
    ]
    reports: list[ObjectReport] = []
    charts: list[Chart] = []
    for folder in tree.charts:
        try:
            charts.append(read_chart(folder))
        except ManifestError as exc:
            skipped.append(SkippedFile(folder / "Chart.yaml", str(exc)))
    suggestions: list[ValuesSuggestion] = []
    planned: list[_Planned] = []
    render_expect: dict[Path, dict[WorkloadRef, dict[str, dict[str, Any]]]] = {}
    overlays: dict[Path, list[tuple[OverlayPatch, list[FieldChange]]]] = {}
    gid = 0
    for ref, group in groups.items():
        definitions = _lookup(index, ref, settings)
        if not definitions:
            chart, name = next(
                ((c, n) for n in settings.manifest_names(ref.name) for c in charts if chart_matches(c, n)),
                (None, ref.name),
            )
            if chart is None:
                unmatched += group
                continue
            changes = {t.container: dict(t.change) for t in group if t.change}
            if changes:
                suggestion = suggest(chart, ref, changes, allow_qos_change=settings.allow_qos_change, name=name)
                suggestions.append(checked_by_helm(chart, suggestion, version=settings.kubernetes_version))
            continue
        clusters = sorted({t.cluster for t in group})
        if len(clusters) > 1:
            reason = f"recommendations from {len(clusters)} clusters ({', '.join(clusters)}) for one manifest"
            for d in definitions:
                file, line = (_root_file(d, top), 1) if isinstance(d, Rendered) else (d[0].path, d[1].line)
                reports.append(ObjectReport(ref, file, line, "refused", reason))
            continue
        if len(definitions) > 1 and not all(isinstance(d, Rendered) for d in definitions):
            where = ", ".join(
                str(_root_file(d, top).parent) if isinstance(d, Rendered) else f"{d[0].path}:{d[1].line}"
                for d in definitions
            )
            notes.append(f"{ref} is defined {len(definitions)} times ({where}): each definition is planned")
        names = {c.name for d in definitions for c in (d.origin[1] if isinstance(d, Rendered) else d[1]).containers}
        sidecars += [t for t in group if t.container not in names]
        for definition in definitions:
            gid += 1
            if isinstance(definition, Rendered):
                extra: list[FieldChange] = []
                parts, outcome, expected = _plan_rendered(definition, group, ktree, settings, gid, extra, top)
                if isinstance(outcome, ObjectReport):
                    reports.append(outcome)
                elif isinstance(outcome, OverlayPatch):
                    overlays.setdefault(definition.root, []).append((outcome, extra))
                planned += parts
                if parts or isinstance(outcome, OverlayPatch):
                    render_expect.setdefault(definition.root, {})[definition.ref] = expected
                continue
            parsed, workload = definition
            result = _plan_object(parsed, workload, group, settings)
            if isinstance(result, ObjectReport):
                reports.append(result)
            else:
                result.group = gid
                planned.append(result)
    changed, field_changes, more = _settle_all(
        tree.files, planned, render_expect, overlays, ktree, settings, default_ns, top
    )
    reports += more
    display_root = root if root.is_dir() else root.parent
    files: list[FileChange] = []
    for path, before, after in changed:
        try:
            display = str(path.resolve().relative_to(display_root.resolve()))
        except ValueError:
            display = shown(path, display_root)
        files.append(FileChange(path, display, before, after, created=not path.exists()))
    workloads = {w.ref for parsed in tree.files if parsed.path.resolve() not in ktree.files for w in parsed.workloads}
    workloads |= {item.ref for item in ktree.rendered}
    return ManifestPlan(
        root,
        tuple(files),
        tuple(field_changes),
        tuple(sorted(workloads)),
        tuple(unmatched),
        tuple(sorted(reports, key=lambda r: (str(r.file), r.line, str(r.ref)))),
        tuple(skipped),
        tuple(notes),
        tuple(sidecars),
        tuple(suggestions),
    )


def _settle_all(
    files: list[ParsedFile],
    planned: list[_Planned],
    render_expect: Mapping[Path, Mapping[WorkloadRef, Mapping[str, Any]]],
    overlays: Mapping[Path, list[tuple[OverlayPatch, list[FieldChange]]]],
    ktree: KustomizeTree,
    settings: ManifestSettings,
    default_namespace: str,
    top: Path,
) -> tuple[list[tuple[Path, str, str]], list[FieldChange], list[ObjectReport]]:
    """Settle every file; a workload whose parts span files is written whole or not at all, and a
    kustomize root's edits must render (``kubectl kustomize``) as planned.

    Returns (path, text before, text after) per changed file, the field changes and the reports.
    """
    refused: dict[int, ObjectReport] = {}
    by_path = {parsed.path: parsed for parsed in files}
    for part in planned:
        by_path.setdefault(part.parsed.path, part.parsed)

    def refuse(group: int, ref: WorkloadRef, file: Path, line: int, reason: str, notes: Iterable[str]) -> None:
        if group not in refused:
            refused[group] = ObjectReport(ref, file, line, "refused", reason, tuple(notes))

    while True:
        texts: dict[Path, tuple[str, str]] = {}
        kept_parts: list[_Planned] = []
        kept_overlays: list[tuple[OverlayPatch, list[FieldChange]]] = []
        again = False
        for path, parsed in by_path.items():
            mine = [p for p in planned if p.parsed.path == path and p.group not in refused]
            if not mine:
                continue
            new_text, kept, failed = _settle(parsed, mine, settings, top)
            for report in failed:
                part = next(p for p in mine if p.ref == report.ref and p.where == (report.file, report.line))
                refuse(part.group, report.ref, report.file, report.line, report.reason or "", report.notes)
                again = True
            if new_text is not None:
                bom = "\ufeff" if parsed.bom else ""
                texts[path] = (bom + parsed.text, bom + new_text)
            kept_parts += kept
        if again:
            continue
        for root, entries in overlays.items():
            live = [(o, c) for o, c in entries if o.group not in refused]
            if not live:
                continue
            kfile = _root_file(live[0][0].item, top)
            result = overlay_texts(root, [o for o, _ in live], ktree.kustomizations[kfile.resolve()])
            if isinstance(result, str):
                for o, _ in live:
                    refuse(o.group, o.item.ref, kfile, 1, result, o.notes)
                again = True
                continue
            new_k, patch_text = result
            kparsed = ktree.kustomizations[kfile.resolve()]
            if new_k != kparsed.text:
                texts[kparsed.path] = (kparsed.text, new_k)
            patch_path = root / PATCH_FILE
            texts[patch_path] = (patch_path.read_text(encoding="utf-8") if patch_path.is_file() else "", patch_text)
            kept_overlays += live
        if again:
            continue
        for root, expected in render_expect.items():
            groups = {p.group for p in kept_parts if p.root == root}
            groups |= {o.group for o, _ in kept_overlays if o.item.root == root}
            if not groups:
                continue
            used = {p for p in ktree.users if root in ktree.users[p]}
            scope = Path(os.path.commonpath([str(root.resolve()), *map(str, used)]))
            new_texts = {
                p.resolve(): after for p, (_, after) in texts.items() if p.resolve() in used or p.parent == root
            }
            try:
                problem = render_problem(
                    root.resolve(),
                    scope,
                    new_texts,
                    dict(expected),
                    version=settings.kubernetes_version,
                    default_namespace=default_namespace,
                )
            except ManifestError as exc:
                problem = str(exc)
            if problem is None:
                continue
            for part in kept_parts:
                if part.group in groups:
                    file, line = part.where
                    refuse(part.group, part.ref, file, line, problem, part.notes)
            for o, _ in kept_overlays:
                if o.group in groups:
                    refuse(o.group, o.item.ref, _root_file(o.item, top), 1, problem, o.notes)
            again = True
        if not again:
            break
    reports = list(refused.values())
    field_changes: list[FieldChange] = []
    seen: set[int] = set()
    for part in kept_parts:
        field_changes += part.changes
        if part.group not in seen:
            seen.add(part.group)
            file, line = part.where
            reports.append(ObjectReport(part.ref, file, line, "changed", notes=tuple(part.notes)))
    for o, changes in kept_overlays:
        field_changes += changes
        if o.group not in seen:
            seen.add(o.group)
            reports.append(ObjectReport(o.item.ref, _root_file(o.item, top), 1, "changed", notes=tuple(o.notes)))
    return [(path, before, after) for path, (before, after) in texts.items()], field_changes, reports


def apply_plan(plan: ManifestPlan) -> list[Path]:
    """Write the planned files atomically: all temp files first, then renames.

    Refuses (and writes nothing) when a file changed since the plan was made.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for change in plan.files:
            target = change.path.resolve()  # a symlinked manifest: write its target, keep the link
            if change.created:
                if change.path.exists():
                    raise ManifestError(
                        f"{change.path} was created since the plan was made; run again; no file was changed"
                    )
                mode = 0o644
            else:
                try:
                    now = change.path.read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise ManifestError(f"{change.path}: cannot re-read before writing: {exc}") from None
                if now != change.before:
                    raise ManifestError(
                        f"{change.path} changed since the plan was made; run again; no file was changed"
                    )
                mode = target.stat().st_mode & 0o7777
            temp = target.with_name(f".{target.name}.kubetally-tmp")
            staged.append((temp, target))
            with open(temp, "wb") as handle:
                handle.write(change.after.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, mode)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for temp, path in staged:
        os.replace(temp, path)
    return [change.path for change in plan.files]
