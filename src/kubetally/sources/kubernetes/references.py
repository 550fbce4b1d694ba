"""The references frame from objects: what refers to what, within a namespace.

Conventions (the simulator's ground truth follows the same):

- a Pod, and the pod template of a top controller (Deployment, StatefulSet, DaemonSet, CronJob, a Job
  no CronJob owns, a ReplicaSet no Deployment owns), references the ConfigMaps, Secrets and claims
  its volumes name (``configMap``, ``secret``, ``persistentVolumeClaim``, ``projected`` sources,
  generic ``ephemeral`` claims ``<pod>-<volume>``), those its containers name in ``env[].valueFrom``
  and ``envFrom`` (init and ephemeral containers too), its ``imagePullSecrets`` and its
  ServiceAccount (``serviceAccountName``, ``default`` when unset);
- a ServiceAccount references the Secrets in its ``secrets`` and ``imagePullSecrets``;
- an Ingress references its backend Services (default backend and rules) and its TLS Secrets; an
  Istio or Gateway API Gateway its certificate Secrets; a cert-manager Certificate the Secret it
  writes; a HorizontalPodAutoscaler its scale target; a StatefulSet its claim-template prefix
  (all of one manifest: :func:`kubetally.model.kube_refs.references`);
- a Service references the Pods its EndpointSlices (or, without slices, its Endpoints) point to, and
  the top controllers whose pod template labels its selector matches (path ``selector``);
- ownership is recorded where a Job is involved: CronJob -> Job and Job -> Pod.
"""

from __future__ import annotations

import polars as pl

from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.model.kube_refs import pod_spec_refs, references
from kubetally.sources.kubernetes.objects import Cluster, Obj, controller_ref, items, mapping, name_of, namespace_of

Ref = tuple[str, str, str]
"""(kind, name, path) in the referring object's namespace; paths as in ``kubetally.model.kube_refs``."""

OWNERSHIP = frozenset({("CronJob", "Job"), ("Job", "Pod")})


def pod_spec_references(spec: Obj, *, pod_name: str | None = None) -> set[Ref]:
    """Everything a pod spec references, by path (``pod_name`` resolves generic ephemeral volume claims).

    The paths are :func:`kubetally.model.kube_refs.pod_spec_refs`' (one place for them); generic
    ephemeral volumes add their claim ``<pod>-<volume>`` with path ``ephemeral``.
    """
    refs: set[Ref] = {(r.to_kind, r.to_name, r.path) for r in pod_spec_refs(spec)}
    if pod_name is not None:
        for volume in items(spec, "volumes"):
            if "ephemeral" in volume:
                refs.add(("PersistentVolumeClaim", f"{pod_name}-{volume.get('name', '')}", "ephemeral"))
    return refs


def _has_template(cluster: Cluster, obj: Obj) -> bool:
    """True for a top controller, whose template is recorded (a ReplicaSet's Deployment records its own)."""
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob"):
        return True
    if kind in ("Job", "ReplicaSet"):
        owner = controller_ref(obj)
        parent = "CronJob" if kind == "Job" else "Deployment"
        return owner is None or owner.get("kind") != parent
    return False


def _endpoint_pods(cluster: Cluster) -> dict[tuple[str, str], set[str]]:
    """(namespace, service) -> pods its endpoints point to."""
    pods: dict[tuple[str, str], set[str]] = {}
    if "EndpointSlice" in cluster.listed:
        for eps in cluster.kind("EndpointSlice"):
            service = mapping(eps, "metadata", "labels").get("kubernetes.io/service-name")
            if not service:
                continue
            bucket = pods.setdefault((namespace_of(eps), str(service)), set())
            for endpoint in items(eps, "endpoints"):
                target = mapping(endpoint, "targetRef")
                if target.get("kind") == "Pod" and target.get("name"):
                    bucket.add(str(target["name"]))
        return pods
    for ep in cluster.kind("Endpoints"):
        bucket = pods.setdefault((namespace_of(ep), name_of(ep)), set())
        for subset in items(ep, "subsets"):
            for address in items(subset, "addresses") + items(subset, "notReadyAddresses"):
                target = mapping(address, "targetRef")
                if target.get("kind") == "Pod" and target.get("name"):
                    bucket.add(str(target["name"]))
    return pods


