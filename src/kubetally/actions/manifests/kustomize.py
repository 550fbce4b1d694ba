"""Kustomize trees: which workload each overlay renders, and which file sets each of its resource values.

A small renderer of our own follows what decides names and resources — ``resources`` (files and
folders), ``components``, strategic-merge patches (``patches``, ``patchesStrategicMerge``, with or
without a ``target``), ``namePrefix``/``nameSuffix``/``namespace`` — in kustomize's order
(resources, components, the layer's patches, then its namespace and name transformers). What it
cannot follow (a JSON 6902 or inline patch that touches ``resources``, a patch selected by labels,
a remote base) blocks the edit of that workload with the reason. Everything else kustomize does
(images, labels, replicas, generators) cannot move a resource value, and ``kubectl kustomize``
checks the result of every edit before a file is written (``render_problem``).

A *root* is a kustomization under DIR that no other kustomization under DIR includes (an overlay,
or a lone base). A file may be edited for a root only when it is under DIR and no other root
uses it; a value set in a shared base is overridden by a patch in the overlay instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kubetally.actions.manifests.checks import schema_problem
from kubetally.actions.manifests.invariants import quantity_of
from kubetally.actions.manifests.lines import ManifestError
from kubetally.actions.manifests.scan import (
    KUSTOMIZATIONS,
    FoundContainer,
    FoundWorkload,
    ParsedFile,
    WorkloadRef,
    parse_workloads,
    read_file,
)
from kubetally.actions.manifests.textedit import SECTIONS, Field

PATCH_FILE = "kubetally-resources.yaml"
"""The strategic-merge patch kubetally suggests for an overlay whose values come from a shared base."""
RENDER_TIMEOUT = 120


@dataclass
class Layer:
    """One source of a rendered container's resources: the object itself or a patch of it."""

    parsed: ParsedFile
    workload: FoundWorkload
    container: FoundContainer | None
    """The container of that name in this layer (None: this layer does not mention it)."""


