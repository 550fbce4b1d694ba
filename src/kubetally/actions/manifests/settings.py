"""Settings of manifest rewriting (``rightsize --manifests``) and of reading manifest trees (``cost-diff``).

One pydantic model with bounds and descriptions; the command line builds it once and passes it in.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_MAP_HELP = (
    "How a live workload name maps to its name in the manifests: PREFIX* (the manifests drop a Helm "
    "release prefix: 'myrelease-*'), or REGEX=REPLACEMENT (Python re.sub on the whole live name, "
    "e.g. '(.*)-prod=\\1'). Repeatable; the first rule that matches wins."
)


class NameRule(BaseModel):
    """One --name-map rule: a full-match regex and its replacement."""

    model_config = ConfigDict(frozen=True)
    pattern: str
    replacement: str

    def apply(self, name: str) -> str | None:
        match = re.fullmatch(self.pattern, name)
        return None if match is None else match.expand(self.replacement)


def parse_name_rule(text: str) -> NameRule:
    if "=" not in text and text.endswith("*") and len(text) > 1:
        return NameRule(pattern=re.escape(text[:-1]) + "(.+)", replacement=r"\1")
    pattern, sep, replacement = text.partition("=")
    if not sep or not pattern:
        raise ValueError(f"{text!r}: expected PREFIX* or REGEX=REPLACEMENT")
    try:
        compiled = re.compile(pattern)
        refs = [int(g) for g in re.findall(r"\\(\d+)", replacement)]
        if any(ref > compiled.groups for ref in refs):
            raise re.error(f"the replacement refers to a group the pattern does not have ({max(refs)})")
    except re.error as exc:
        raise ValueError(f"{text!r}: not a regular expression: {exc}") from None
    return NameRule(pattern=pattern, replacement=replacement)


class ManifestSettings(BaseModel):
    """What ``--manifests DIR`` may read, skip and change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exclude: tuple[str, ...] = Field(
        (),
        max_length=100,
        description="Glob of files to leave out, relative to DIR (e.g. 'charts/**' or '*-secret.yaml'); repeatable.",
    )
    strict: bool = Field(
        False,
        description="Stop at the first file that cannot be used (default: report it, go on, exit status 3).",
    )
    allow_qos_change: bool = Field(
        False,
        description="Allow a change of a pod's QoS class (default: a Guaranteed pod keeps limits = requests, "
        "any other QoS change is refused).",
    )
    name_map: tuple[NameRule, ...] = Field((), max_length=50, description=NAME_MAP_HELP)
    kubernetes_version: str = Field(
        "1.32",
        pattern=r"^1\.\d{1,2}$",
        description="Kubernetes schema version every edited object must validate against.",
    )

    @field_validator("name_map", mode="before")
    @classmethod
    def _rules(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(parse_name_rule(v) if isinstance(v, str) else v for v in value)
        return value

    @field_validator("exclude")
    @classmethod
    def _globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for glob in value:
            if not glob.strip():
                raise ValueError("an empty --exclude pattern would match nothing; give a glob like 'charts/**'")
        return value

    def excluded(self, relative: str) -> bool:
        """Whether a file (path relative to DIR, with /) is left out by --exclude."""
        path = PurePosixPath(relative)
        return any(
            fnmatch(relative, glob)
            or fnmatch(path.name, glob)
            or (glob.endswith("/**") and relative.startswith(glob[:-2]))
            or path.match(glob)
            for glob in self.exclude
        )

    def manifest_names(self, live: str) -> list[str]:
        """Names to look the live workload ``live`` up by in the manifests (itself first)."""
        names = [live]
        for rule in self.name_map:
            mapped = rule.apply(live)
            if mapped is not None:
                names.append(mapped)
                break
        return names
