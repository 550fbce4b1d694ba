"""Real captured exposition (testdata/exposition/), replayed on a time axis into real servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

for _path in (Path(__file__).parent, Path(__file__).parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from captures import KIND_END, KIND_START, Loader  # noqa: E402
from replay import Target, replay  # noqa: E402

import servers  # noqa: E402


@pytest.fixture(scope="session")
def load_replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loader]:
    stack = ExitStack()
    urls: dict[str, str] = {}

    def load(name: str, targets: tuple[Target, ...], interval: int) -> str:
        if name not in urls:
            servers.require_binary("promtool")
            work = tmp_path_factory.mktemp(f"replay-{name}")
            om = work / "replay.om"
            with open(om, "w") as out:
                replay(targets, out, start=KIND_START, end=KIND_END, interval=interval)
            servers.backfill(om, work / "tsdb")
            urls[name] = stack.enter_context(servers.prometheus(work / "tsdb"))
        return urls[name]

    with stack:
        yield load
