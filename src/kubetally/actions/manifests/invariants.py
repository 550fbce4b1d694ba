"""The invariants every planned pod must keep before anything is written.

Pure functions over plain ``resources`` mappings (``{"requests": {"cpu": "250m"}, ...}``):

- every value is a Kubernetes quantity (``cpu: 1e3m`` is an error, never silently replaced)
  and none is a template expression (``{{ .Values.cpu }}``);
- requests ≤ limits for every resource: a recommended request above the limit that will run
  raises that limit to the request (with a note); a recommended limit below the request that
  will run is refused;
- the pod's QoS class (Kubernetes' rules, ``pkg/apis/core/helper/qos``) is kept unless
  ``allow_qos_change``: a Guaranteed pod gets limits = requests, any other change is refused.

"What will run" is the manifest's value (after a GitOps sync), not the live one; where the two
differ the planner reports the drift and these checks use the manifest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from kubetally.actions.manifests.textedit import SECTIONS, Change, Field, merged_resources
from kubetally.model.quantity import QuantityError, format_cpu, format_memory, parse_quantity

QoS = Literal["Guaranteed", "Burstable", "BestEffort"]
COMPUTE = ("cpu", "memory")
TEMPLATE = re.compile(r"\{\{|\}\}|\$\{[^}]*\}|<%")
"""Helm/Go templates, envsubst-style ``${VAR}``, ERB: text a renderer replaces later."""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and TEMPLATE.search(value) is not None


def quantity_of(value: Any) -> Decimal | None:
    """The exact value, or None when ``value`` is not a quantity."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return parse_quantity(value if isinstance(value, int | float) else str(value))
    except QuantityError:
        return None


def value_problems(resources: Any) -> list[str]:
    """Why these resources cannot be edited safely (bad quantities, templates, odd shapes); [] if fine."""
    if resources is None:
        return []
    if is_template(resources):
        return [f"resources is a template expression ({resources!r}); edit the chart's values instead"]
    if not isinstance(resources, Mapping):
        return [f"resources is not a mapping ({type(resources).__name__})"]
    problems: list[str] = []
    for section, values in resources.items():
        if section not in (*SECTIONS, "claims"):
            problems.append(f"unknown resources section {section!r}")
            continue
        if section == "claims" or values is None:
            continue
        if is_template(values):
            problems.append(f"resources.{section} is a template expression ({values!r}); edit the values instead")
            continue
        if not isinstance(values, Mapping):
            problems.append(f"resources.{section} is not a mapping")
            continue
        for resource, value in values.items():
            where = f"{section}.{resource}"
            if is_template(value):
                problems.append(f"{where} is a template expression ({value!r}); edit the chart's values instead")
            elif quantity_of(value) is None:
                problems.append(f"{where} {value!r} is not a valid Kubernetes quantity; fix it by hand first")
            elif quantity_of(value) is not None and quantity_of(value) < 0:  # type: ignore[operator]
                problems.append(f"{where} {value!r} is negative")
    return problems


