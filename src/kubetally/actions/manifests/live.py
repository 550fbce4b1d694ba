"""The invariants of ``invariants`` for outputs applied to the live objects (``-o patch``, ``-o vpa``).

There the base is what runs now (the dataset's current values), not a manifest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from kubetally.actions.manifests.invariants import checked_changes
from kubetally.actions.manifests.plan import ResourceTarget
from kubetally.actions.manifests.scan import WorkloadRef
from kubetally.actions.manifests.settings import ManifestSettings
from kubetally.actions.manifests.textedit import Change, merged_resources


@dataclass(frozen=True)
class LiveCheck:
    targets: tuple[ResourceTarget, ...]
    """The targets to output, adjusted to keep the invariants."""
    refused: tuple[tuple[WorkloadRef, str], ...]
    notes: tuple[tuple[WorkloadRef, str], ...]


def _live_resources(target: ResourceTarget) -> dict[str, Any]:
    return merged_resources(None, {fld: value for fld, value in target.live.items() if value is not None})


def checked_live_targets(targets: Iterable[ResourceTarget], settings: ManifestSettings | None = None) -> LiveCheck:
    """Per workload: apply the changes to the live resources under the invariants; refuse what breaks them."""
    settings = settings or ManifestSettings()
    groups: dict[tuple[str, WorkloadRef], list[ResourceTarget]] = {}
    for target in targets:
        groups.setdefault((target.cluster, target.ref), []).append(target)
    kept: list[ResourceTarget] = []
    refused: list[tuple[WorkloadRef, str]] = []
    notes: list[tuple[WorkloadRef, str]] = []
    for (_, ref), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        pod = {t.container: _live_resources(t) for t in group}
        changes: dict[str, Change] = {t.container: t.change for t in group if t.change}
        if not changes:
            continue
        checked = checked_changes(pod, changes, allow_qos_change=settings.allow_qos_change)
        if checked.refused is not None:
            refused.append((ref, checked.refused))
            continue
        notes += [(ref, note) for note in checked.notes]
        kept += [replace(t, change=checked.changes[t.container]) for t in group if checked.changes.get(t.container)]
    return LiveCheck(tuple(kept), tuple(refused), tuple(notes))
