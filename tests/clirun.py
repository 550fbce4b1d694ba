"""Run ``kubetally ARGS`` in-process as the console script does (one red line and exit 2 for an error).

    from clirun import cli
    code, out, err = cli(capsys, monkeypatch, "storage", "--demo")
    cli(capsys, monkeypatch, "scale", "-n", "nope").text   # stdout + stderr

Test packages that use it put tests/ on sys.path in their conftest.py.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import pytest

from kubetally.cli import main


class Ran(NamedTuple):
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout then stderr."""
        return self.out + self.err


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, columns: int = 300) -> Ran:
    """(exit code, stdout, stderr) of ``kubetally ARGS`` at ``columns`` terminal columns."""
    monkeypatch.setattr(sys, "argv", ["kubetally", *args])
    monkeypatch.setenv("COLUMNS", str(columns))
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)