def _section(resources: Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    part = (resources or {}).get(name)
    return part if isinstance(part, Mapping) else {}


def effective_requests(resources: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """Requests as the API server stores them: a request not given defaults to its limit."""
    requests = {k: q for k, v in _section(resources, "requests").items() if (q := quantity_of(v)) is not None}
    for k, v in _section(resources, "limits").items():
        q = quantity_of(v)
        if k not in requests and q is not None:
            requests[k] = q
    return requests


def qos_class(pod: Mapping[str, Mapping[str, Any] | None]) -> QoS:
    """Kubernetes' QoS class of a pod whose containers (init ones too) have these resources."""
    any_set = False
    guaranteed = True
    for resources in pod.values():
        requests = effective_requests(resources)
        limits = {k: q for k, v in _section(resources, "limits").items() if (q := quantity_of(v)) is not None}
        if any(k in requests or k in limits for k in COMPUTE):
            any_set = True
        for k in COMPUTE:
            if k not in limits or requests.get(k) != limits[k]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


@dataclass(frozen=True)
class Checked:
    """The changes to write for one pod (adjusted to keep the invariants), or why none may be."""

    changes: dict[str, dict[Field, str | None]]
    notes: tuple[str, ...] = ()
    refused: str | None = None
    qos_before: QoS = "BestEffort"
    qos_after: QoS = "BestEffort"


def _text(resource: str, value: Decimal) -> str:
    return format_cpu(value) if resource == "cpu" else format_memory(value)


def requests_over_limits(resources: Mapping[str, Any] | None) -> list[str]:
    """The resources whose (effective) request is above the limit: an object the API server rejects."""
    limits = {k: q for k, v in _section(resources, "limits").items() if (q := quantity_of(v)) is not None}
    return sorted(k for k, request in effective_requests(resources).items() if k in limits and request > limits[k])


def _limits_over_requests(
    name: str, before: Mapping[str, Any] | None, change: dict[Field, str | None], notes: list[str]
) -> str | None:
    """Raise limits the recommended request exceeds (noted); the reason to refuse otherwise."""
    after = merged_resources(before, change)
    requests = _section(after, "requests")
    limits = _section(after, "limits")
    broken = requests_over_limits(before)
    for resource in requests_over_limits(after):
        if resource not in requests:  # pragma: no cover - a defaulted request equals its limit
            continue
        if ("requests", resource) in change and ("limits", resource) not in change:
            change[("limits", resource)] = _text(resource, quantity_of(requests[resource]))  # type: ignore[arg-type]
            why = "already above the limit" if resource in broken else "above the limit"
            notes.append(
                f"container {name}: limits.{resource} raised from {limits[resource]} to "
                f"{change[('limits', resource)]} (the recommended request is {why} in the manifest)"
            )
            continue
        verb = "is already" if resource in broken else "would be"
        return (
            f"container {name}: requests.{resource} {requests[resource]} {verb} above limits.{resource} "
            f"{limits[resource]} (the API server rejects that)"
        )
    return None


def checked_changes(
    pod: Mapping[str, Mapping[str, Any] | None],
    changes: Mapping[str, Change],
    *,
    allow_qos_change: bool = False,
) -> Checked:
    """Apply ``changes`` (container -> field changes) to ``pod`` (container -> resources) under the invariants."""
    for name in changes:
        problems = value_problems(pod.get(name))
        if problems:
            return Checked({}, refused=f"container {name}: {problems[0]}")
    for name, resources in pod.items():  # QoS is a property of the whole pod: its values must be readable
        if name not in changes and value_problems(resources):
            return Checked({}, refused=f"container {name}: {value_problems(resources)[0]}")
    before = qos_class(pod)
    notes: list[str] = []
    adjusted: dict[str, dict[Field, str | None]] = {name: dict(change) for name, change in changes.items()}

    def after_pod() -> dict[str, Mapping[str, Any] | None]:
        return {
            name: merged_resources(resources, adjusted[name]) if name in adjusted else resources
            for name, resources in pod.items()
        }

    for name, change in adjusted.items():
        reason = _limits_over_requests(name, pod.get(name), change, notes)
        if reason:
            return Checked({}, refused=reason, qos_before=before)
    after = qos_class(after_pod())
    if after != before and not allow_qos_change:
        if before == "Guaranteed":
            for name, change in adjusted.items():
                requests = effective_requests(merged_resources(pod.get(name), change))
                for resource in COMPUTE:
                    if resource in requests:
                        change[("limits", resource)] = _text(resource, requests[resource])
                        change.setdefault(("requests", resource), _text(resource, requests[resource]))
            notes.append("Guaranteed QoS kept: limits set to the recommended requests (--allow-qos-change to drop it)")
            after = qos_class(after_pod())
        if after != before:
            return Checked(
                {},
                refused=f"the pod's QoS class would change from {before} to {after} "
                "(pass --allow-qos-change to allow it)",
                qos_before=before,
                qos_after=after,
            )
    for name, final in after_pod().items():  # the last word, untouched containers too
        for resource in requests_over_limits(final):
            wants, caps = _section(final, "requests"), _section(final, "limits")
            return Checked(
                {},
                refused=f"container {name}: requests.{resource} {wants.get(resource)} is already above "
                f"limits.{resource} {caps.get(resource)} in the manifest (the API server rejects that); "
                "fix it by hand first",
                qos_before=before,
            )
    return Checked(adjusted, tuple(notes), None, before, after)
