"""deploy/grafana: the dashboards are valid provisionable JSON, and every panel's query returns data from a real
Prometheus loaded with the AuditFlow history and scraping `kubetally serve` (its /metrics) on 127.0.0.1."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1]))
import servers
from kubetally.analysis.allocation.settings import allocation_settings_from_text
from kubetally.app.insights import build_overview
from kubetally.data import demo_text
from kubetally.model.owners import parse_owners_text
from kubetally.model.pricing import default_price_book
from kubetally.outputs.web.server import start
from kubetally.outputs.web.views import Application, Views
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics

GRAFANA = Path(__file__).parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
SCRAPED = re.compile(
    r"\b(kubetally_\w+|node_(cpu|ram|total)_hourly_cost|pv_hourly_cost|container_(cpu|memory)_allocation\w*|pod_pvc_allocation)\b"
)


def _targets(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def test_dashboards_are_valid_provisionable_json() -> None:
    assert [p.name for p in DASHBOARDS] == [f"kubetally-{n}.json" for n in
                                             ("nodes", "rightsizing", "showback", "storage", "waste")]  # fmt: skip
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["schemaVersion"] >= 36 and board["uid"] not in uids, path.name
        uids.add(board["uid"])
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
            assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["w"] <= 24
            used = set(re.findall(r"\$(\w+)", " ".join(t["expr"] for t in panel["targets"])))
            assert used <= set(variables) | {"__rate_interval", "__range", "__interval"}, (panel["title"], used)
    showback = json.loads((GRAFANA / "kubetally-showback.json").read_text())
    names = {v["name"] for v in showback["templating"]["list"]}
    assert names >= {"team", "app", "component", "environment", "finops_tier"}
    provisioning = yaml.safe_load((GRAFANA / "provisioning.yaml").read_text())
    assert provisioning["apiVersion"] == 1 and provisioning["providers"][0]["type"] == "file"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, datetime]]:
    """(Prometheus URL, end of the backfilled history): AuditFlow's last day, ending 4 h ago (outside the head
    block), backfilled; and `kubetally serve` over the same day, scraped every 2 s."""
    servers.require_binary("promtool")
    servers.require_binary("prometheus")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    end = now - timedelta(hours=4, minutes=now.minute % 5)
    ds = simulate(ScenarioConfig(days=1, step_seconds=300, end=end))
    work = tmp_path_factory.mktemp("grafana")
    om = work / "history.om"
    with open(om, "wb") as out:
        write_openmetrics(ds, out, ExpositionOptions())
    servers.backfill(om, work / "tsdb")
    book = default_price_book()
    settings = allocation_settings_from_text(demo_text("allocation.yaml"))
    owners = parse_owners_text(demo_text("owners.yaml"))
    views = Views(lambda _: build_overview(ds, book=book, allocation=settings, owners=owners, now=now))
    views.refresh()
    server, thread = start(Application(views), "127.0.0.1", 0)
    try:
        with servers.prometheus(work / "tsdb", scrape=(f"127.0.0.1:{server.server_port}",)) as url:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                result = httpx.get(f"{url}/api/v1/query", params={"query": "kubetally_info"}, timeout=10).json()
                if result["data"]["result"]:
                    break
                time.sleep(1)
            else:
                pytest.fail("Prometheus never scraped kubetally serve")
            yield url, end
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _query(url: str, expr: str, at: datetime) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr, "time": at.timestamp()}, timeout=60)
    body = response.json()
    assert body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


@pytest.mark.services
@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_query_returns_data(prometheus: tuple[str, datetime], path: Path) -> None:
    url, end = prometheus
    board = json.loads(path.read_text())
    empty = []
    for title, expr in _targets(board):
        query = re.sub(r"\$(team|app|component|environment|finops_tier)\b", ".*", expr)
        query = query.replace("$__rate_interval", "5m").replace("$__range", "1d")
        # kubetally's own series are scraped now; the cluster's are the backfilled day
        at = datetime.now(UTC) if SCRAPED.search(expr) else end
        if not _query(url, query, at):
            empty.append(f"{title}: {query}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
