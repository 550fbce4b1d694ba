"""Find the workloads in a directory of Kubernetes YAML, with their source positions.

Multi-document files, ``kind: List`` and nested folders are read; the namespace of
a document comes from the nearest ``kustomization.yaml`` that sets one (kustomize
overrides the documents' own), else the document, else ``--namespace``, else
``default``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kubetally.actions.manifests.lines import ManifestError, split_lines
from kubetally.actions.manifests.settings import ManifestSettings
from kubetally.actions.manifests.textedit import is_map

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BOM = "\ufeff"


@dataclass(frozen=True, order=True)
class WorkloadRef:
    namespace: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"


@dataclass(frozen=True)
class FoundContainer:
    name: str
    init: bool
    node: Any
    """The ruamel CommentedMap of the container (positions in ``lc``)."""
    path: tuple[Any, ...]
    """Keys from the document root to the container, for checking the result."""


@dataclass(frozen=True)
class FoundWorkload:
    ref: WorkloadRef
    file: Path
    line: int
    """1-based line of the object's first key."""
    replicas: int | None
    containers: tuple[FoundContainer, ...]
    document: int
    """Index of the YAML document in the file."""
    indent_step: int
    obj: Any = field(default=None, repr=False, compare=False)
    """The ruamel node of the whole object."""
    prefix: tuple[Any, ...] = ()
    """Keys from the document root to the object (``("items", 3)`` in a ``kind: List``)."""


@dataclass
class ParsedFile:
    path: Path
    text: str
    """The file's text without a byte-order mark."""
    bom: bool
    lines: list[str]
    documents: list[Any]
    workloads: list[FoundWorkload] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Documents left out (not Kubernetes objects, kustomize patches), one line each."""

    @property
    def parse_text(self) -> str:
        """The text as parsed: tabs before a line end or comment (valid for kubectl's YAML) made spaces."""
        return tab_tolerant(self.text)


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be used, and why (one line)."""

    path: Path
    reason: str


@dataclass
class Tree:
    """What a manifest tree holds: the parsed files, the files skipped and why."""

    root: Path
    files: list[ParsedFile]
    skipped: list[SkippedFile] = field(default_factory=list)
    kustomizations: list[Path] = field(default_factory=list)
    """Every kustomization file under the root (rendered by ``kustomize``)."""
    charts: list[Path] = field(default_factory=list)
    """Folders holding a Helm chart (``Chart.yaml``): not edited, see ``helm``."""


_TRAILING_TAB = re.compile(r"\t(?=[ \t]*(?:#[^\r\n]*)?(?:\r\n|\r|\n|$))")


def tab_tolerant(text: str) -> str:
    """Tabs that end a line or precede a comment as spaces (same length, so positions hold).

    Go's YAML (kubectl) accepts them; ruamel does not.
    """
    return _TRAILING_TAB.sub(" ", text) if "\t" in text else text


def yaml_files(root: Path, settings: ManifestSettings | None = None) -> list[Path]:
    """Every ``*.yaml`` / ``*.yml`` under ``root`` (or ``root`` itself), skipping hidden folders and --exclude."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ManifestError(f"{root}: no such manifest file or directory")
    found = [
        path
        for path in root.rglob("*")
        if path.suffix in (".yaml", ".yml")
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts[:-1])
        and not (settings is not None and settings.excluded(path.relative_to(root).as_posix()))
    ]
    return sorted(found)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def read_file(path: Path) -> ParsedFile:
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_text(path, raw)