SINGLE_MANIFEST_KINDS = ("ServiceAccount", "Ingress", "Gateway", "Certificate", "HorizontalPodAutoscaler")
"""Kinds whose references one manifest states (kube_refs.references) besides pods and pod templates."""


def _template_labels(obj: Obj) -> dict[str, str]:
    spec = mapping(obj, "spec", "jobTemplate", "spec") if obj.get("kind") == "CronJob" else mapping(obj, "spec")
    return {str(k): str(v) for k, v in mapping(spec, "template", "metadata", "labels").items()}


def _selected_templates(cluster: Cluster) -> dict[tuple[str, str], set[Ref]]:
    """(namespace, service) -> the top controllers whose pod template labels its selector matches.

    A Service whose pods are scaled away still selects the template that will create them again;
    that is what keeps it from being an orphan.
    """
    templates = [obj for kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet")
                 for obj in cluster.kind(kind) if _has_template(cluster, obj)]  # fmt: skip
    out: dict[tuple[str, str], set[Ref]] = {}
    for service in cluster.kind("Service"):
        selector = {str(k): str(v) for k, v in mapping(service, "spec", "selector").items()}
        if not selector:
            continue
        ns = namespace_of(service)
        for obj in templates:
            labels = _template_labels(obj)
            if namespace_of(obj) == ns and all(labels.get(k) == v for k, v in selector.items()):
                out.setdefault((ns, name_of(service)), set()).add((str(obj["kind"]), name_of(obj), "selector"))
    return out


def references_frame(cluster: Cluster, cluster_name: str) -> pl.DataFrame:
    rows: set[tuple[str, str, str, str, str, str]] = set()

    def add(obj: Obj, refs: set[Ref]) -> None:
        ns, kind, name = namespace_of(obj), str(obj.get("kind")), name_of(obj)
        rows.update((ns, kind, name, to_kind, to_name, path) for to_kind, to_name, path in refs)

    for pod in cluster.kind("Pod"):
        add(pod, pod_spec_references(mapping(pod, "spec"), pod_name=name_of(pod)))
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet"):
        for obj in cluster.kind(kind):
            if _has_template(cluster, obj):
                add(obj, {(r.to_kind, r.to_name, r.path) for r in references(obj)})
    for kind in SINGLE_MANIFEST_KINDS:
        for obj in cluster.kind(kind):
            add(obj, {(r.to_kind, r.to_name, r.path) for r in references(obj)})
    endpoint_pods = _endpoint_pods(cluster)
    templates = _selected_templates(cluster)
    for service in cluster.kind("Service"):
        key = (namespace_of(service), name_of(service))
        add(service, {("Pod", p, "selector") for p in endpoint_pods.get(key, set())} | templates.get(key, set()))
    for obj in cluster:
        owner = controller_ref(obj)
        if owner is not None and (owner.get("kind"), obj.get("kind")) in OWNERSHIP:
            rows.add((namespace_of(obj), str(owner["kind"]), str(owner.get("name", "")), str(obj["kind"]),
                      name_of(obj), "owner"))  # fmt: skip
    if not rows:
        return schema.empty(schema.REFERENCES)
    ordered = sorted(rows)
    return pl.DataFrame(
        {
            c.CLUSTER: [cluster_name] * len(ordered),
            c.NAMESPACE: [r[0] for r in ordered],
            c.FROM_KIND: [r[1] for r in ordered],
            c.FROM_NAME: [r[2] for r in ordered],
            c.TO_KIND: [r[3] for r in ordered],
            c.TO_NAME: [r[4] for r in ordered],
            c.PATH: [r[5] for r in ordered],
        },
        schema=schema.REFERENCES.schema,
    )
