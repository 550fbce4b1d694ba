"""Plan resource changes to a manifest directory as data; show them as a diff; apply atomically.

A plan is made only from a directory that parsed completely, and every rewritten
file is parsed again and checked to mean exactly the original with the planned
``resources`` values — nothing else — before the plan is returned.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kubetally.actions.manifests.lines import Edit, ManifestError, apply_edits
from kubetally.actions.manifests.scan import WORKLOAD_KINDS, FoundWorkload, ParsedFile, WorkloadRef, scan
from kubetally.actions.manifests.textedit import SECTIONS, Change, Field, container_edits, merged_resources
from kubetally.model.quantity import QuantityError, parse_quantity


@dataclass(frozen=True)
class ResourceTarget:
    """The resources one container should have. ``change`` maps (section, resource) to a
    quantity string (set) or None (remove); fields not in it are left as they are."""

    ref: WorkloadRef
    container: str
    change: Mapping[Field, str | None]
    init: bool = False
    """An init container (only the JSON patch output needs to know)."""


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
class ManifestPlan:
    root: Path
    files: tuple[FileChange, ...]
    changes: tuple[FieldChange, ...]
    workloads: tuple[WorkloadRef, ...]
    """Every workload found in the manifests."""
    unmatched: tuple[ResourceTarget, ...]
    """Targets whose workload or container is not in the manifests."""

    def diff(self) -> str:
        return "".join(change.diff() for change in self.files)


def _check_kind(ref: WorkloadRef) -> None:
    if ref.kind not in WORKLOAD_KINDS:
        raise ManifestError(
            f"cannot rewrite {ref}: unknown workload kind {ref.kind!r} (kubetally rewrites {', '.join(WORKLOAD_KINDS)})"
        )


def _quantity(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return parse_quantity(value if isinstance(value, int | float) else str(value))
    except QuantityError:
        return None


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


def _normalized(resources: Any) -> Any:
    if not isinstance(resources, Mapping):
        return resources
    return {
        key: {k: _quantity(v) if _quantity(v) is not None else v for k, v in value.items()}
        if isinstance(value, Mapping)
        else value
        for key, value in resources.items()
    }


def _at(doc: Any, path: Iterable[Any]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _verify(parsed: ParsedFile, new_text: str, expected: list[tuple[int, tuple[Any, ...], Change]]) -> None:
    """The new text must parse to the original documents with only the planned resources changed."""
    safe = YAML(typ="safe", pure=True)
    try:
        before = list(safe.load_all(parsed.text))
        after = list(safe.load_all(new_text))
    except Exception as exc:  # ruamel raises many types; any failure means we must not write
        raise ManifestError(f"{parsed.path}: rewriting produced invalid YAML ({exc}); no file was changed") from None
    if len(before) != len(after):
        raise ManifestError(f"{parsed.path}: rewriting changed the number of documents; no file was changed")
    for document, path, change in expected:
        container = _at(before[document], path)
        resources = merged_resources(container.get("resources"), change)
        container["resources"] = resources
        got = _at(after[document], path)
        got_resources = got.get("resources")
        if _normalized(got_resources) != _normalized(resources):
            raise ManifestError(
                f"{parsed.path}: could not rewrite container {container.get('name')!r} safely "
                f"(unusual YAML layout); edit its resources by hand; no file was changed"
            )
        got["resources"] = resources
    if before != after:
        raise ManifestError(
            f"{parsed.path}: rewriting would change more than resources (unusual YAML layout); "
            "edit it by hand; no file was changed"
        )


def _plain(value: Any) -> str | None:
    return None if value is None else str(value)


def plan_manifests(root: Path, targets: Iterable[ResourceTarget], *, namespace: str | None = None) -> ManifestPlan:
    """What changes ``targets`` make to the manifests under ``root`` (nothing is written)."""
    targets = list(targets)
    for target in targets:
        _check_kind(target.ref)
    files = scan(root, default_namespace=namespace or "default")
    by_ref: dict[WorkloadRef, list[tuple[ParsedFile, FoundWorkload]]] = {}
    for parsed in files:
        for workload in parsed.workloads:
            by_ref.setdefault(workload.ref, []).append((parsed, workload))
    edits: dict[Path, list[Edit]] = {}
    expected: dict[Path, list[tuple[int, tuple[Any, ...], Change]]] = {}
    field_changes: list[FieldChange] = []
    unmatched: list[ResourceTarget] = []
    for target in targets:
        matched = False
        for parsed, workload in by_ref.get(target.ref, []):
            for container in workload.containers:
                if container.name != target.container:
                    continue
                matched = True
                change = _effective(container.node, target.change)
                if not change:
                    continue
                current = container.node.get("resources")
                try:
                    new_edits = container_edits(parsed.lines, container.node, change, workload.indent_step)
                except ManifestError as exc:
                    raise ManifestError(
                        f"{parsed.path}:{container.node.lc.line + 1}: {workload.ref} container {container.name}: "
                        f"{exc}; no file was changed"
                    ) from None
                edits.setdefault(parsed.path, []).extend(new_edits)
                expected.setdefault(parsed.path, []).append((workload.document, container.path, change))
                for fld, after in sorted(change.items()):
                    part = current.get(fld[0]) if isinstance(current, dict) else None
                    before = part.get(fld[1]) if isinstance(part, dict) else None
                    field_changes.append(FieldChange(workload.ref, container.name, fld, _plain(before), after))
        if not matched:
            unmatched.append(target)
    changed: list[FileChange] = []
    display_root = root if root.is_dir() else root.parent
    for parsed in files:
        if parsed.path not in edits:
            continue
        new_text = apply_edits(parsed.lines, edits[parsed.path])
        _verify(parsed, new_text, expected[parsed.path])
        prefix = "\ufeff" if parsed.bom else ""
        display = str(parsed.path.relative_to(display_root))
        changed.append(FileChange(parsed.path, display, prefix + parsed.text, prefix + new_text))
    workloads = tuple(sorted({w.ref for parsed in files for w in parsed.workloads}))
    return ManifestPlan(root, tuple(changed), tuple(field_changes), workloads, tuple(unmatched))


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
