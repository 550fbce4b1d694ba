"""Every command's options are named on its docs/ page, and its ``--help`` at 80 columns prints every
option name whole (generated and bridged commands alike)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubetally.cli import COMMAND_MODULES, option_names

DOCS = Path(__file__).parents[2] / "docs"

COMMANDS: list[tuple[str, ...]] = [
    (name,)
    for name in (m.replace("costdiff", "cost-diff") for m in COMMAND_MODULES)
    if name not in ("export", "baseline")
] + [("export", "focus")]
"""(command path); retention's subcommands are covered by tests/cli/test_storage_docs.py, baseline's by its own."""

PAGES = {"export": "export.md", "cost-diff": "cost-diff.md"}


def _page(path: tuple[str, ...]) -> str:
    return (DOCS / PAGES.get(path[0], f"{path[0]}.md")).read_text()


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_docs_page_names_every_option(path: tuple[str, ...]) -> None:
    text = _page(path)
    assert [opt for opt in option_names(*path) if opt not in text] == []


def _help(*args: str) -> str:
    env = os.environ | {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-m", "kubetally", *args, "--help"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("path", [*COMMANDS, ("retention", "plan")], ids=" ".join)
def test_help_at_80_columns_prints_every_option_whole(path: tuple[str, ...]) -> None:
    text = _help(*path)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert [opt for opt in option_names(*path) if opt not in text] == []


def test_every_help_block_in_docs_is_the_real_help() -> None:
    """docs/*.md show `--help` as the command prints it at 80 columns (scripts/gen_help_docs.py rewrites them)."""
    sys.path.insert(0, str(DOCS.parent / "scripts"))
    from gen_help_docs import regenerate

    stale = [page.name for page in sorted(DOCS.glob("*.md")) if regenerate(page.read_text()) != page.read_text()]
    assert stale == [], "run .venv/bin/python scripts/gen_help_docs.py"
