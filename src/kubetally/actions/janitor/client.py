"""The janitor's Kubernetes API calls: paginated lists, DELETE with propagation/dryRun/uid precondition, Events.

The connection is the Kubernetes source's (:func:`kubetally.sources.kubernetes.api.connect`): one
way to read a kubeconfig or the in-cluster service account for every command.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from pydantic import ValidationError

from kubetally.errors import ConfigError, SourceError
from kubetally.sources.kubernetes import api
from kubetally.sources.kubernetes.settings import KubeConnection

Obj = dict[str, Any]

RESOURCES: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("v1", "namespaces", False),
    "Pod": ("v1", "pods", True),
    "Service": ("v1", "services", True),
    "ConfigMap": ("v1", "configmaps", True),
    "Secret": ("v1", "secrets", True),
    "ServiceAccount": ("v1", "serviceaccounts", True),
    "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", True),
    "PersistentVolume": ("v1", "persistentvolumes", False),
    "Deployment": ("apps/v1", "deployments", True),
    "StatefulSet": ("apps/v1", "statefulsets", True),
    "DaemonSet": ("apps/v1", "daemonsets", True),
    "ReplicaSet": ("apps/v1", "replicasets", True),
    "Job": ("batch/v1", "jobs", True),
    "CronJob": ("batch/v1", "cronjobs", True),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers", True),
    "Ingress": ("networking.k8s.io/v1", "ingresses", True),
}
"""kind -> (group/version, plural, namespaced)."""


def _path(kind: str, namespace: str = "", name: str = "") -> str:
    gv, plural, namespaced = RESOURCES[kind]
    root = "/api" if "/" not in gv else "/apis"
    ns = f"/namespaces/{namespace}" if namespaced and namespace else ""
    return f"{root}/{gv}{ns}/{plural}" + (f"/{name}" if name else "")


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    return str(body.get("message") or response.reason_phrase) if isinstance(body, dict) else response.reason_phrase


@dataclass(frozen=True)
class Connected:
    """Where the janitor is connected: the API server and the kubeconfig context (recorded in the audit log)."""

    server: str
    context: str


def connection(kubeconfig: Path | None, context: str | None, *, in_cluster: bool = False) -> KubeConnection:
    """The cluster to clean: ``--kubeconfig``/``--context`` (default ``$KUBECONFIG``, ``~/.kube/config``) or
    the pod's service account. Read by the Kubernetes source, so every command reads kubeconfigs one way."""
    try:
        return KubeConnection(kubeconfig=kubeconfig, context=context, in_cluster=in_cluster)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid Kubernetes connection: {message}") from None


class Client:
    """The calls the janitor makes; every request and its answer can fail with one clear line.

    Built on the Kubernetes source's authenticated connection (:func:`kubetally.sources.kubernetes.api.connect`:
    kubeconfig contexts, tokens, client certificates, exec plugins, in-cluster service account)."""

    def __init__(self, settings: KubeConnection) -> None:
        self.http, server, context = api.connect(settings)
        self.conn = Connected(server, context)

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx2.Response:
        try:
            response = self.http.request(method, path, headers=headers or {"Accept": "application/json"}, **kwargs)
        except httpx2.HTTPError as exc:
            raise SourceError(f"{self.conn.server}: cannot reach the API server: {exc}") from None
        if response.status_code == 401:
            raise SourceError(f"{self.conn.server}: 401 Unauthorized: the API server refused the credentials")
        return response

    def list(self, kind: str, *, page_size: int = 500) -> Iterator[Obj]:
        """Every object of ``kind`` (all namespaces), page by page; a kind it may not list is skipped (403)."""
        token = ""
        while True:
            params = {"limit": str(page_size)} | ({"continue": token} if token else {})
            response = self._send("GET", _path(kind), params=params)
            if response.status_code in (403, 404):
                raise PermissionError(f"cannot list {kind}: HTTP {response.status_code} {_message(response)}")
            if response.status_code != 200:
                raise SourceError(f"list {kind}: HTTP {response.status_code}: {_message(response)}")
            body = response.json()
            for item in body.get("items") or []:
                item.setdefault("kind", kind)
                yield item
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return

    def delete(self, kind: str, namespace: str, name: str, *, uid: str, dry_run: bool) -> str:
        """DELETE with propagationPolicy Foreground and a uid precondition: deleted|gone|replaced|dry-run.

        ``gone``: already deleted (404, e.g. by a run that was killed); ``replaced``: an object of that
        name with another uid exists (409): it was not in the plan, so it is kept.
        """
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}
        if uid:
            options["preconditions"] = {"uid": uid}
        if dry_run:
            options["dryRun"] = ["All"]
        response = self._send("DELETE", _path(kind, namespace, name), json=options)
        if response.status_code in (200, 202):
            return "dry-run" if dry_run else "deleted"
        if response.status_code == 404:
            return "gone"
        if response.status_code == 409:
            return "replaced"
        raise SourceError(f"delete {kind} {namespace}/{name}: HTTP {response.status_code}: {_message(response)}")

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        """The object, or None when it does not exist (404)."""
        response = self._send("GET", _path(kind, namespace, name))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SourceError(f"get {kind} {namespace}/{name}: HTTP {response.status_code}: {_message(response)}")
        obj: Obj = response.json()
        obj.setdefault("kind", kind)
        return obj

    def patch(self, kind: str, namespace: str, name: str, body: Obj, *, dry_run: bool) -> str:
        """A JSON merge patch: changed|gone|conflict|dry-run (``conflict``: 409, the object changed since the
        ``metadata.resourceVersion`` the patch carries)."""
        params = {"dryRun": "All"} if dry_run else {}
        response = self._send(
            "PATCH",
            _path(kind, namespace, name),
            params=params,
            content=json.dumps(body).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/merge-patch+json"},
        )
        if response.status_code == 200:
            return "dry-run" if dry_run else "changed"
        if response.status_code == 404:
            return "gone"
        if response.status_code == 409:
            return "conflict"
        raise SourceError(f"patch {kind} {namespace}/{name}: HTTP {response.status_code}: {_message(response)}")

    def event(self, *, kind: str, namespace: str, name: str, uid: str, reason: str, message: str) -> None:
        """A core/v1 Event on the object (in ``default`` for cluster-scoped ones); failures are not fatal."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ns = namespace or "default"
        gv = RESOURCES[kind][0]
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": "kubetally-janitor.", "namespace": ns},
            "involvedObject": {"apiVersion": gv, "kind": kind, "name": name, "namespace": namespace, "uid": uid},
            "reason": reason,
            "message": message[:1024],
            "type": "Normal",
            "source": {"component": "kubetally-janitor"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": "kubetally-janitor",
            "reportingInstance": "kubetally",
        }
        with contextlib.suppress(httpx2.HTTPError):
            self.http.post(f"/api/v1/namespaces/{ns}/events", json=body)
