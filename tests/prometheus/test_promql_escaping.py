"""The one PromQL label escaper (kubetally.model.promql) and the selectors built with it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubetally.model.promql import escape_label_value, matchers, quote, regex_escape, sanitize_label_name, selector
from kubetally.sources.prometheus.plan import PromQL
from kubetally.sources.prometheus.settings import Query


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("web", '"web"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("two\nlines", r'"two\nlines"'),
        ("bell\x07", r'"bell\x07"'),
        ("", '""'),
    ],
)
def test_quote_table(raw: str, quoted: str) -> None:
    assert quote(raw) == quoted


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f"), max_size=40))
def test_quote_round_trips(value: str) -> None:
    # PromQL string literals use Go escapes; JSON agrees on \\ \" \n, and \xNN becomes \u00NN.
    assert json.loads(quote(value).replace("\\x", "\\u00")) == value


def test_matchers_and_selector_never_paste_raw_values() -> None:
    text = selector("kube_pod_info", matchers({"namespace": 'a"}) or vector(1) #'}, not_equal={"pod": ""}))
    assert text == r'kube_pod_info{namespace="a\"}) or vector(1) #",pod!=""}'
    with pytest.raises(ValueError, match="invalid Prometheus label name"):
        matchers({"bad-name": "x"})


def test_regex_escape_and_cluster_filter() -> None:
    assert regex_escape("pi.a|b") == r"pi\.a\|b"
    p = PromQL(Query(cluster_label="cluster", clusters=("pi.a", 'x"y')), 60)
    assert p.ksm("kube_pod_info") == r'kube_pod_info{job=~"kube-state-metrics",cluster=~"pi\\.a|x\"y"}'
    assert p.by("namespace") == "by (cluster,namespace)"


def test_sanitize_like_kube_state_metrics() -> None:
    assert sanitize_label_name("app.kubernetes.io/name") == "app_kubernetes_io_name"
    assert escape_label_value("ok") == "ok"
