"""The invariants checked before any write, on hand-worked pods (container -> resources)."""

from __future__ import annotations

from kubetally.actions.manifests.invariants import checked_changes, qos_class, requests_over_limits

BROKEN = {"requests": {"cpu": "250m"}, "limits": {"cpu": "5m"}}


def test_a_request_already_above_its_limit_that_the_recommendation_keeps_raises_the_limit() -> None:
    # regression (Hypothesis): 250m > 5m in the manifest, the recommendation is 250m again (a no-op)
    checked = checked_changes({"c0": BROKEN}, {"c0": {("requests", "cpu"): "250m"}})
    assert checked.refused is None
    assert checked.changes == {"c0": {("requests", "cpu"): "250m", ("limits", "cpu"): "250m"}}
    assert checked.notes == (
        "container c0: limits.cpu raised from 5m to 250m (the recommended request is already above the limit "
        "in the manifest)",
    )


def test_an_already_broken_container_the_change_does_not_fix_is_refused() -> None:
    checked = checked_changes({"c0": BROKEN}, {"c0": {("requests", "memory"): "64Mi"}})
    assert checked.refused == (
        "container c0: requests.cpu 250m is already above limits.cpu 5m (the API server rejects that)"
    )
    other = checked_changes({"c0": BROKEN, "c1": {}}, {"c1": {("requests", "cpu"): "100m"}})
    assert other.refused is not None and other.refused.startswith("container c0: requests.cpu 250m is already above")
    assert other.changes == {}


def test_a_drifted_limit_is_raised_and_a_limit_below_the_request_refused() -> None:
    frontend = {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}
    raised = checked_changes({"frontend": frontend}, {"frontend": {("requests", "cpu"): "240m"}})
    assert raised.changes["frontend"] == {("requests", "cpu"): "240m", ("limits", "cpu"): "240m"}
    low = checked_changes({"frontend": frontend}, {"frontend": {("limits", "cpu"): "50m"}})
    assert (
        low.refused
        == "container frontend: requests.cpu 100m would be above limits.cpu 50m (the API server rejects that)"
    )


def test_guaranteed_is_kept_and_helpers_agree_with_kubernetes() -> None:
    pod = {"a": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
    assert qos_class(pod) == "Guaranteed"
    kept = checked_changes(pod, {"a": {("requests", "cpu"): "500m"}})
    assert kept.changes["a"][("limits", "cpu")] == "500m" and kept.qos_after == "Guaranteed"
    assert qos_class({"a": {"limits": {"cpu": "1", "memory": "1Gi"}}}) == "Guaranteed"  # requests default to limits
    assert qos_class({"a": None}) == "BestEffort"
    assert requests_over_limits(BROKEN) == ["cpu"] and requests_over_limits({"limits": {"cpu": "1"}}) == []