def parse_text(path: Path, raw: str) -> ParsedFile:
    bom = raw.startswith(BOM)
    text = raw[1:] if bom else raw
    try:
        documents = list(_yaml().load_all(tab_tolerant(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ManifestError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except YAMLError as exc:
        raise ManifestError(f"{path}: invalid YAML: {exc}") from None
    return ParsedFile(path, text, bom, split_lines(text), documents)


def kustomize_namespace(path: Path, root: Path) -> str | None:
    """The ``namespace:`` of the nearest kustomization in ``path``'s folder or above (within ``root``)."""
    folder = path.parent
    top = root if root.is_dir() else root.parent
    while True:
        for name in KUSTOMIZATIONS:
            candidate = folder / name
            if candidate.is_file():
                docs = read_file(candidate).documents
                value = docs[0].get("namespace") if docs and isinstance(docs[0], dict) else None
                if isinstance(value, str) and value:
                    return value
        if folder == top or top not in folder.parents:
            return None
        folder = folder.parent


def _pod_spec(obj: Any, kind: str) -> tuple[Any, tuple[str, ...]] | None:
    keys = ("spec", "jobTemplate", "spec", "template", "spec") if kind == "CronJob" else ("spec", "template", "spec")
    node = obj
    for key in keys:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return None
        node = node[key]
    return node, keys


def _indent_step(obj: Any) -> int:
    meta = obj.get("metadata")
    if is_map(meta) and len(meta) > 0 and getattr(meta, "lc", None) is not None:
        step = int(meta.lc.col) - int(obj.lc.col)
        if step > 0:
            return step
    return 2


def _workload(
    parsed: ParsedFile, obj: Any, document: int, prefix: tuple[Any, ...], namespace: str | None, default_ns: str
) -> FoundWorkload | None:
    if not is_map(obj):
        return None
    kind = obj.get("kind")
    where = f"{parsed.path}:{obj.lc.line + 1}"
    if not isinstance(kind, str):
        if "apiVersion" in obj:
            parsed.notes.append(f"{where}: not a Kubernetes object (apiVersion without kind): left alone")
        return None
    if kind not in WORKLOAD_KINDS:
        return None
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str):
        raise ManifestError(f"{where}: {kind} without metadata.name")
    if obj.get("$patch") == "delete" or (isinstance(meta, dict) and meta.get("$patch") == "delete"):
        parsed.notes.append(f"{where}: {kind} {name} is a kustomize `$patch: delete`, not an object: left alone")
        return None
    found = _pod_spec(obj, kind)
    if found is None:
        parsed.notes.append(f"{where}: {kind} {name} has no pod template (a kustomize patch?): left alone")
        return None
    pod_spec, keys = found
    doc_ns = meta.get("namespace") if isinstance(meta, dict) else None
    ns = namespace or (doc_ns if isinstance(doc_ns, str) and doc_ns else None) or default_ns
    containers: list[FoundContainer] = []
    for list_key, init in (("initContainers", True), ("containers", False)):
        items = pod_spec.get(list_key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise ManifestError(f"{where}: {kind} {name}: {list_key} is not a list")
        for index, item in enumerate(items):
            if not is_map(item) or not isinstance(item.get("name"), str):
                raise ManifestError(f"{where}: {kind} {name}: {list_key}[{index}] has no name")
            containers.append(FoundContainer(item["name"], init, item, (*prefix, *keys, list_key, index)))
    spec = obj.get("spec")
    replicas = spec.get("replicas") if kind in ("Deployment", "StatefulSet") and isinstance(spec, dict) else None
    if kind in ("Deployment", "StatefulSet") and replicas is None:
        replicas = 1
    return FoundWorkload(
        WorkloadRef(ns, kind, name),
        parsed.path,
        obj.lc.line + 1,
        replicas if isinstance(replicas, int) else None,
        tuple(containers),
        document,
        _indent_step(obj),
        obj,
        prefix,
    )


def parse_workloads(parsed: ParsedFile, override: str | None, default_namespace: str) -> None:
    for index, doc in enumerate(parsed.documents):
        objects: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            objects = [(item, ("items", i)) for i, item in enumerate(doc["items"])]
        for obj, prefix in objects:
            workload = _workload(parsed, obj, index, prefix, override, default_namespace)
            if workload is not None:
                parsed.workloads.append(workload)


def scan_tree(root: Path, *, default_namespace: str = "default", settings: ManifestSettings | None = None) -> Tree:
    """Parse every YAML file under ``root`` and find its workloads.

    A file that cannot be used (invalid YAML, a workload without a name, ...) is skipped and
    reported in :attr:`Tree.skipped`; with ``settings.strict`` the first one raises
    :class:`ManifestError` instead (so nothing is planned from a partly read tree).
    """
    settings = settings or ManifestSettings()
    tree = Tree(root, [])
    files = yaml_files(root, settings)
    tree.charts = sorted({path.parent for path in files if path.name == "Chart.yaml"})
    for path in files:
        if path.name in KUSTOMIZATIONS:
            tree.kustomizations.append(path)
            continue
        if any(chart == path.parent or chart in path.parents for chart in tree.charts):
            continue  # a chart's templates are not manifests; its values get a suggestion instead
        try:
            parsed = read_file(path)
            parse_workloads(parsed, kustomize_namespace(path, root), default_namespace)
        except ManifestError as exc:
            if settings.strict:
                raise ManifestError(f"{exc} (--strict); no file was changed") from None
            tree.skipped.append(SkippedFile(path, str(exc)))
            continue
        tree.files.append(parsed)
    return tree


def scan(root: Path, *, default_namespace: str = "default") -> list[ParsedFile]:
    """Every file under ``root`` with its workloads; the first file that cannot be used raises."""
    return scan_tree(root, default_namespace=default_namespace, settings=ManifestSettings(strict=True)).files
