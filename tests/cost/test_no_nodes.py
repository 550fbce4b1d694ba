"""A source without nodes (a `kubectl get` dump of workloads only) is priced at the price file's catch-all unit
prices, by scale and cost-diff alike, and says so (was: an internal error, NaN unit prices from 0/0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.app.costdiff import CostDiffRequest, costdiff
from kubetally.app.scale import NO_NODES, ScaleRequest, scale
from kubetally.model import schema
from kubetally.model.pricing import default_price_book
from kubetally.model.unit_prices import book_unit_prices, unit_prices

DUMP = Path(__file__).parents[2] / "testdata" / "kube-dumps" / "kubectl-neat-list-1-raw.json"
K8S = Path(__file__).parents[2] / "k8s"


def test_unit_prices_without_nodes_are_the_books_catch_all() -> None:
    book = default_price_book()
    nodes, labels = schema.empty(schema.NODES), schema.empty(schema.LABELS)
    assert unit_prices(book, nodes, labels) == book_unit_prices(book)
    assert book_unit_prices(book).cpu_per_core_hour == pytest.approx(0.031611)  # OpenCost's default


def test_scale_and_cost_diff_of_a_dump_without_nodes() -> None:
    result = scale(ScaleRequest(kube_dump=(DUMP,)))
    assert result.prices == book_unit_prices(default_price_book())
    assert NO_NODES in result.notes
    diff = costdiff(CostDiffRequest(base=str(K8S), head=str(K8S), kube_dump=(DUMP,)))
    assert diff.prices == result.prices
    assert "Prices from the price file's unit prices (the source has no nodes)." in diff.about
