"""The docs of scale, cost-diff and the rightsize actions name every option the commands have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubetally.cli import app

DOCS = Path(__file__).parents[2] / "docs"


def _options(name: str) -> list[str]:
    text = CliRunner().invoke(app, [name, "--help"], terminal_width=200).output
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", text)) - {"--help"})


@pytest.mark.parametrize(
    ("command", "doc"), [("scale", "scale.md"), ("cost-diff", "cost-diff.md"), ("rightsize", "rightsize-manifests.md")]
)
def test_docs_name_every_option(command: str, doc: str) -> None:
    text = (DOCS / doc).read_text()
    missing = [opt for opt in _options(command) if opt not in text]
    assert missing == []


def test_readme_lists_the_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "`kubetally scale`" in readme and "`kubetally cost-diff`" in readme
