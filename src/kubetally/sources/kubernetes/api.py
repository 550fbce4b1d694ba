"""Reading objects from a live Kubernetes API server: read-only lists, paginated, with RBAC gaps as notes.

The kubeconfig (contexts, client certificates, bearer tokens, exec plugins such as ``aws eks get-token``,
CA bundles) and the in-cluster service account (with its rotating token) are handled by **lightkube**'s
config layer, which gives an HTTP client already authenticated for the chosen context. The lists
themselves are plain REST calls on that client: kubetally needs the raw JSON (the very objects a
``kubectl get -o json`` dump holds, so both paths build the Dataset with the same code) and precise
control of pagination and its failures:

- ``limit``/``continue`` pages of ``page_size`` objects, as kubectl does;
- a continue token that expired mid-list (**410 Gone**, etcd compacted meanwhile) restarts that
  kind's list from the beginning, up to ``restarts`` times (no object counted twice);
- a kind the credentials may not list (**403**) or the server does not serve (**404**, e.g. an old
  cluster) becomes a note saying what that costs; the other kinds are still read;
- 401, an unreachable server or a bad kubeconfig are one-line :class:`SourceError`/:class:`ConfigError`.

Secrets are read for their names, types and references only: their ``data``/``stringData`` and the
``last-applied-configuration`` annotation (which holds the data too) are dropped as each page arrives.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import msgspec
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.config.models import User
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kubetally.errors import ConfigError, SourceError
from kubetally.sources.kubernetes.objects import Obj
from kubetally.sources.kubernetes.settings import KubeConnection

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Kind:
    group_version: str
    plural: str
    kind: str
    costs: str
    """What is unknown when this kind cannot be listed (said in the note)."""

    @property
    def path(self) -> str:
        root = "/api" if "/" not in self.group_version else "/apis"
        return f"{root}/{self.group_version}/{self.plural}"


KINDS: tuple[Kind, ...] = (
    Kind("v1", "namespaces", "Namespace", "namespace labels"),
    Kind("v1", "nodes", "Node", "nodes: capacity, instance types, zones"),
    Kind("v1", "pods", "Pod", "pods: containers, requests and limits, owners"),
    Kind("v1", "services", "Service", "Services"),
    Kind("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", "Service endpoints"),
    Kind("v1", "configmaps", "ConfigMap", "ConfigMaps (references to them are still read from pods)"),
    Kind("v1", "secrets", "Secret", "Secrets (references to them are still read from pods)"),
    Kind("v1", "serviceaccounts", "ServiceAccount", "ServiceAccounts and their imagePullSecrets"),
    Kind("v1", "persistentvolumeclaims", "PersistentVolumeClaim", "PVCs: volumes and their sizes"),
    Kind("v1", "persistentvolumes", "PersistentVolume", "PVs: reclaim policy, phase"),
    Kind("storage.k8s.io/v1", "storageclasses", "StorageClass", "storage classes"),
    Kind("apps/v1", "deployments", "Deployment", "Deployments (owners fall back to pod labels)"),
    Kind("apps/v1", "replicasets", "ReplicaSet", "ReplicaSets (owners fall back to pod-template-hash)"),
    Kind("apps/v1", "statefulsets", "StatefulSet", "StatefulSets"),
    Kind("apps/v1", "daemonsets", "DaemonSet", "DaemonSets"),
    Kind("batch/v1", "jobs", "Job", "Jobs"),
    Kind("batch/v1", "cronjobs", "CronJob", "CronJobs"),
    Kind("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", "HPAs"),
    Kind("networking.k8s.io/v1", "ingresses", "Ingress", "Ingresses (TLS and backend references)"),
)
"""What kubetally lists: read-only ``list`` on each (deploy/clusterrole.yaml grants exactly these)."""

ENDPOINTS = Kind("v1", "endpoints", "Endpoints", "Service endpoints")
"""Listed only when EndpointSlices cannot be (clusters before 1.21, or RBAC)."""

SECRET_DATA = ("data", "stringData")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass
class Listing:
    """Objects read, kinds listed, and what could not be read (notes)."""

    server: str
    context: str
    objects: list[Obj]
    listed: list[str]
    notes: list[str]
    requests: int


def _config(settings: KubeConnection) -> SingleConfig:
    if settings.in_cluster:
        if "KUBERNETES_SERVICE_HOST" not in os.environ:
            raise ConfigError("--in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)")
        try:
            config = KubeConfig.from_service_account().get()
        except Exception as exc:  # lightkube's ConfigError: a file of the service account is missing
            raise ConfigError(f"in-cluster service account: {exc}") from None
    else:
        path = settings.kubeconfig or Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
        path = path.expanduser()
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"kubeconfig {path}: unreadable: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            document = YAML(typ="safe").load(text)
        except YAMLError as exc:
            raise ConfigError(f"kubeconfig {path}: not valid YAML: {str(exc).splitlines()[0]}") from None
        try:
            kubeconfig = KubeConfig.from_dict(document, fname=path)
        except (KeyError, TypeError, AttributeError, msgspec.ValidationError) as exc:
            raise ConfigError(f"kubeconfig {path}: not a kubeconfig ({type(exc).__name__}: {exc})") from None
        try:
            config = kubeconfig.get(settings.context)
        except KeyError as exc:
            raise ConfigError(f"kubeconfig {path}: context {settings.context or kubeconfig.current_context!r} "
                              f"names {exc} which is not defined") from None  # fmt: skip
        except Exception as exc:  # lightkube's ConfigError: unknown context, no current context
            known = ", ".join(sorted(kubeconfig.contexts)) or "none"
            raise ConfigError(f"kubeconfig {path}: {exc} (contexts: {known})") from None
    assert config is not None
    if config.user is None:  # a context without a user: anonymous, as kubectl
        config = config._replace(user=User())
    return config


def _client(config: SingleConfig, settings: KubeConnection) -> httpx2.Client:
    params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(settings.timeout_seconds))
    try:
        return client_adapter.Client(config, params)
    except Exception as exc:  # a missing CA or client certificate file
        raise ConfigError(f"context {config.context_name}: {exc}") from None


def connect(settings: KubeConnection) -> tuple[httpx2.Client, str, str]:
    """An HTTP client authenticated for the chosen context, its server URL and context name.

    The client's base URL is the API server: ``client.get("/api/v1/pods")``. Close it (it is a context
    manager). kubetally's sources only list and get; writes (the janitor) are planned and confirmed elsewhere.
    """
    config = _config(settings)
    return _client(config, settings), str(config.cluster.server).rstrip("/"), config.context_name


def _status_message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    return str(body.get("message") or body.get("reason") or response.reason_phrase) if isinstance(body, dict) else ""


class _Gone(Exception):
    """A continue token expired (410): the list must start again."""


class _Unavailable(Exception):
    """This kind cannot be listed (403 or 404): a note, not a failure."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Reader:
    client: httpx2.Client
    settings: KubeConnection
    server: str
    requests: int = 0

    def get(self, path: str, params: dict[str, str]) -> Obj:
        for attempt in range(self.settings.retries + 1):
            self.requests += 1
            try:
                response = self.client.get(path, params=params, headers={"Accept": "application/json"})
            except httpx2.HTTPError as exc:
                if attempt == self.settings.retries:
                    raise SourceError(f"{self.server}: cannot reach the API server: {exc}") from None
            else:
                code = response.status_code
                if code == 200:
                    body = response.json()
                    if not isinstance(body, dict):
                        raise SourceError(f"{self.server}{path}: not a Kubernetes list")
                    return body
                if code == 401:
                    raise SourceError(f"{self.server}: 401 Unauthorized: the API server refused the credentials")
                if code == 410:
                    raise _Gone
                if code in (403, 404):
                    raise _Unavailable(code, _status_message(response))
                if (code != 429 and code < 500) or attempt == self.settings.retries:
                    raise SourceError(f"{self.server}{path}: HTTP {code}: {_status_message(response)}")
            time.sleep(0.25 * 2**attempt)
        raise AssertionError("unreachable")

    def pages(self, kind: Kind) -> Iterator[list[Obj]]:
        token = ""
        while True:
            params = {"limit": str(self.settings.page_size)}
            if token:
                params["continue"] = token
            body = self.get(kind.path, params)
            yield [_clean(kind, item) for item in body.get("items") or [] if isinstance(item, dict)]
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return

    def list(self, kind: Kind, progress: Progress) -> list[Obj]:
        for _ in range(self.settings.restarts + 1):
            objects: list[Obj] = []
            try:
                for page in self.pages(kind):
                    objects += page
                    progress(f"listing {kind.plural}: {len(objects)}")
            except _Gone:
                progress(f"listing {kind.plural}: continue token expired (410 Gone), starting again")
                continue
            return objects
        raise SourceError(
            f"{self.server}: listing {kind.plural} kept expiring (410 Gone {self.settings.restarts + 1} times); "
            "try a larger --page-size"
        )


