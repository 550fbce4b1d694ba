"""The owners file: who owns what, when labels do not say.

YAML::

    owners:                       # first matching entry wins
      - match: {namespaces: [kube-system, monitoring]}
        team: platform
        owner: platform@example.org
        criticality: critical     # critical / standard / batch / dev ...
        business_value: high      # free text: high / medium / low
      - match: {workloads: [auditflow-dev/load-tester], labels: {app: load-tester}}
        team: analytics

Reports take ``team``, ``owner``, ``criticality`` and ``business_value`` from here
only where the pods' own labels lack them (labels win).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kubetally.model.config import validated, yaml_mapping

OWNER_FIELDS: tuple[str, ...] = ("team", "owner", "criticality", "business_value")


class OwnerMatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    namespaces: tuple[str, ...] = Field((), description="Namespaces, all of whose pods match.")
    workloads: tuple[str, ...] = Field((), description="namespace/name or namespace/Kind/name.")
    labels: dict[str, str] = Field({}, description="Pod (or workload) labels that must all match.")


class OwnerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    match: OwnerMatch
    team: str | None = None
    owner: str | None = Field(None, description="A contact: e-mail, chat handle.")
    criticality: str | None = None
    business_value: str | None = None


class Owners(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    owners: tuple[OwnerEntry, ...] = ()


def owners_from_dict(data: Mapping[str, Any], *, where: str = "owners file") -> Owners:
    return validated(Owners, data, where=where)


def parse_owners_text(text: str, *, where: str = "owners file") -> Owners:
    data = yaml_mapping(text, where=where, shape="an owners file is a YAML mapping with an `owners:` list")
    return owners_from_dict(data, where=where)
