"""Regenerate every ``kubetally ... --help`` block in docs/*.md from the real command (80 columns).

A help block is a fenced block that contains ``Usage: kubetally <command> [OPTIONS]``; its content is
replaced by ``$ kubetally <command> --help`` and the output of that command at COLUMNS=80.
``--check`` only reports the pages that differ (tests/cli/test_help_and_docs.py does the same).

    .venv/bin/python scripts/gen_help_docs.py [--check]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).parents[1] / "docs"
USAGE = re.compile(r"^\s*Usage: (?:python -m )?kubetally ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?) \[OPTIONS\]", re.M)
FENCE = re.compile(r"^(```[a-z]*)\n(.*?)^```$", re.M | re.S)


def help_text(command: str) -> str:
    env = os.environ | {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-m", "kubetally", *command.split(), "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return done.stdout


def help_block(command: str) -> str:
    """The content of the docs block for ``kubetally <command> --help``."""
    return f"$ kubetally {command} --help\n{help_text(command)}"


def regenerate(text: str) -> str:
    def block(match: re.Match[str]) -> str:
        usage = USAGE.search(match.group(2))
        if usage is None:
            return match.group(0)
        return f"```console\n{help_block(usage.group(1))}```"

    return FENCE.sub(block, text)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for page in sorted(DOCS.glob("*.md")):
        old = page.read_text()
        new = regenerate(old)
        if new != old:
            stale.append(page.name)
            if not check:
                page.write_text(new)
    verb = "differ from --help" if check else "regenerated"
    print(f"{len(stale)} pages {verb}: {', '.join(stale) or '-'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
