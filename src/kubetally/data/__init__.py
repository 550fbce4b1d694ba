"""Built-in data files: the AuditFlow demo's configuration."""

from __future__ import annotations

from importlib import resources

DEMO_INPUT_FILES = {"owners": "owners.yaml", "allocation": "allocation.yaml"}
"""The configuration the demo applies beyond the built-in defaults (prices and the rightsize policy
are the defaults), by DatasetInfo input name."""


def demo_text(name: str) -> str:
    """The text of ``auditflow/<name>``."""
    return resources.files("kubetally.data").joinpath("auditflow", name).read_text()


def demo_inputs() -> tuple[tuple[str, str], ...]:
    """(input name, YAML text) of the demo's configuration, for DatasetInfo.inputs."""
    return tuple((name, demo_text(file)) for name, file in DEMO_INPUT_FILES.items())
