"""Reading ``kubectl get <kinds> -A -o json`` (or ``-o yaml``) output: files, directories, Lists, streams.

Accepted: a ``kind: List`` (what kubectl prints for several kinds), a typed list (``PodList`` as the
API returns it, whose items carry no ``kind``), a single object, and YAML files with several
documents. A directory is read recursively (``*.json``, ``*.yaml``, ``*.yml``), in name order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kubetally.errors import SourceError
from kubetally.sources.kubernetes.objects import Obj

SUFFIXES = (".json", ".yaml", ".yml")


def _documents(path: Path) -> list[Any]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: unreadable: {exc}") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    try:
        return [d for d in YAML(typ="safe").load_all(text) if d is not None]
    except YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _flatten(doc: Any, where: str) -> Iterator[Obj]:
    if isinstance(doc, list):
        for item in doc:
            yield from _flatten(item, where)
        return
    if not isinstance(doc, dict):
        raise SourceError(f"{where}: expected Kubernetes objects or a List, found {type(doc).__name__}")
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[: -len("List")] or None
        for item in doc["items"]:
            if isinstance(item, dict):
                if item_kind and "kind" not in item:  # a typed list from the API: items carry no kind
                    yield from _flatten({"kind": item_kind, "apiVersion": doc.get("apiVersion", "v1"), **item}, where)
                else:
                    yield from _flatten(item, where)
        return
    if not isinstance(kind, str) or not isinstance(doc.get("metadata"), dict):
        raise SourceError(f"{where}: an item without kind/metadata is not a Kubernetes object")
    yield doc


def read_dump(path: Path) -> list[Obj]:
    """Every object in ``path`` (a file, or a directory read recursively)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise SourceError(f"{path}: no .json/.yaml files (write one with kubectl get <kinds> -A -o json)")
    elif path.is_file():
        files = [path]
    else:
        raise SourceError(f"{path}: no such file or directory")
    objects: list[Obj] = []
    for file in files:
        for doc in _documents(file):
            objects.extend(_flatten(doc, str(file)))
    return objects
