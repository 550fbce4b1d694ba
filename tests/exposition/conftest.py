"""Make tests/servers.py and this directory's helpers importable."""

import sys
from pathlib import Path

for _path in (Path(__file__).parent, Path(__file__).parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
