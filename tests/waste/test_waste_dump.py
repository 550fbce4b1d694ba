"""The orphan rules over a hand-built kubectl dump with one object per reference path (data/reference-paths.yaml).

Every ``used-*`` object is named by exactly one path (a CronJob's volume, a scaled-to-zero
Deployment's template, an ephemeral container's env, an init container's envFrom, a ServiceAccount's
imagePullSecrets, a projected volume, Ingress TLS, an Istio Gateway, a CSI nodePublishSecretRef ...)
and must not be reported; the built-in exclusions (kube-root-ca.crt, Helm release and token Secrets,
objects an operator owns) must not either; each ``orphan-*`` object must be, with its rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.analysis.waste import WasteReport, WasteSettings, findings
from kubetally.model import schema
from kubetally.sources.kubernetes import dataset_from_dump

DUMP = Path(__file__).parent / "data" / "reference-paths.yaml"
ORPHAN_RULES = {
    "orphaned-configmap",
    "orphaned-secret",
    "orphaned-service",
    "unused-pvc",
    "unused-serviceaccount",
    "hpa-missing-target",
}


@pytest.fixture(scope="module")
def report() -> WasteReport:
    return findings(dataset_from_dump([DUMP], cluster_name="hand"), settings=WasteSettings(), book=None)


def test_only_the_true_orphans_are_reported(report: WasteReport) -> None:
    got = {
        (row["rule"], row["kind"], row["name"])
        for row in report.findings.iter_rows(named=True)
        if row["rule"] in ORPHAN_RULES
    }
    assert got == {
        ("orphaned-configmap", "ConfigMap", "orphan-configmap"),
        ("orphaned-secret", "Secret", "orphan-secret"),
        ("orphaned-service", "Service", "orphan-service"),
        ("unused-pvc", "PersistentVolumeClaim", "orphan-claim"),
        ("unused-serviceaccount", "ServiceAccount", "orphan-serviceaccount"),
        ("hpa-missing-target", "HorizontalPodAutoscaler", "orphan-hpa"),
    }


def test_every_used_object_is_seen_through_its_path() -> None:
    """The references frame names each used-* object by the path the dump uses (no accidental match)."""
    ds = dataset_from_dump([DUMP], cluster_name="hand")
    refs = {
        (r["to_kind"], r["to_name"]): (r["from_kind"], r["path"])
        for r in ds.table(schema.REFERENCES).iter_rows(named=True)
    }
    assert refs[("ConfigMap", "used-by-cronjob-volume")] == ("CronJob", "volume")
    assert refs[("ConfigMap", "used-by-scaled-to-zero-template")] == ("Deployment", "envFrom")
    assert refs[("ConfigMap", "used-by-ephemeral-container-env")] == ("Pod", "ephemeral:env")
    assert refs[("ConfigMap", "used-by-job-envfrom")] == ("Job", "envFrom")
    assert refs[("Secret", "used-as-sa-image-pull-secret")] == ("ServiceAccount", "imagePullSecrets")
    assert refs[("Secret", "used-by-init-container-envfrom")] == ("StatefulSet", "init:envFrom")
    assert refs[("Secret", "used-as-pod-image-pull-secret")] == ("DaemonSet", "imagePullSecrets")
    assert refs[("Secret", "used-by-ingress-tls")] == ("Ingress", "tls")
    assert refs[("Secret", "used-by-istio-gateway")] == ("Gateway", "credentialName")
    assert refs[("Secret", "used-by-csi-node-publish")] == ("DaemonSet", "volume")
    assert refs[("Secret", "used-by-env-secretkeyref")] == ("Deployment", "env")
    assert refs[("PersistentVolumeClaim", "data-db")] == ("StatefulSet", "volumeClaimTemplate")
    assert refs[("Deployment", "legacy")] == ("Service", "selector")
    assert refs[("Deployment", "web")] == ("HorizontalPodAutoscaler", "scaleTargetRef")


def test_a_removed_exclusion_makes_the_object_an_orphan() -> None:
    """The exclusions are what keeps the Helm release Secret out, not an accident of the data."""
    ds = dataset_from_dump([DUMP], cluster_name="hand")
    settings = WasteSettings.model_validate({"orphans": {"secret_types": [], "secret_names": []}})
    names = set(findings(ds, settings=settings, book=None).findings["name"].to_list())
    assert {"sh.helm.release.v1.shop.v3", "builder-token"} <= names