def _clean(kind: Kind, item: Obj) -> Obj:
    """A list item as ``kubectl get -o json`` prints it: with kind/apiVersion, without managedFields/secret data."""
    obj = {"kind": kind.kind, "apiVersion": kind.group_version, **item}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    if kind.kind == "Secret":
        for key in SECRET_DATA:
            obj.pop(key, None)
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            meta["annotations"].pop(LAST_APPLIED, None)
    return obj


def _note(kind: Kind, error: _Unavailable) -> str:
    why = "RBAC: 403 Forbidden" if error.status == 403 else "not served by this cluster (404)"
    return f"could not list {kind.plural} ({why}): unknown {kind.costs}"


def list_objects(settings: KubeConnection, *, progress: Progress = lambda _: None) -> Listing:
    """Every object of :data:`KINDS` the credentials may list, and a note for each kind they may not."""
    client, server, context = connect(settings)
    listing = Listing(server=server, context=context, objects=[], listed=[], notes=[], requests=0)
    with client:
        reader = _Reader(client, settings, server)
        unavailable: dict[str, _Unavailable] = {}
        for kind in KINDS:
            try:
                listing.objects += reader.list(kind, progress)
                listing.listed.append(kind.kind)
            except _Unavailable as error:
                unavailable[kind.kind] = error
        if "EndpointSlice" in unavailable:
            try:
                listing.objects += reader.list(ENDPOINTS, progress)
                listing.listed.append(ENDPOINTS.kind)
                del unavailable["EndpointSlice"]
            except _Unavailable:
                pass
        if len(unavailable) == len(KINDS):
            first = next(iter(unavailable.values()))
            raise SourceError(f"{server}: could not list anything: {first}")
        listing.notes = [_note(k, unavailable[k.kind]) for k in KINDS if k.kind in unavailable]
        listing.requests = reader.requests
    return listing
