"""Headless Chromium (Debian ``chromium``) for the report and dashboard tests.

``open_page(url)`` loads a page with the network blocked (only 127.0.0.1 resolves), returns
its DOM after load and the console messages Chromium logged; ``screenshot(url, path)``
writes a PNG. Screenshots are kept in ``$KUBETALLY_ARTIFACTS`` (default ``out/test-artifacts``).
A missing browser skips the test with a reason, and fails under KUBETALLY_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

REQUIRE = os.environ.get("KUBETALLY_REQUIRE_SERVICES") == "1"
ARTIFACTS = Path(os.environ.get("KUBETALLY_ARTIFACTS", "out/test-artifacts"))
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\]? (.*)")


def require_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = "chromium not installed (apt-get install chromium; scripts/bootstrap-services does it)"
    if REQUIRE:
        pytest.fail(f"KUBETALLY_REQUIRE_SERVICES=1 but {message}")
    pytest.skip(message)


def _run(url: str, *extra: str, width: int = 1280, height: int = 2000) -> subprocess.CompletedProcess[str]:
    browser = require_chromium()
    with tempfile.TemporaryDirectory(prefix="kubetally-chromium-") as profile:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "--enable-logging=stderr", "--v=0",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=5000",
             *extra, url],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


@dataclass(frozen=True)
class Page:
    dom: str
    console: list[str]


def open_page(url: str, *, width: int = 1280) -> Page:
    result = _run(url, "--dump-dom", width=width)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
    console = [m.group(1) for line in result.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Page(dom=result.stdout, console=console)


def screenshot(url: str, name: str, *, width: int = 1280, height: int = 2000) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = (ARTIFACTS / name).resolve()
    result = _run(url, f"--screenshot={target}", width=width, height=height)
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"chromium screenshot failed ({result.returncode}): {result.stderr[-2000:]}")
    return target


def ink_ratio(png: Path) -> float:
    """Share of pixels that are not the background colour (0 = a blank page)."""
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").resize((200, 300)).getcolors(maxcolors=200 * 300) or []
    total = sum(n for n, _ in colours)
    return 1 - max(n for n, _ in colours) / total if total else 0.0


class Figures(HTMLParser):
    """Text of every element with ``data-k`` (the summary path it shows), with its other data- flags."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, tuple[str, set[str]]] = {}
        self._open: list[tuple[str, set[str], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if "data-k" in names:
            flags = {k for k in names if k.startswith("data-") and k != "data-k"}
            self._open.append((str(names["data-k"]), flags, []))
        elif self._open:
            self._open.append(("", set(), []))

    def handle_data(self, data: str) -> None:
        for _, _, parts in self._open:
            parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            key, flags, parts = self._open.pop()
            if key:
                self.found[key] = ("".join(parts).strip(), flags)


def figures(dom: str) -> dict[str, tuple[str, set[str]]]:
    parser = Figures()
    parser.feed(dom)
    return parser.found
