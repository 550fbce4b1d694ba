"""Reading user configuration files (prices, owners, allocation settings, policies): one place
for 'YAML text -> mapping' and 'mapping -> validated settings model', with one-line errors
that name the file and the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kubetally.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def yaml_mapping(text: str, *, where: str, shape: str) -> dict[str, Any]:
    """The YAML document in ``text`` as a mapping (an empty document is ``{}``).

    ``shape`` completes "a ... file is ..." in the error for a document that is not a mapping.
    """
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}".splitlines()[0]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {shape}")
    return data


def validated(model: type[M], data: Mapping[str, Any], *, where: str) -> M:
    """``data`` validated as ``model``; the first error names its field path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ConfigError(f"{where}: {path}: {first['msg'].removeprefix('Value error, ')}") from None
