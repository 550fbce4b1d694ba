"""Run the real `kubetally` CLI in a subprocess (as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def kubetally(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "kubetally", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False, timeout=timeout)  # fmt: skip
