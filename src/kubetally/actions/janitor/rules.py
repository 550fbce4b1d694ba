"""The janitor's rules file, kube-janitor's annotations and the safety settings, as validated models.

kube-janitor compatible annotations on any object:

- ``janitor/ttl``: a time to live counted from ``metadata.creationTimestamp``: a number and a unit
  ``s``, ``m``, ``h``, ``d`` or ``w`` (``30m``, ``24h``, ``7d``, ``2w``), or ``forever``;
- ``janitor/expires``: an absolute time, ISO 8601 (``2026-12-31``, ``2026-12-31T18:00:00Z``, ``2026-12-31T18:00``),
  UTC when no offset is given.

The rules file (YAML) adds rules by kind, namespace, selector and age, rules that delete what a
``kubetally waste`` rule reports, and ephemeral namespaces by label and age.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kubetally.model.config import validated, yaml_mapping

TTL_ANNOTATION = "janitor/ttl"
EXPIRES_ANNOTATION = "janitor/expires"
PROTECT_ANNOTATION = "kubetally.io/protect"
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")

KINDS = (
    "Namespace", "CronJob", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod",
    "HorizontalPodAutoscaler", "Ingress", "Service", "ServiceAccount", "ConfigMap", "Secret",
    "PersistentVolumeClaim", "PersistentVolume",
)  # fmt: skip
"""Kinds the janitor lists and may delete."""


def parse_ttl(text: str) -> timedelta | None:
    """A ``janitor/ttl`` value as a duration; None for ``forever``. ValueError when malformed."""
    if text.strip().lower() == "forever":
        return None
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration (30m, 24h, 7d, 2w or forever)")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def parse_expires(text: str) -> datetime:
    """A ``janitor/expires`` value as an aware UTC time (UTC when it has no offset)."""
    value = text.strip()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or time (2026-12-31 or 2026-12-31T18:00:00Z)") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("write a duration such as 30m, 24h, 7d or 2w")
    ttl = parse_ttl(value)
    if ttl is None:
        raise ValueError("forever is not an age")
    return ttl


Age = Annotated[timedelta, Field(description="A duration: 30m, 24h, 7d, 2w.")]


def parse_selector(text: str) -> dict[str, str]:
    """``key=value[,key=value]`` (equality only, as ``--selector``); ValueError otherwise."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().rstrip("=")
        if not sep or not key or "!" in key:
            raise ValueError(f"{text!r}: write key=value pairs joined by commas (equality only)")
        out[key] = value.strip().lstrip("=")
    if not out:
        raise ValueError("an empty selector would match everything")
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """Delete objects of ``kinds`` in ``namespaces`` matching ``selector`` once older than ``min_age``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Rule id, shown in the plan and the audit log.")
    kinds: tuple[str, ...] = Field(min_length=1, description="Kinds the rule deletes (Deployment, ConfigMap ...).")
    namespaces: tuple[str, ...] = Field(("*",), description="Namespace globs (cluster-scoped objects: '').")
    selector: dict[str, str] = Field(default_factory=dict, description="Labels every object must carry.")
    min_age: Age | None = Field(None, description="Only objects created at least this long ago.")
    waste_rule: str | None = Field(
        None, description="Only objects this `kubetally waste` rule reports (orphaned-configmap, unused-pvc ...)."
    )

    @field_validator("min_age", mode="before")
    @classmethod
    def _age(cls, value: object) -> timedelta | None:
        return None if value is None else _duration(value)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in value if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}; the janitor handles {', '.join(KINDS)}")
        return value


class EphemeralNamespaces(_Strict):
    """Namespaces matching ``selector`` are deleted (with everything in them) once older than ``max_age``."""

    selector: dict[str, str] = Field(min_length=1, description="Labels of the ephemeral namespaces (ci=true).")
    max_age: Age = Field(description="Age after which such a namespace is deleted.")

    @field_validator("max_age", mode="before")
    @classmethod
    def _age(cls, value: object) -> timedelta:
        return _duration(value)


class JanitorRules(_Strict):
    """The rules file (docs/janitor.md)."""

    rules: tuple[Rule, ...] = ()
    ephemeral_namespaces: tuple[EphemeralNamespaces, ...] = ()
    annotations: bool = Field(True, description="Honour janitor/ttl and janitor/expires annotations.")
    protected_namespaces: tuple[str, ...] = Field(
        PROTECTED_NAMESPACES, description="Never touched (the janitor's own namespace is added to these)."
    )
    max_deletions: int = Field(25, ge=0, description="A plan with more deletions than this is aborted.")
    max_percent: float = Field(
        50.0, gt=0, le=100, description="A plan deleting more than this share of a kind's objects (2 or more) aborts."
    )

    @field_validator("rules")
    @classmethod
    def _unique(cls, value: tuple[Rule, ...]) -> tuple[Rule, ...]:
        ids = [r.id for r in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule id(s) used twice: {', '.join(dupes)}")
        return value


def rules_from_text(text: str, *, where: str = "janitor rules") -> JanitorRules:
    data = yaml_mapping(text, where=where, shape="janitor rules are a YAML mapping")
    return validated(JanitorRules, data, where=where)
