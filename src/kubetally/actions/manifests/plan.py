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
from kubetally.actions.manifests.invariants import checked_changes, quantity_of, requests_over_limits
from kubetally.actions.manifests.lines import Edit, ManifestError, apply_edits
from kubetally.actions.manifests.scan import (
    WORKLOAD_KINDS,
    FoundWorkload,
    ParsedFile,
    SkippedFile,
    WorkloadRef,
    scan_tree,
    tab_tolerant,
)
from kubetally.actions.manifests.settings import ManifestSettings
from kubetally.actions.manifests.textedit import SECTIONS, Change, Field, container_edits


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

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            f"a/{self.display}",
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

    def diff(self) -> str:
        return "".join(change.diff() for change in self.files)

    @property
    def refused(self) -> tuple[ObjectReport, ...]:
        return tuple(o for o in self.objects if o.status == "refused")


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
    notes = []
    for fld, running in sorted(live.items()):
        have = _values(resources, fld)
        if _quantity(have) != _quantity(running) or (have is None) != (running is None):
            notes.append(
                f"drift: container {name} {'.'.join(fld)} is {have if have is not None else 'unset'} in the manifest, "
                f"{running if running is not None else 'unset'} live; checked against the manifest (what will run)"
            )
    return notes


@dataclass
class _Planned:
    parsed: ParsedFile
    workload: FoundWorkload
    edits: list[Edit]
    expected: list[tuple[tuple[Any, ...], Change]]
    changes: list[FieldChange]
    notes: list[str]


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
    report = ObjectReport(workload.ref, parsed.path, workload.line, "unchanged", notes=tuple(notes))
    pod = {c.name: _plain(c.node.get("resources")) for c in workload.containers}
    if not asked or not (wanted or any(requests_over_limits(r) for r in pod.values() if isinstance(r, Mapping))):
        return report
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
    return planned if planned.edits else report


def _settle(
    parsed: ParsedFile, planned: list[_Planned], settings: ManifestSettings
) -> tuple[str | None, list[_Planned], list[ObjectReport]]:
    """The file's new text with every object that passes the checks; the refused ones with why."""
    refused: list[ObjectReport] = []

    def attempt(objs: list[_Planned]) -> tuple[str, str | None, dict[int, str]]:
        text = apply_edits(parsed.lines, [e for p in objs for e in p.edits])
        expected = [Expected(i, p.workload.document, p.workload.prefix, tuple(p.expected)) for i, p in enumerate(objs)]
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
            refused.append(
                ObjectReport(p.workload.ref, parsed.path, p.workload.line, "refused", reason, tuple(p.notes))
            )
        current = [p for i, p in enumerate(current) if i not in problems]
    return None, [], refused


def _lookup(
    index: Mapping[WorkloadRef, list[tuple[ParsedFile, FoundWorkload]]], ref: WorkloadRef, settings: ManifestSettings
) -> list[tuple[ParsedFile, FoundWorkload]]:
    for name in settings.manifest_names(ref.name):
        found = index.get(WorkloadRef(ref.namespace, ref.kind, name))
        if found:
            return found
    return []


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
    tree = scan_tree(root, default_namespace=namespace or "default", settings=settings)
    index: dict[WorkloadRef, list[tuple[ParsedFile, FoundWorkload]]] = {}
    for parsed in tree.files:
        for workload in parsed.workloads:
            index.setdefault(workload.ref, []).append((parsed, workload))
    groups: dict[WorkloadRef, list[ResourceTarget]] = {}
    for target in targets:
        groups.setdefault(target.ref, []).append(target)
    unmatched: list[ResourceTarget] = []
    sidecars: list[ResourceTarget] = []
    notes = [note for parsed in tree.files for note in parsed.notes]
    reports: list[ObjectReport] = []
    by_file: dict[Path, list[_Planned]] = {}
    for ref, group in groups.items():
        definitions = _lookup(index, ref, settings)
        if not definitions:
            unmatched += group
            continue
        clusters = sorted({t.cluster for t in group})
        if len(clusters) > 1:
            reason = f"recommendations from {len(clusters)} clusters ({', '.join(clusters)}) for one manifest"
            reports += [ObjectReport(ref, p.path, w.line, "refused", reason) for p, w in definitions]
            continue
        if len(definitions) > 1:
            where = ", ".join(f"{p.path}:{w.line}" for p, w in definitions)
            notes.append(f"{ref} is defined {len(definitions)} times ({where}): each definition is planned")
        names = {c.name for _, w in definitions for c in w.containers}
        sidecars += [t for t in group if t.container not in names]
        for parsed, workload in definitions:
            result = _plan_object(parsed, workload, group, settings)
            if isinstance(result, ObjectReport):
                reports.append(result)
            else:
                by_file.setdefault(parsed.path, []).append(result)
    changed: list[FileChange] = []
    field_changes: list[FieldChange] = []
    display_root = root if root.is_dir() else root.parent
    for parsed in tree.files:
        if parsed.path not in by_file:
            continue
        new_text, kept, refused = _settle(parsed, by_file[parsed.path], settings)
        reports += refused
        for p in kept:
            reports.append(ObjectReport(p.workload.ref, parsed.path, p.workload.line, "changed", notes=tuple(p.notes)))
            field_changes += p.changes
        if new_text is None:
            continue
        prefix = "\ufeff" if parsed.bom else ""
        display = str(parsed.path.relative_to(display_root))
        changed.append(FileChange(parsed.path, display, prefix + parsed.text, prefix + new_text))
    workloads = tuple(sorted({w.ref for parsed in tree.files for w in parsed.workloads}))
    return ManifestPlan(
        root,
        tuple(changed),
        tuple(field_changes),
        workloads,
        tuple(unmatched),
        tuple(sorted(reports, key=lambda r: (str(r.file), r.line))),
        tuple(tree.skipped),
        tuple(notes),
        tuple(sidecars),
    )


def apply_plan(plan: ManifestPlan) -> list[Path]:
    """Write the planned files atomically: all temp files first, then renames.

    Refuses (and writes nothing) when a file changed since the plan was made.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for change in plan.files:
            try:
                now = change.path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(f"{change.path}: cannot re-read before writing: {exc}") from None
            if now != change.before:
                raise ManifestError(f"{change.path} changed since the plan was made; run again; no file was changed")
            temp = change.path.with_name(f".{change.path.name}.kubetally-tmp")
            staged.append((temp, change.path))
            with open(temp, "wb") as handle:
                handle.write(change.after.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, change.path.stat().st_mode & 0o7777)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for temp, path in staged:
        os.replace(temp, path)
    return [path for _, path in staged]
