"""docs/storage.md and docs/retention.md name every option of their commands; the README lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.cli import option_names

DOCS = Path(__file__).parents[2] / "docs"


def _options(*path: str) -> list[str]:
    return option_names(*path)


@pytest.mark.parametrize(
    ("path", "doc"),
    [
        (("storage",), "storage.md"),
        (("retention", "plan"), "retention.md"),
        (("retention", "run"), "retention.md"),
        (("retention", "restore"), "retention.md"),
        (("retention", "cronjob"), "retention.md"),
    ],
)
def test_docs_name_every_option(path: tuple[str, ...], doc: str) -> None:
    text = (DOCS / doc).read_text()
    assert f"kubetally {' '.join(path)}" in text
    assert [opt for opt in _options(*path) if opt not in text] == []


def test_readme_lists_the_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "`kubetally storage`" in readme and "`kubetally retention plan`" in readme
