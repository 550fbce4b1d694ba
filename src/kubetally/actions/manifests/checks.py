"""Checks of a rewritten file before it may be written: same meaning except the planned resources,
and every edited object valid against the Kubernetes schema (``kubernetes-validate``, strict)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
from ruamel.yaml import YAML

from kubetally.actions.manifests.invariants import quantity_of
from kubetally.actions.manifests.textedit import Change, merged_resources


@dataclass(frozen=True)
class Expected:
    """One edited object: where it is in the file and what its containers' resources must become."""

    key: int
    """The caller's id for the object."""
    document: int
    prefix: tuple[Any, ...]
    """Keys from the document root to the object (``("items", 3)`` in a ``kind: List``)."""
    containers: tuple[tuple[tuple[Any, ...], Change], ...]
    """(keys from the document root to a container, its change)."""
    validate: bool = True
    """Validate the object against the schema (not for a kustomize base or patch: its render is validated)."""


def _normalized(resources: Any) -> Any:
    if not isinstance(resources, Mapping):
        return resources
    return {
        key: {k: quantity_of(v) if quantity_of(v) is not None else v for k, v in value.items()}
        if isinstance(value, Mapping)
        else value
        for key, value in resources.items()
    }


def _at(doc: Any, path: Iterable[Any]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _load(text: str) -> list[Any]:
    return list(YAML(typ="safe", pure=True).load_all(text))


def schema_problem(obj: Any, version: str) -> str | None:
    """Why ``obj`` does not validate against the Kubernetes ``version`` schema (strict), or None."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return f"{obj.get('apiVersion')} {obj.get('kind')} is not in the Kubernetes {version} schema"
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(top)"
        return f"{where}: {exc.message}"
    except kubernetes_validate.InvalidSchemaError as exc:  # pragma: no cover - a broken schema install
        return f"cannot validate: {exc}"
    return None


def object_problem(
    before_text: str, after_text: str, objects: list[Expected], *, version: str
) -> tuple[str | None, dict[int, str]]:
    """(a reason the whole file is unsafe, or None; reasons per object key) for a rewrite."""
    try:
        before, after = _load(before_text), _load(after_text)
    except Exception as exc:  # ruamel raises many types; any failure means we must not write
        return f"rewriting produced invalid YAML ({str(exc).splitlines()[0]})", {}
    if len(before) != len(after):
        return "rewriting changed the number of documents", {}
    problems: dict[int, str] = {}
    for expected in objects:
        for path, change in expected.containers:
            container = _at(before[expected.document], path)
            resources = merged_resources(container.get("resources"), change)
            got = _at(after[expected.document], path)
            if _normalized(got.get("resources")) != _normalized(resources):
                problems[expected.key] = (
                    f"could not rewrite container {container.get('name')!r} safely (unusual YAML layout); "
                    "edit its resources by hand"
                )
            container["resources"] = resources
            got["resources"] = resources
    if problems:
        return None, problems
    if before != after:
        return "rewriting would change more than resources (unusual YAML layout); edit it by hand", {}
    for expected in objects:
        if not expected.validate:
            continue
        # Validate the edited object, and say whether it was already invalid before the edit.
        edited = _at(after[expected.document], expected.prefix)
        problem = schema_problem(edited, version)
        if problem is not None:
            original = _at(_load(before_text)[expected.document], expected.prefix)
            already = schema_problem(original, version) is not None
            problems[expected.key] = (
                f"does not validate against the Kubernetes {version} schema"
                f"{' (nor did it before the edit)' if already else ''}: {problem}"
            )
    return None, problems
