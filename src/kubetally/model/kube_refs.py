"""Every way one Kubernetes object names another: the facts behind the ``references`` frame.

Pure functions over manifest dicts (what ``kubectl get -o json`` or the API returns). A source
calls :func:`references` on each object it lists; the waste analysis reads the resulting
frame. Keeping the paths here, in one place, is what lets an orphan check count every one of
them — the false positives users report against kor and Popeye come from paths a checker
forgot: a ConfigMap used only by a CronJob, a Secret used only as a ServiceAccount's
imagePullSecret, only through a projected volume, only by an init container's envFrom.

Paths (the ``path`` column; container paths get an ``init:`` or ``ephemeral:`` prefix):

- ``volume``: ``volumes[].configMap``, ``.secret``, ``.persistentVolumeClaim`` and any
  ``secretRef``/``nodePublishSecretRef`` of a volume source (CSI, CephFS, RBD, iSCSI, ...)
- ``projected``: ``volumes[].projected.sources[].configMap|secret``
- ``env``: ``env[].valueFrom.configMapKeyRef|secretKeyRef``
- ``envFrom``: ``envFrom[].configMapRef|secretRef``
- ``imagePullSecrets``: a pod spec's or a ServiceAccount's ``imagePullSecrets[]``
- ``serviceAccountName``: the pod's ServiceAccount (``default`` when unset)
- ``volumeClaimTemplate``: a StatefulSet's claim template; ``to_name`` is the claim-name
  prefix ``<template>-<statefulset>`` (claims are ``<prefix>-<ordinal>``)
- ``secrets``: a ServiceAccount's ``secrets[]`` (legacy token and mountable secrets)
- ``tls`` / ``backend``: an Ingress' ``spec.tls[].secretName`` and its backend Services
- ``credentialName``: an Istio Gateway's ``spec.servers[].tls.credentialName``
- ``certificateRefs``: a Gateway API Gateway's ``spec.listeners[].tls.certificateRefs[]``
- ``secretName``: a cert-manager Certificate's ``spec.secretName`` (the Secret it maintains)
- ``scaleTargetRef``: a HorizontalPodAutoscaler's target
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"})
"""Kinds whose ``spec.template.spec`` is a pod spec (a CronJob's is one level deeper)."""


@dataclass(frozen=True, order=True)
class Ref:
    """One reference from an object (the caller knows which) to another object in its namespace."""

    to_kind: str
    to_name: str
    path: str


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _name(value: Any, key: str = "name") -> str:
    name = _mapping(value).get(key)
    return name if isinstance(name, str) and name else ""


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of a Pod, a pod-template owner or a CronJob; None for other kinds."""
    kind = obj.get("kind")
    spec = _mapping(obj.get("spec"))
    if kind == "Pod":
        return spec
    if kind in POD_TEMPLATE_KINDS:
        return _mapping(_mapping(spec.get("template")).get("spec"))
    if kind == "CronJob":
        job = _mapping(_mapping(spec.get("jobTemplate")).get("spec"))
        return _mapping(_mapping(job.get("template")).get("spec"))
    return None


def _volume_refs(volume: Mapping[str, Any]) -> Iterator[Ref]:
    if name := _name(volume.get("configMap")):
        yield Ref("ConfigMap", name, "volume")
    if name := _name(volume.get("secret"), "secretName"):
        yield Ref("Secret", name, "volume")
    if name := _name(volume.get("persistentVolumeClaim"), "claimName"):
        yield Ref("PersistentVolumeClaim", name, "volume")
    for source in _items(_mapping(volume.get("projected")).get("sources")):
        if name := _name(source.get("configMap")):
            yield Ref("ConfigMap", name, "projected")
        if name := _name(source.get("secret")):
            yield Ref("Secret", name, "projected")
    for key, source in volume.items():
        if key in ("configMap", "secret", "projected", "persistentVolumeClaim", "name"):
            continue
        src = _mapping(source)
        for ref_key in ("secretRef", "nodePublishSecretRef", "controllerPublishSecretRef", "nodeStageSecretRef"):
            if name := _name(src.get(ref_key)):
                yield Ref("Secret", name, "volume")
        if key == "azureFile" and (name := _name(src, "secretName")):
            yield Ref("Secret", name, "volume")


def _container_refs(container: Mapping[str, Any], prefix: str) -> Iterator[Ref]:
    for env in _items(container.get("env")):
        value_from = _mapping(env.get("valueFrom"))
        if name := _name(value_from.get("configMapKeyRef")):
            yield Ref("ConfigMap", name, f"{prefix}env")
        if name := _name(value_from.get("secretKeyRef")):
            yield Ref("Secret", name, f"{prefix}env")
    for env_from in _items(container.get("envFrom")):
        if name := _name(env_from.get("configMapRef")):
            yield Ref("ConfigMap", name, f"{prefix}envFrom")
        if name := _name(env_from.get("secretRef")):
            yield Ref("Secret", name, f"{prefix}envFrom")


def pod_spec_refs(spec: Mapping[str, Any]) -> list[Ref]:
    """Every object a pod spec names, by path (sorted, without duplicates)."""
    refs: set[Ref] = set()
    for volume in _items(spec.get("volumes")):
        refs.update(_volume_refs(volume))
    for field, prefix in (("containers", ""), ("initContainers", "init:"), ("ephemeralContainers", "ephemeral:")):
        for container in _items(spec.get(field)):
            refs.update(_container_refs(container, prefix))
    for secret in _items(spec.get("imagePullSecrets")):
        if name := _name(secret):
            refs.add(Ref("Secret", name, "imagePullSecrets"))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    if isinstance(account, str):
        refs.add(Ref("ServiceAccount", account, "serviceAccountName"))
    return sorted(refs)


def references(obj: Mapping[str, Any]) -> list[Ref]:
    """Every object ``obj`` names in its own namespace, by path (sorted, without duplicates).

    Service -> Pod (selector) and Job/ReplicaSet -> Pod (ownership) need the other objects and
    are the caller's; everything a single manifest says is here.
    """
    kind = obj.get("kind")
    spec = _mapping(obj.get("spec"))
    refs: set[Ref] = set()
    pods = pod_spec(obj)
    if pods is not None:
        refs.update(pod_spec_refs(pods))
    if kind == "StatefulSet":
        sts = _name(obj.get("metadata"))
        for template in _items(spec.get("volumeClaimTemplates")):
            if name := _name(template.get("metadata")):
                refs.add(Ref("PersistentVolumeClaim", f"{name}-{sts}", "volumeClaimTemplate"))
    elif kind == "ServiceAccount":
        for field in ("secrets", "imagePullSecrets"):
            for secret in _items(obj.get(field)):
                if name := _name(secret):
                    refs.add(Ref("Secret", name, field))
    elif kind == "Ingress":
        refs.update(_ingress_refs(spec))
    elif kind == "Gateway":
        for server in _items(spec.get("servers")):  # networking.istio.io
            if name := _name(server.get("tls"), "credentialName"):
                refs.add(Ref("Secret", name, "credentialName"))
        for listener in _items(spec.get("listeners")):  # gateway.networking.k8s.io
            for cert in _items(_mapping(listener.get("tls")).get("certificateRefs")):
                if cert.get("kind", "Secret") == "Secret" and (name := _name(cert)) and not cert.get("namespace"):
                    refs.add(Ref("Secret", name, "certificateRefs"))
    elif kind == "Certificate":
        if name := _name(spec, "secretName"):
            refs.add(Ref("Secret", name, "secretName"))
    elif kind == "HorizontalPodAutoscaler":
        target = _mapping(spec.get("scaleTargetRef"))
        if (target_kind := _name(target, "kind")) and (name := _name(target)):
            refs.add(Ref(target_kind, name, "scaleTargetRef"))
    return sorted(refs)


def _ingress_refs(spec: Mapping[str, Any]) -> Iterator[Ref]:
    for tls in _items(spec.get("tls")):
        if name := _name(tls, "secretName"):
            yield Ref("Secret", name, "tls")
    backends = [_mapping(spec.get("defaultBackend") or spec.get("backend"))]
    for rule in _items(spec.get("rules")):
        backends += [_mapping(p.get("backend")) for p in _items(_mapping(rule.get("http")).get("paths"))]
    for backend in backends:
        name = _name(backend.get("service")) or _name(backend, "serviceName")
        if name:
            yield Ref("Service", name, "backend")


def selector_text(selector: Mapping[str, Any] | None) -> str:
    """A Service selector in the ``objects.selector`` form: sorted ``key=value`` joined by ``,``."""
    if not selector:
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def parse_selector(text: str) -> dict[str, str]:
    """The inverse of :func:`selector_text` (equality selectors only)."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    return {k.strip(): v.strip() for k, v in (p if len(p) == 2 else (p[0], "") for p in pairs)}


LOG_WORDS = ("log", "debug", "trace", "verbos")
"""A setting whose name (or an arg that) contains one of these words may set a log level."""


def _mentions_log(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in LOG_WORDS)


@dataclass(frozen=True, order=True)
class LogSetting:
    """One place a container may set its log level (a row of the ``log_settings`` frame)."""

    container: str
    source: str
    """``env``, ``arg`` or ``configmap:<name>``."""
    key: str
    value: str


def log_settings(
    spec: Mapping[str, Any], configmaps: Mapping[str, Mapping[str, str]] | None = None
) -> list[LogSetting]:
    """Log-related env vars, args and keys of the ConfigMaps a pod spec's containers load (envFrom or volume).

    ``configmaps`` maps a ConfigMap name of the namespace to its ``data``. Values that come from a
    Secret are never read.
    """
    configmaps = configmaps or {}
    mounted = [_name(v.get("configMap")) for v in _items(spec.get("volumes"))]
    out: set[LogSetting] = set()
    for field in ("containers", "initContainers"):
        for container in _items(spec.get(field)):
            cname = _name(container)
            for env in _items(container.get("env")):
                key, value = _name(env), env.get("value")
                if key and isinstance(value, str) and _mentions_log(key):
                    out.add(LogSetting(cname, "env", key, value))
            args = [a for a in (container.get("command") or []) + (container.get("args") or []) if isinstance(a, str)]
            for position, arg in enumerate(args):
                if arg.startswith("-") and _mentions_log(arg):
                    out.add(LogSetting(cname, "arg", str(position), arg))
            loaded = [_name(e.get("configMapRef")) for e in _items(container.get("envFrom"))] + mounted
            for cm in filter(None, loaded):
                for key, value in configmaps.get(cm, {}).items():
                    if _mentions_log(key) and isinstance(value, str) and len(value) <= 64:
                        out.add(LogSetting(cname, f"configmap:{cm}", key, value))
    return sorted(out)
