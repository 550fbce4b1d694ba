"""docs/collect.md covers every option of `kubetally collect`, and the kinds the API source lists."""

from __future__ import annotations

from pathlib import Path

import typer

from kubetally.cli import app
from kubetally.sources.kubernetes.api import KINDS

DOC = Path(__file__).parents[2] / "docs" / "collect.md"


def test_collect_doc_names_every_option_and_kind() -> None:
    text = DOC.read_text()
    command = typer.main.get_command(app).commands["collect"]  # type: ignore[attr-defined]
    options = [opt for param in command.params for opt in param.opts if opt.startswith("--")]
    assert [opt for opt in options if opt not in text] == []
    section = text[text.index("## From the Kubernetes API") :]
    assert [k.plural for k in KINDS if k.plural not in section] == []
