"""Run every benchmark script in bench/ (each prints its own figures).

Usage: .venv/bin/python bench/run_all.py [name-substring ...]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
wanted = sys.argv[1:]
failed = 0
for script in sorted(here.glob("bench_*.py")):
    if wanted and not any(w in script.name for w in wanted):
        continue
    print(f"== {script.name}", flush=True)
    failed += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
sys.exit(1 if failed else 0)
