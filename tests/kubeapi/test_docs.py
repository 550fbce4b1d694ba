"""docs/collect.md covers every option of `kubetally collect`, and the kinds the API source lists."""

from __future__ import annotations

from pathlib import Path

from kubetally.cli import option_names
from kubetally.sources.kubernetes.api import KINDS

DOC = Path(__file__).parents[2] / "docs" / "collect.md"


def test_record_doc_names_every_option() -> None:
    text = (DOC.parent / "record.md").read_text()
    assert [opt for opt in option_names("record") if opt not in text] == []


def test_collect_doc_names_every_option_and_kind() -> None:
    text = DOC.read_text()
    options = option_names("collect")
    assert [opt for opt in options if opt not in text] == []
    section = text[text.index("## From the Kubernetes API") :]
    assert [k.plural for k in KINDS if k.plural not in section] == []
