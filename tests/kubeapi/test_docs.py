"""docs/collect.md covers every option of `kubetally collect`, and the kinds the API source lists."""

from __future__ import annotations

from pathlib import Path

import typer

from kubetally.cli import app
from kubetally.sources.kubernetes.api import KINDS

DOC = Path(__file__).parents[2] / "docs" / "collect.md"


def _options(name: str) -> list[str]:
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    return [opt for param in command.params for opt in param.opts if opt.startswith("--")]


def test_record_doc_names_every_option() -> None:
    text = (DOC.parent / "record.md").read_text()
    assert [opt for opt in _options("record") if opt not in text] == []


def test_collect_doc_names_every_option_and_kind() -> None:
    text = DOC.read_text()
    assert [opt for opt in _options("collect") if opt not in text] == []
    section = text[text.index("## From the Kubernetes API") :]
    assert [k.plural for k in KINDS if k.plural not in section] == []
