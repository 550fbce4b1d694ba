"""The janitor's Kubernetes API calls: paginated lists, DELETE with propagation/dryRun/uid precondition, Events.

The connection comes from a kubeconfig (server, CA, ``insecure-skip-tls-verify``, bearer token or
token file, client certificate and key, files or ``-data``). Exec and auth-provider plugins are not
supported here: the error says so.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kubetally.errors import ConfigError, SourceError

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


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    return str(body.get("message") or response.reason_phrase) if isinstance(body, dict) else response.reason_phrase


@dataclass
class Connection:
    server: str
    context: str
    headers: dict[str, str]
    verify: ssl.SSLContext | bool
    cert: tuple[str, str] | None = None


def _data_file(data: str, suffix: str) -> str:
    handle = tempfile.NamedTemporaryFile("wb", suffix=suffix, delete=False)  # noqa: SIM115 - kept for httpx
    with handle:
        handle.write(base64.b64decode(data))
    return handle.name


def connection(kubeconfig: Path | None, context: str | None) -> Connection:
    """The server and credentials of ``context`` (default: current-context) of the kubeconfig."""
    path = (kubeconfig or Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])).expanduser()
    try:
        doc = YAML(typ="safe", pure=True).load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"kubeconfig {path}: unreadable: {exc.strerror}") from None
    except YAMLError as exc:
        raise ConfigError(f"kubeconfig {path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path}: not a kubeconfig")

    def named(section: str, name: str) -> Obj:
        for entry in doc.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return dict(entry.get(section[:-1]) or {})
        raise ConfigError(f"kubeconfig {path}: no {section[:-1]} {name!r}")

    ctx_name = context or doc.get("current-context")
    if not ctx_name:
        raise ConfigError(f"kubeconfig {path}: no current-context; give --context")
    ctx = named("contexts", str(ctx_name))
    cluster = named("clusters", str(ctx.get("cluster")))
    user = named("users", str(ctx["user"])) if ctx.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        raise ConfigError(
            f"kubeconfig {path}: user of context {ctx_name!r} uses an exec/auth-provider plugin, which the janitor "
            "does not run; use a token or client certificate (e.g. a ServiceAccount token for CI)"
        )
    server = str(cluster.get("server") or "")
    if not server.startswith(("http://", "https://")):
        raise ConfigError(f"kubeconfig {path}: cluster of context {ctx_name!r} has no http(s) server")
    verify: ssl.SSLContext | bool = True
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    elif cluster.get("certificate-authority-data"):
        verify = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        verify = ssl.create_default_context(cafile=str(cluster["certificate-authority"]))
    headers = {"Accept": "application/json", "User-Agent": "kubetally-janitor"}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(str(user["tokenFile"])).read_text().strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    cert = None
    if user.get("client-certificate-data") and user.get("client-key-data"):
        cert = (_data_file(user["client-certificate-data"], ".crt"), _data_file(user["client-key-data"], ".key"))
    elif user.get("client-certificate") and user.get("client-key"):
        cert = (str(user["client-certificate"]), str(user["client-key"]))
    return Connection(server.rstrip("/"), str(ctx_name), headers, verify, cert)


class Client:
    """The calls the janitor makes; every request and its answer can fail with one clear line."""

    def __init__(self, conn: Connection, *, timeout: float = 30.0) -> None:
        self.conn = conn
        self.http = httpx.Client(
            base_url=conn.server, headers=conn.headers, verify=conn.verify, cert=conn.cert, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
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
        with contextlib.suppress(httpx.HTTPError):
            self.http.post(f"/api/v1/namespaces/{ns}/events", json=body)