@dataclass
class Rendered:
    """A workload as a root renders it, with where it came from."""

    ref: WorkloadRef
    root: Path
    origin: tuple[ParsedFile, FoundWorkload]
    patches: list[tuple[ParsedFile, FoundWorkload]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """Why its resources cannot be mapped to files (the edit is refused with these)."""
    names: list[str] = field(default_factory=list)
    """Its names from the innermost layer out (patches may match any of them)."""
    namespace: str | None = None
    name_at_root: str = ""
    """The name a patch in the root's kustomization must use (before the root's own prefix)."""
    namespace_at_root: str | None = None

    def layers(self, container: str) -> list[Layer]:
        out = []
        for parsed, workload in [self.origin, *self.patches]:
            found = next((c for c in workload.containers if c.name == container), None)
            out.append(Layer(parsed, workload, found))
        return out


@dataclass
class KustomizeTree:
    """Every root under DIR with what it renders, and which roots use each file."""

    roots: list[Path]
    rendered: list[Rendered]
    users: dict[Path, set[Path]]
    """File -> the roots that read it."""
    files: set[Path]
    """Every file some kustomization reads (they are planned through the render, not alone)."""
    kustomizations: dict[Path, ParsedFile]
    notes: list[str]
    top: Path

    def exclusive(self, path: Path, root: Path) -> bool:
        """Whether ``path`` may be edited for ``root``: under DIR and used by no other root."""
        inside = path == self.top or self.top in path.parents
        return inside and self.users.get(path, set()) <= {root}


def _kustomization_in(folder: Path) -> Path | None:
    for name in KUSTOMIZATIONS:
        if (folder / name).is_file():
            return folder / name
    return None


def _entries(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return list(value) if isinstance(value, list) else []


def _touches_resources_json(ops: Any) -> bool:
    if not isinstance(ops, list):
        return True
    for op in ops:
        path = str(op.get("path", "")) if isinstance(op, Mapping) else ""
        if "resources" in path or re.fullmatch(r"(/spec)?(/template)?(/spec)?(/(init)?[cC]ontainers(/[^/]+)?)?", path):
            return True
    return False


def _touches_resources_smp(doc: Any) -> bool:
    text = str(doc)
    return "resources" in text or "$patch" in text


class _Renderer:
    def __init__(self, top: Path, cache: dict[Path, ParsedFile], default_namespace: str) -> None:
        self.top = top
        self.cache = cache
        self.default_namespace = default_namespace
        self.read: set[Path] = set()
        self.kustomizations: dict[Path, ParsedFile] = {}
        self.notes: list[str] = []

    def file(self, path: Path) -> ParsedFile:
        path = path.resolve()
        self.read.add(path)
        if path not in self.cache:
            parsed = read_file(path)
            parse_workloads(parsed, None, self.default_namespace)
            self.cache[path] = parsed
        return self.cache[path]

    def kustomization(self, folder: Path) -> tuple[ParsedFile, Mapping[str, Any]]:
        path = _kustomization_in(folder)
        if path is None:
            raise ManifestError(f"{folder}: a kustomize resource folder without a kustomization.yaml")
        path = path.resolve()
        self.read.add(path)
        if path not in self.kustomizations:
            self.kustomizations[path] = read_file(path)
        docs = self.kustomizations[path].documents
        doc = docs[0] if docs else None
        if not isinstance(doc, Mapping):
            raise ManifestError(f"{path}: not a kustomization")
        return self.kustomizations[path], doc

    def render(self, folder: Path, stack: tuple[Path, ...] = ()) -> list[Rendered]:
        folder = folder.resolve()
        if folder in stack:
            raise ManifestError(f"{folder}: kustomizations include each other in a cycle")
        kfile, doc = self.kustomization(folder)
        where = str(kfile.path)
        items: list[Rendered] = []
        for entry in _entries(doc, "resources") + _entries(doc, "bases"):
            if not isinstance(entry, str):
                continue
            if "://" in entry or entry.startswith(("github.com/", "git@")):
                self.notes.append(f"{where}: remote resource {entry} is not read (its workloads are not planned)")
                continue
            target = folder / entry
            if target.is_dir():
                items += self.render(target, (*stack, folder))
            elif target.is_file():
                parsed = self.file(target)
                for workload in parsed.workloads:
                    name = workload.ref.name
                    ns = _namespace_of(workload)
                    items.append(Rendered(workload.ref, folder, (parsed, workload), names=[name], namespace=ns))
            else:
                raise ManifestError(f"{where}: resource {entry} does not exist")
        for entry in _entries(doc, "components"):
            if not isinstance(entry, str):
                continue
            component = (folder / entry).resolve()
            _, cdoc = self.kustomization(component)
            for res in _entries(cdoc, "resources"):
                target = component / str(res)
                if target.is_file():
                    parsed = self.file(target)
                    for workload in parsed.workloads:
                        name = workload.ref.name
                        items.append(
                            Rendered(
                                workload.ref,
                                folder,
                                (parsed, workload),
                                names=[name],
                                namespace=_namespace_of(workload),
                            )
                        )
                elif target.is_dir():
                    items += self.render(target, (*stack, folder))
            self._patch(component, cdoc, items)
            self._transform(cdoc, items)
        self._patch(folder, doc, items)
        self._transform(doc, items)
        return items

    def _patch(self, folder: Path, doc: Mapping[str, Any], items: list[Rendered]) -> None:
        where = str(_kustomization_in(folder))
        for entry in _entries(doc, "patchesStrategicMerge"):
            if isinstance(entry, str) and "\n" not in entry and (folder / entry).is_file():
                self._smp_file(folder / entry, None, items, where)
            else:
                self._inline(entry, None, items, where)
        for entry in _entries(doc, "patches") + _entries(doc, "patchesJson6902"):
            if not isinstance(entry, Mapping):
                continue
            target = entry.get("target") if isinstance(entry.get("target"), Mapping) else None
            if isinstance(entry.get("path"), str):
                path = folder / entry["path"]
                if not path.is_file():
                    raise ManifestError(f"{where}: patch {entry['path']} does not exist")
                docs = self.file(path).documents
                if docs and isinstance(docs[0], list):  # a JSON 6902 patch file
                    self._json(docs[0], target, items, f"{path}")
                else:
                    self._smp_file(path, target, items, where)
            elif isinstance(entry.get("patch"), str):
                self._inline(entry["patch"], target, items, where)

    def _matches(
        self, items: list[Rendered], kind: str | None, name: str | None, target: Mapping[str, Any] | None
    ) -> list[Rendered]:
        if target is not None:
            kind = target.get("kind", kind) if isinstance(target.get("kind"), str) else kind
            name = target.get("name") if isinstance(target.get("name"), str) else None
            by_regex = True
        else:
            by_regex = False
        found = []
        for item in items:
            if kind is not None and item.ref.kind != kind:
                continue
            if name is not None:
                hit = any((re.fullmatch(name, n) if by_regex else n == name) for n in item.names)
                if not hit:
                    continue
            found.append(item)
        return found

    def _selector_block(self, target: Mapping[str, Any] | None, items: list[Rendered], where: str) -> bool:
        if target is not None and ("labelSelector" in target or "annotationSelector" in target):
            for item in self._matches(items, None, None, {k: v for k, v in target.items() if k in ("kind", "name")}):
                item.blocked.append(f"a patch selected by labels or annotations in {where} may set its resources")
            return True
        return False

    def _smp_file(self, path: Path, target: Mapping[str, Any] | None, items: list[Rendered], where: str) -> None:
        parsed = self.file(path)
        for doc in parsed.documents:
            if not isinstance(doc, Mapping) or not _touches_resources_smp(doc):
                continue
            if self._selector_block(target, items, where):
                continue
            kind = doc.get("kind") if isinstance(doc.get("kind"), str) else None
            meta = doc.get("metadata")
            name = meta.get("name") if isinstance(meta, Mapping) else None
            workload = next((w for w in parsed.workloads if w.obj is doc), None)
            if doc.get("$patch") == "delete" or (isinstance(meta, Mapping) and meta.get("$patch") == "delete"):
                for item in self._matches(items, kind, name if isinstance(name, str) else None, target):
                    items.remove(item)
                continue
            for item in self._matches(items, kind, name if isinstance(name, str) else None, target):
                if workload is None:
                    line: Any = doc
                    item.blocked.append(
                        f"the patch {path}:{line.lc.line + 1} sets its resources in a form kubetally cannot read"
                    )
                else:
                    item.patches.append((parsed, workload))

    def _inline(self, text: Any, target: Mapping[str, Any] | None, items: list[Rendered], where: str) -> None:
        try:
            docs = list(YAML(typ="safe", pure=True).load_all(str(text)))
        except Exception:
            docs = [None]
        for doc in docs:
            if isinstance(doc, list):
                self._json(doc, target, items, where)
                continue
            if doc is not None and not _touches_resources_smp(doc):
                continue
            kind = doc.get("kind") if isinstance(doc, Mapping) else None
            meta = doc.get("metadata") if isinstance(doc, Mapping) else None
            name = meta.get("name") if isinstance(meta, Mapping) else None
            if isinstance(doc, Mapping) and (
                doc.get("$patch") == "delete" or (isinstance(meta, Mapping) and meta.get("$patch") == "delete")
            ):
                for item in self._matches(items, kind, name, target):
                    items.remove(item)
                continue
            for item in self._matches(items, kind, name, target):
                item.blocked.append(f"an inline patch in {where} sets its resources: edit it there by hand")

    def _json(self, ops: Any, target: Mapping[str, Any] | None, items: list[Rendered], where: str) -> None:
        if not _touches_resources_json(ops):
            return
        if target is None:
            return
        for item in self._matches(items, None, None, target):
            item.blocked.append(f"a JSON patch in {where} sets its containers or resources: edit it there by hand")

    def _transform(self, doc: Mapping[str, Any], items: list[Rendered]) -> None:
        prefix = doc.get("namePrefix") if isinstance(doc.get("namePrefix"), str) else ""
        suffix = doc.get("nameSuffix") if isinstance(doc.get("nameSuffix"), str) else ""
        namespace = doc.get("namespace") if isinstance(doc.get("namespace"), str) and doc.get("namespace") else None
        for item in items:
            item.name_at_root = item.names[-1]
            item.namespace_at_root = item.namespace
            if namespace is not None:
                item.namespace = namespace
            if prefix or suffix:
                item.names.append(f"{prefix}{item.names[-1]}{suffix}")


def _namespace_of(workload: FoundWorkload) -> str | None:
    meta = workload.obj.get("metadata") if workload.obj is not None else None
    ns = meta.get("namespace") if isinstance(meta, Mapping) else None
    return ns if isinstance(ns, str) and ns else None


def _referenced(kustomization: ParsedFile) -> list[Path]:
    doc = kustomization.documents[0] if kustomization.documents else None
    if not isinstance(doc, Mapping):
        return []
    folder = kustomization.path.parent
    out = []
    for key in ("resources", "bases", "components"):
        for entry in _entries(doc, key):
            if isinstance(entry, str) and "://" not in entry and (folder / entry).is_dir():
                out.append((folder / entry).resolve())
    return out


def kustomize_tree(
    top: Path, kustomization_files: Iterable[Path], cache: dict[Path, ParsedFile], default_namespace: str
) -> tuple[KustomizeTree, list[tuple[Path, str]]]:
    """Render every root under ``top``; the second item lists roots that could not be read, and why."""
    top = top.resolve()
    parsed = {}
    failed: list[tuple[Path, str]] = []
    for path in kustomization_files:
        try:
            parsed[path.resolve()] = read_file(path)
        except ManifestError as exc:
            failed.append((path, str(exc)))
    referenced = {ref for k in parsed.values() for ref in _referenced(k)}
    roots = []
    for path, kfile in sorted(parsed.items()):
        doc = kfile.documents[0] if kfile.documents else None
        if isinstance(doc, Mapping) and doc.get("kind") == "Component":
            continue
        if path.parent not in referenced:
            roots.append(path.parent)
    tree = KustomizeTree([], [], {}, set(), {}, [], top)
    for root in roots:
        renderer = _Renderer(top, cache, default_namespace)
        try:
            items = renderer.render(root)
        except ManifestError as exc:
            failed.append((root, str(exc)))
            continue
        tree.roots.append(root)
        tree.notes += renderer.notes
        tree.kustomizations.update(renderer.kustomizations)
        for path in renderer.read:
            tree.users.setdefault(path, set()).add(root)
        tree.files |= renderer.read
        for item in items:
            ns = item.namespace or default_namespace
            item.ref = WorkloadRef(ns, item.ref.kind, item.names[-1])
            item.root = root
            tree.rendered.append(item)
    return tree, failed


def smp_merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[Field, int]]:
    """The resources these layers render (strategic merge, field by field) and which layer set each field."""
    result: dict[str, dict[str, Any]] = {}
    definer: dict[Field, int] = {}
    for index, layer in enumerate(layers):
        if layer.container is None:
            continue
        resources = layer.container.node.get("resources")
        if not isinstance(resources, Mapping):
            continue
        for section in SECTIONS:
            values = resources.get(section)
            if section in resources and values is None and index > 0:  # `requests: null` removes the section
                for fld in [f for f in definer if f[0] == section]:
                    definer[fld] = index
                result.pop(section, None)
                continue
            if not isinstance(values, Mapping):
                continue
            for resource, value in values.items():
                definer[(section, resource)] = index
                if value is None:
                    result.get(section, {}).pop(resource, None)
                else:
                    result.setdefault(section, {})[resource] = value
    return {k: v for k, v in result.items() if v}, definer


def layer_problem(layers: list[Layer]) -> str | None:
    for layer in layers[1:]:
        if layer.container is None:
            continue
        resources = layer.container.node.get("resources")
        text = str(resources)
        if "$patch" in text or "$retainKeys" in text:
            return f"the patch {layer.parsed.path} uses a strategic-merge directive in resources: edit it by hand"
        if resources is not None and not isinstance(resources, Mapping):
            return f"the patch {layer.parsed.path} sets resources to a non-mapping: edit it by hand"
    return None


def suggested_patch(item: Rendered, changes: Mapping[str, Mapping[Field, str | None]], api_version: str) -> str:
    """A strategic-merge patch (YAML text) that gives ``item`` these values in its root's overlay."""
    lines = [f"apiVersion: {api_version}", f"kind: {item.ref.kind}", "metadata:", f"  name: {item.name_at_root}"]
    if item.namespace_at_root:
        lines.append(f"  namespace: {item.namespace_at_root}")
    pod = (
        ["spec", "jobTemplate", "spec", "template", "spec"]
        if item.ref.kind == "CronJob"
        else ["spec", "template", "spec"]
    )
    for depth, key in enumerate(pod):
        lines.append(f"{'  ' * depth}{key}:")
    col = "  " * len(pod)
    init_names = {c.name for c in item.origin[1].containers if c.init}
    for list_key, init in (("initContainers", True), ("containers", False)):
        names = [n for n in changes if (n in init_names) == init]
        if not names:
            continue
        lines.append(f"{col}{list_key}:")
        for name in names:
            lines += [f"{col}- name: {name}", f"{col}  resources:"]
            for section in SECTIONS:
                values = {r: v for (s, r), v in sorted(changes[name].items()) if s == section}
                if values:
                    lines.append(f"{col}    {section}:")
                    lines += [f"{col}      {r}: {'null' if v is None else v}" for r, v in values.items()]
    return "\n".join(lines) + "\n"


def _load_all(text: str) -> list[Any]:
    return [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]


def kubectl_kustomize(folder: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ManifestError("kubectl not found: cannot render the kustomization (apt-get install kubernetes-client)")
    try:
        done = subprocess.run(
            [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ManifestError(f"kubectl kustomize {folder} took over {RENDER_TIMEOUT} s") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise ManifestError(f"kubectl kustomize {folder}: {first}")
    return done.stdout


def _key(doc: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = doc.get("metadata") or {}
    return (str(doc.get("apiVersion")), str(doc.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    return pod if isinstance(pod, dict) else {}


def _normalized(resources: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(resources, Mapping):
        return {}
    return {
        s: {r: quantity_of(v) for r, v in vals.items()}
        for s, vals in resources.items()
        if isinstance(vals, Mapping) and vals
    }


def render_problem(
    root: Path,
    scope: Path,
    new_texts: Mapping[Path, str],
    expected: Mapping[WorkloadRef, Mapping[str, Mapping[str, Any]]],
    *,
    version: str,
    default_namespace: str,
) -> str | None:
    """Render ``root`` with kubectl before and after the edits; why the result is unsafe, or None.

    The rendered objects must be the same except the ``resources`` of the ``expected`` workloads'
    containers, which must be exactly the expected ones, and those workloads must validate.
    """
    before = _load_all(kubectl_kustomize(root))
    with tempfile.TemporaryDirectory(prefix="kubetally-render-") as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(scope, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        for path, text in new_texts.items():
            target = copy / path.resolve().relative_to(scope)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        try:
            after = _load_all(kubectl_kustomize(copy / root.relative_to(scope)))
        except ManifestError as exc:  # name the user's files, not the temporary copy
            raise ManifestError(str(exc).replace(str(copy), str(scope))) from None
    if sorted(map(_key, before)) != sorted(map(_key, after)):
        return "the edit changes which objects the kustomization renders"
    by_key = {_key(d): d for d in before}
    for doc in after:
        old = by_key[_key(doc)]
        meta = doc.get("metadata") or {}
        ref = WorkloadRef(str(meta.get("namespace") or default_namespace), str(doc.get("kind")), str(meta.get("name")))
        want = expected.get(ref)
        if want is not None:
            problem = schema_problem(doc, version)
            if problem is not None:
                return (
                    f"{ref} as {root} renders it does not validate against the Kubernetes {version} schema: {problem}"
                )
            containers = _pod(doc).get("initContainers", []) + _pod(doc).get("containers", [])
            for container in containers:
                wanted = want.get(container.get("name"))
                if wanted is not None and _normalized(container.get("resources")) != _normalized(wanted):
                    return (
                        f"kubectl kustomize renders container {container.get('name')} of {ref} with "
                        f"{container.get('resources')}, not the planned {dict(wanted)}"
                    )
            for container in _pod(old).get("initContainers", []) + _pod(old).get("containers", []):
                container.pop("resources", None)
            for container in containers:
                container.pop("resources", None)
        if old != doc:
            meta_old = old.get("metadata") or {}
            what = f"{old.get('kind')} {meta_old.get('name')}"
            return f"the edit changes more than resources in what {root} renders ({what})"
    return None


@dataclass
class OverlayPatch:
    """Values of one workload to write into its root's own patch (its base is shared)."""

    group: int
    item: Rendered
    changes: dict[str, dict[Field, str | None]]
    api_version: str
    notes: list[str] = field(default_factory=list)


def _patch_entry_listed(doc: Mapping[str, Any]) -> bool:
    return any(isinstance(e, Mapping) and e.get("path") == PATCH_FILE for e in _entries(doc, "patches"))


def with_patch_entry(kustomization: ParsedFile) -> str | None:
    """The kustomization's text with ``- path: kubetally-resources.yaml`` under ``patches:`` (None: cannot)."""
    doc = kustomization.documents[0] if kustomization.documents else None
    if not isinstance(doc, Mapping):
        return None
    if _patch_entry_listed(doc):
        return kustomization.text
    lines = kustomization.lines
    newline = next((ln[len(ln.rstrip("\r\n")) :] for ln in lines if ln.rstrip("\r\n") != ln), "\n")
    if "patches" not in doc:
        text = kustomization.text
        if text and not text.endswith(("\n", "\r")):
            text += newline
        return text + f"patches:{newline}- path: {PATCH_FILE}{newline}"
    patches = doc["patches"]
    if not isinstance(patches, list) or not patches:
        return None
    seq: Any = patches
    if seq.fa.flow_style():
        return None
    line, col = seq.lc.item(0)
    dash = lines[line].rfind("-", 0, col + 1)
    if dash < 0:
        return None
    new = [*lines[:line], f"{' ' * dash}- path: {PATCH_FILE}{newline}", *lines[line:]]
    return "".join(new)


def overlay_texts(root: Path, patches: list[OverlayPatch], kustomization: ParsedFile) -> tuple[str, str] | str:
    """(new kustomization text, new patch file text), or why these patches cannot be written."""
    path = root / PATCH_FILE
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    doc = kustomization.documents[0] if kustomization.documents else {}
    if existing and not (isinstance(doc, Mapping) and _patch_entry_listed(doc)):
        return f"{path} exists but {kustomization.path} does not use it; not overwritten"
    new_k = with_patch_entry(kustomization)
    if new_k is None:
        return f"cannot add `- path: {PATCH_FILE}` to the patches of {kustomization.path} (flow style?)"
    docs = [suggested_patch(p.item, p.changes, p.api_version) for p in patches]
    if existing:
        text = existing + ("" if existing.endswith("\n") else "\n") + "".join(f"---\n{d}" for d in docs)
    else:
        header = "# Resource values for this overlay, written by kubetally rightsize (a strategic-merge patch).\n"
        text = header + "---\n".join(docs)
    return new_k, text
