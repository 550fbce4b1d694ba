"""The janitor's pure parts: kube-janitor's annotation syntax, the rules file, the plan's safety rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubetally.actions.janitor.plan import plan
from kubetally.actions.janitor.rules import JanitorRules, parse_expires, parse_ttl, rules_from_text
from kubetally.errors import ConfigError

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def obj(kind: str, name: str, ns: str = "apps", *, age_hours: float = 72, **meta: Any) -> dict[str, Any]:
    created = (NOW - timedelta(hours=age_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    m = {"name": name, "creationTimestamp": created, "uid": f"uid-{name}", **meta}
    if kind not in ("Namespace", "PersistentVolume"):
        m["namespace"] = ns
    return {"kind": kind, "metadata": m}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)),
     ("2w", timedelta(weeks=2)), ("45s", timedelta(seconds=45)), ("forever", None), ("Forever", None)],
)  # fmt: skip
def test_ttl_syntax_is_kube_janitors(text: str, expected: timedelta | None) -> None:
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["soon", "1y", "-1h", "1.5h", ""])
def test_bad_ttl_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_ttl(text)


def test_expires_is_utc_without_an_offset() -> None:
    assert parse_expires("2026-12-31") == datetime(2026, 12, 31, tzinfo=UTC)
    assert parse_expires("2026-12-31T18:00:00Z") == datetime(2026, 12, 31, 18, tzinfo=UTC)
    assert parse_expires("2026-12-31T19:00:00+01:00") == datetime(2026, 12, 31, 18, tzinfo=UTC)


def test_rules_file_is_validated() -> None:
    rules = rules_from_text(
        "rules:\n  - {id: old-previews, kinds: [Deployment], namespaces: ['preview-*'], min_age: 7d}\n"
        "ephemeral_namespaces:\n  - {selector: {ci: 'true'}, max_age: 6h}\n"
    )
    assert rules.rules[0].min_age == timedelta(days=7)
    assert rules.ephemeral_namespaces[0].max_age == timedelta(hours=6)
    with pytest.raises(ConfigError, match=r"rules\.0\.kinds: .*unknown kind\(s\) Deploy"):
        rules_from_text("rules:\n  - {id: x, kinds: [Deploy]}\n")
    with pytest.raises(ConfigError, match=r"rules\.0\.min_age: .*duration"):
        rules_from_text("rules:\n  - {id: x, kinds: [Pod], min_age: soon}\n")
    with pytest.raises(ConfigError, match="max_deletionz"):
        rules_from_text("max_deletionz: 3\n")


def test_ttl_counts_from_creation() -> None:
    objects = [
        obj("ConfigMap", "old", annotations={"janitor/ttl": "24h"}, age_hours=25),
        obj("ConfigMap", "young", annotations={"janitor/ttl": "24h"}, age_hours=23),
    ]
    p = plan(objects, now=NOW, rules=JanitorRules())
    assert [i.name for i in p.items] == ["old"]
    assert p.items[0].reason == "janitor/ttl 24h expired (25.0h old)"


def test_order_and_namespace_last() -> None:
    ttl = {"annotations": {"janitor/ttl": "1h"}}
    objects = [obj("Namespace", "tmp", **ttl), obj("PersistentVolumeClaim", "data", **ttl),
               obj("ConfigMap", "cfg", **ttl), obj("Service", "svc", **ttl), obj("Deployment", "web", **ttl),
               obj("Namespace", "a"), obj("Namespace", "b"), obj("Namespace", "c")]  # fmt: skip
    p = plan(objects, now=NOW, rules=JanitorRules())
    assert [i.kind for i in p.items] == ["Deployment", "Service", "ConfigMap", "PersistentVolumeClaim", "Namespace"]


def test_owned_objects_are_left_to_their_owner() -> None:
    owner = {"kind": "Deployment", "name": "web", "uid": "u", "apiVersion": "apps/v1"}
    owned = obj("ReplicaSet", "web-5d8f", annotations={"janitor/ttl": "1h"}, ownerReferences=[owner])
    p = plan([owned], now=NOW, rules=JanitorRules())
    assert p.items == [] and p.refused[0].reason == "owned by Deployment/web: deleted with its owner"
    rules = rules_from_text("rules:\n  - {id: old-rs, kinds: [ReplicaSet], waste_rule: old-replicaset}\n")
    p = plan([owned], now=NOW, rules=rules, waste={"old-replicaset": {("ReplicaSet", "apps", "web-5d8f")}})
    assert [i.name for i in p.items] == ["web-5d8f"]


def test_waste_rule_deletes_only_what_waste_reports() -> None:
    rules = rules_from_text(
        "rules:\n  - {id: orphans, kinds: [ConfigMap], min_age: 2d, waste_rule: orphaned-configmap}\n"
    )
    objects = [obj("ConfigMap", "orphan"), obj("ConfigMap", "used"), obj("ConfigMap", "young-orphan", age_hours=1)]
    waste = {"orphaned-configmap": {("ConfigMap", "apps", "orphan"), ("ConfigMap", "apps", "young-orphan")}}
    p = plan(objects, now=NOW, rules=rules, waste=waste)
    assert [(i.name, i.reason) for i in p.items] == [
        ("orphan", "rule orphans (waste rule orphaned-configmap), 3.0d old")
    ]


def test_own_namespace_and_protected_namespace_annotation() -> None:
    ttl = {"annotations": {"janitor/ttl": "1h"}}
    objects = [obj("ConfigMap", "a", "kubetally", **ttl), obj("ConfigMap", "b", "team-x", **ttl),
               obj("Namespace", "team-x", annotations={"kubetally.io/protect": "true"})]  # fmt: skip
    p = plan(objects, now=NOW, rules=JanitorRules(), own_namespace="kubetally")
    assert p.items == []
    assert sorted(r.reason for r in p.refused) == ["namespace kubetally is protected", "namespace team-x is protected"]
