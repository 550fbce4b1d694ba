"""A Kubernetes API test server: the REST API for the verbs kubetally (and kubectl) use, on 127.0.0.1.

What it speaks, as a real kube-apiserver does (v1.32 behaviour):

- discovery: ``/version``, ``/api``, ``/apis``, ``/api/v1`` and ``/apis/GROUP/VERSION`` resource lists;
- ``list`` (cluster-wide and per namespace) with ``limit``/``continue`` pagination, a
  ``resourceVersion`` per list and ``remainingItemCount``; a continue token older than the last
  compaction answers **410 Gone** (reason ``Expired``) with the real message;
- ``get``; ``create`` (POST, e.g. events), ``patch`` (merge, strategic-merge as merge, JSON patch;
  a ``metadata.resourceVersion`` in the patch that is not the object's answers 409 Conflict),
  ``delete`` with ``propagationPolicy`` (Background/Foreground delete dependents found by
  ``ownerReferences``, Orphan strips them), ``dryRun=All`` and a ``preconditions.uid`` (409 when it
  differs); deleting a Namespace deletes everything in it;
- **403 Forbidden** with the real RBAC message for the resources named in ``forbidden``;
- ``metrics.k8s.io/v1beta1`` pods and nodes from a feed the test sets (``metrics``);
- the ``Table`` form kubectl asks for when it prints tables.

Every request is recorded (:attr:`KubeAPIServer.requests`). Objects added are validated against the
official OpenAPI schemas (``kubernetes-validate``) unless ``validate=False``.

Start it in a test::

    with KubeAPIServer(objects) as api:
        api.url                      # http://127.0.0.1:PORT
        api.write_kubeconfig(path)   # a kubeconfig whose current context points at it

or as a process (``PYTHONPATH=tests python -m kubeapi.server --demo [--port N]``), which prints
the URL on its first line and serves until killed.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubeapi.resources import BY_PATH, RESOURCES, Resource, resource_of

Obj = dict[str, Any]
MetricsFeed = Callable[[Resource], list[Obj]]
"""Returns the PodMetrics or NodeMetrics items to serve now (called on every metrics request)."""

EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue value from the response."
)
KUBE_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int


@dataclass
class _State:
    objects: dict[tuple[Resource, str, str], Obj] = field(default_factory=dict)
    revision: int = 1000
    compacted: int = 0
    """Continue tokens issued at a revision below this answer 410 Gone."""
    compact_after_pages: int | None = None
    forbidden: set[str] = field(default_factory=set)
    """Plural resource names (e.g. ``secrets``) every request for which is refused with 403."""
    metrics: MetricsFeed | None = None
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)


def _status(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                 "reason": reason, "code": code}  # fmt: skip
    if details:
        body["details"] = details
    return body


def _token(revision: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _untoken(token: str) -> tuple[int, str]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    data = json.loads(raw)
    return int(data["rv"]), str(data["start"])


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")] if path else []


def _json_patch(doc: Any, ops: list[Obj]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = _pointer(str(op["path"]))
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        kind = op["op"]
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent[last]
            if current != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
        elif kind == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, op["value"])
                else:
                    parent[index] = op["value"]
            else:
                if kind == "replace" and last not in parent:
                    raise ValueError(f"replace of missing {op['path']}")
                parent[last] = op["value"]
        else:
            raise ValueError(f"unsupported op {kind}")
    return doc


class KubeAPIServer:
    """The server; a context manager that serves on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        objects: Iterable[Obj] = (),
        *,
        forbidden: Iterable[str] = (),
        validate: bool = True,
        schema_version: str = "1.32.0",
        port: int = 0,
        token: str | None = None,
    ) -> None:
        self.state = _State(forbidden=set(forbidden))
        self.validate = validate
        self.schema_version = schema_version
        self.token = token
        """When set, requests without ``Authorization: Bearer <token>`` answer 401."""
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add(objects)

    # -- objects -------------------------------------------------------------------------------
    def add(self, objects: Iterable[Obj]) -> None:
        """Add (or replace) objects; each is validated against the official schema first."""
        for obj in objects:
            self._put(copy.deepcopy(obj), validate=self.validate)

    def _put(self, obj: Obj, *, validate: bool) -> Obj:
        res = resource_of(obj)
        if validate and res.group != "metrics.k8s.io":
            import kubernetes_validate

            kubernetes_validate.validate(obj, self.schema_version, strict=True)
        meta = obj.setdefault("metadata", {})
        with self.state.lock:
            self.state.revision += 1
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            meta["resourceVersion"] = str(self.state.revision)
            ns = str(meta.get("namespace", "")) if res.namespaced else ""
            self.state.objects[(res, ns, str(meta["name"]))] = obj
        return obj

    def objects(self, kind: str | None = None) -> list[Obj]:
        with self.state.lock:
            return [copy.deepcopy(o) for (r, _, _), o in sorted(self.state.objects.items(), key=_order)
                    if kind is None or r.kind == kind]  # fmt: skip

    def compact(self) -> None:
        """Compact history: every continue token issued so far now answers 410 Gone."""
        with self.state.lock:
            self.state.revision += 1
            self.state.compacted = self.state.revision

    def compact_after(self, pages: int) -> None:
        """Compact once, right after serving ``pages`` more list pages (a token expiring mid-list)."""
        self.state.compact_after_pages = pages

    def set_metrics(self, feed: MetricsFeed | None) -> None:
        self.state.metrics = feed

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    def clear_requests(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> KubeAPIServer:
        handler = type("Handler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kubeapi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> KubeAPIServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, *, context: str = "kubetally-test", namespace: str = "default") -> Path:
        """A kubeconfig whose current context is this server (with the bearer token, if one is set)."""
        user: Obj = {"token": self.token} if self.token else {}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": {"server": self.url}}],
            "users": [{"name": "test-user", "user": user}],
            "contexts": [
                {"name": context, "context": {"cluster": "test", "user": "test-user", "namespace": namespace}}
            ],
            "current-context": context,
        }
        path.write_text(json.dumps(config, indent=2))
        return path


def _order(item: tuple[tuple[Resource, str, str], Obj]) -> tuple[str, str, str, str]:
    (res, ns, name), _ = item
    return (res.group, res.plural, ns, name)


class _Handler(BaseHTTPRequestHandler):
    api: KubeAPIServer
    protocol_version = "HTTP/1.1"
    _request: tuple[str, str, dict[str, list[str]], Any]  # method, path, query, body of the request being answered

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing ------------------------------------------------------------------------------
    def _send(self, code: int, body: Obj, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self._record(code)  # before the answer: a client that has its answer finds its request logged
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, code: int) -> None:
        method, path, query, body = self._request
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "content-type", "authorization")}
        with self.api.state.lock:
            self.api.state.requests.append(Recorded(method, path, query, body, headers, code))

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw.decode(errors="replace")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self._body() if method in ("POST", "PATCH", "PUT", "DELETE") else None
        self._request = (method, url.path, query, body)
        try:
            if self.api.token and self.headers.get("Authorization") != f"Bearer {self.api.token}":
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            else:
                self._route(method, url.path, query, body)
        except Exception as exc:  # the test server reports its own bugs as 500s, like a real one would
            self._send(500, _status(500, "InternalError", f"test server error: {exc!r}"))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- routing -------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and self._discovery(parts):
            return
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
            return
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 2:
            self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
            return
        name = rest[1] if len(rest) == 2 else None
        verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch", "PUT": "update",
                "DELETE": "delete"}[method]  # fmt: skip
        if res.plural in self.api.state.forbidden or verb not in res.verbs:
            self._send(403, _forbidden(res, verb, namespace))
            return
        if verb == "list":
            self._list(res, namespace, query)
        elif verb == "get":
            self._get(res, namespace, str(name))
        elif verb == "create":
            self._create(res, namespace, body, query)
        elif verb == "patch":
            self._patch(res, namespace, str(name), body, query)
        elif verb == "delete":
            self._delete(res, namespace, str(name), body, query)
        else:
            self._send(405, _status(405, "MethodNotAllowed", f"{verb} is not supported by the test server"))

    def _discovery(self, parts: list[str]) -> bool:
        if parts == ["version"]:
            self._send(200, KUBE_VERSION)
        elif parts == ["api"]:
            self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})  # fmt: skip
        elif parts == ["apis"]:
            self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": _groups()})
        elif len(parts) == 2 and parts[0] == "apis":
            group = next((g for g in _groups() if g["name"] == parts[1]), None)
            if group is None:
                return False
            self._send(200, {"kind": "APIGroup", "apiVersion": "v1", **group})
        elif parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
            group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            served = [r for r in RESOURCES if r.group == group and r.version == version]
            if not served:
                return False
            self._send(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": served[0].group_version,
                             "resources": [_api_resource(r) for r in served]})  # fmt: skip
        else:
            return False
        return True

    # -- verbs ---------------------------------------------------------------------------------
    def _items(self, res: Resource, namespace: str | None) -> list[Obj]:
        if res.group == "metrics.k8s.io":
            feed = self.api.state.metrics
            items = feed(res) if feed is not None else []
            chosen = [o for o in items if namespace is None or o["metadata"].get("namespace") == namespace]
            return sorted(chosen, key=_key)
        with self.api.state.lock:
            keyed = sorted(((k[1], k[2]), o) for k, o in self.api.state.objects.items() if k[0] == res)
        return [copy.deepcopy(o) for (ns, _), o in keyed if namespace is None or ns == namespace]

    def _list(self, res: Resource, namespace: str | None, query: dict[str, list[str]]) -> None:
        state = self.api.state
        items = self._items(res, namespace)
        selector = query.get("labelSelector", [""])[0]
        if selector:
            wanted = dict(term.split("=", 1) for term in selector.split(",") if "=" in term)
            items = [
                o for o in items if all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
            ]
        with state.lock:
            revision = state.revision
            compacted = state.compacted
        start = 0
        token = query.get("continue", [""])[0]
        if token:
            try:
                revision, after = _untoken(token)
            except (ValueError, KeyError, json.JSONDecodeError):
                self._send(400, _status(400, "BadRequest", "continue key is not valid: illegal base64 data"))
                return
            if revision < compacted:
                self._send(410, _status(410, "Expired", EXPIRED))
                return
            start = next((i for i, o in enumerate(items) if _key(o) > after), len(items))
        limit = int(query.get("limit", ["0"])[0] or 0)
        page = items[start : start + limit] if limit > 0 else items[start:]
        meta: Obj = {"resourceVersion": str(revision)}
        remaining = len(items) - start - len(page)
        if limit > 0 and remaining > 0:
            meta["continue"] = _token(revision, _key(page[-1]))
            meta["remainingItemCount"] = remaining
        for obj in page:  # a real list's items carry no kind/apiVersion
            obj.pop("kind", None)
            obj.pop("apiVersion", None)
        with state.lock:
            if state.compact_after_pages is not None:
                state.compact_after_pages -= 1
                if state.compact_after_pages <= 0:
                    state.compact_after_pages = None
                    state.revision += 1
                    state.compacted = state.revision
        if self._wants_table():
            self._send(200, _table(res, page, meta), "application/json")
            return
        self._send(200, {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta, "items": page})

    def _wants_table(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    def _get(self, res: Resource, namespace: str | None, name: str) -> None:
        found = next((o for o in self._items(res, namespace) if o["metadata"]["name"] == name), None)
        if found is None:
            self._send(404, _not_found(res, name))
        elif self._wants_table():
            self._send(200, _table(res, [found], {"resourceVersion": found["metadata"].get("resourceVersion", "")}))
        else:
            self._send(200, found)

    def _stored(self, res: Resource, namespace: str | None, name: str) -> Obj | None:
        with self.api.state.lock:
            return self.api.state.objects.get((res, (namespace or "") if res.namespaced else "", name))

    def _create(self, res: Resource, namespace: str | None, body: Any, query: dict[str, list[str]]) -> None:
        if not isinstance(body, dict):
            self._send(400, _status(400, "BadRequest", "the request body is not a JSON object"))
            return
        body.setdefault("apiVersion", res.group_version)
        body.setdefault("kind", res.kind)
        meta = body.setdefault("metadata", {})
        if res.namespaced:
            meta.setdefault("namespace", namespace or "default")
        if "name" not in meta and "generateName" in meta:
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        if self._stored(res, meta.get("namespace"), str(meta.get("name"))) is not None:
            self._send(409, _status(409, "AlreadyExists", f'{res.plural} "{meta.get("name")}" already exists'))
            return
        if "All" in query.get("dryRun", []):
            self._send(201, body)
            return
        self._send(201, self.api._put(body, validate=self.api.validate))

    def _patch(self, res: Resource, namespace: str | None, name: str, body: Any, query: dict[str, list[str]]) -> None:
        current = self._stored(res, namespace, name)
        if current is None:
            self._send(404, _not_found(res, name))
            return
        kind = (self.headers.get("Content-Type") or "").split(";")[0]
        try:
            if kind == "application/json-patch+json":
                patched = _json_patch(current, body)
            elif kind in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                patched = _merge(current, body)
            else:
                self._send(415, _status(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                        "format - accepted media types include: application/json-patch+json, "
                                        "application/merge-patch+json"))  # fmt: skip
                return
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            self._send(422, _status(422, "Invalid", f"the patch could not be applied: {exc}"))
            return
        wanted = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        if wanted and wanted != current["metadata"].get("resourceVersion"):  # optimistic concurrency, as the API
            self._send(409, _status(409, "Conflict", f'Operation cannot be fulfilled on {res.plural} "{name}": the '
                                    "object has been modified; please apply your changes to the latest version "
                                    "and try again"))  # fmt: skip
            return
        if "All" in query.get("dryRun", []):
            self._send(200, patched)
            return
        self._send(200, self.api._put(patched, validate=self.api.validate))

    def _delete(self, res: Resource, namespace: str | None, name: str, body: Any, query: dict[str, list[str]]) -> None:
        current = self._stored(res, namespace, name)
        if current is None:
            self._send(404, _not_found(res, name))
            return
        options = body if isinstance(body, dict) else {}
        policy = query.get("propagationPolicy", [options.get("propagationPolicy") or "Background"])[0]
        dry_run = "All" in query.get("dryRun", []) or "All" in (options.get("dryRun") or [])
        if policy not in ("Background", "Foreground", "Orphan"):
            self._send(400, _status(400, "BadRequest", f"propagationPolicy {policy!r} is not one of Orphan, "
                                    "Foreground, Background"))  # fmt: skip
            return
        wanted_uid = (options.get("preconditions") or {}).get("uid")
        if wanted_uid and wanted_uid != current["metadata"].get("uid"):
            self._send(409, _status(409, "Conflict", f"Precondition failed: UID in precondition: {wanted_uid}, "
                                    f"UID in object meta: {current['metadata'].get('uid')}"))  # fmt: skip
            return
        if not dry_run:
            with self.api.state.lock:
                self._remove(current, policy)
        self._send(200, current)

    def _remove(self, obj: Obj, policy: str) -> None:
        state = self.api.state
        uid = obj["metadata"]["uid"]
        state.objects = {k: o for k, o in state.objects.items() if o is not obj}
        if obj.get("kind") == "Namespace":  # the namespace controller deletes everything in it
            name = obj["metadata"]["name"]
            state.objects = {k: o for k, o in state.objects.items() if not (k[0].namespaced and k[1] == name)}
        for key, other in list(state.objects.items()):
            refs = other["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == uid for r in refs):
                continue
            if policy == "Orphan":
                kept = [r for r in refs if r.get("uid") != uid]
                other["metadata"]["ownerReferences"] = kept
                if not kept:
                    del other["metadata"]["ownerReferences"]
            elif key in state.objects:
                self._remove(other, policy)
        state.revision += 1


def _key(obj: Obj) -> str:
    """The storage key objects are listed in (namespace, then name), as one comparable string."""
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}\x00{meta['name']}"


def _groups() -> list[Obj]:
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in groups.setdefault(r.group, []):
            groups[r.group].append(r.version)
    return [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
         "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
        for g, vs in groups.items()
    ]  # fmt: skip


def _api_resource(r: Resource) -> Obj:
    entry: Obj = {"name": r.plural, "singularName": r.singular(), "namespaced": r.namespaced, "kind": r.kind,
                  "verbs": list(r.verbs)}  # fmt: skip
    if r.short:
        entry["shortNames"] = list(r.short)
    return entry


def _forbidden(res: Resource, verb: str, namespace: str | None) -> Obj:
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (f'{res.plural} is forbidden: User "system:serviceaccount:kubetally:kubetally" cannot {verb} '
               f'resource "{res.plural}" in API group "{res.group}" {scope}')  # fmt: skip
    return _status(403, "Forbidden", message, {"group": res.group, "kind": res.plural})


def _not_found(res: Resource, name: str) -> Obj:
    group = f".{res.group}" if res.group else ""
    return _status(404, "NotFound", f'{res.plural}{group} "{name}" not found',
                   {"name": name, "group": res.group, "kind": res.plural})  # fmt: skip


def _table(res: Resource, items: list[Obj], meta: Obj) -> Obj:
    """The meta.k8s.io/v1 Table kubectl asks for to print (Name, Namespace, Age columns)."""
    now = datetime.now(UTC)
    rows = []
    for obj in items:
        created = obj["metadata"].get("creationTimestamp")
        age = "<unknown>"
        if created:
            seconds = int((now - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds())
            age = (
                f"{seconds // 86400}d"
                if seconds >= 86400
                else f"{seconds // 3600}h"
                if seconds >= 3600
                else f"{seconds}s"
            )
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": [obj["metadata"]["name"], age], "object": partial})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0},
        ],
        "rows": rows,
    }


def load_objects(paths: Iterable[Path]) -> Iterator[Obj]:
    """Objects from JSON files holding one object or a List (what ``kubectl get -o json`` writes)."""
    for path in paths:
        data = json.loads(Path(path).read_text())
        yield from (data.get("items", []) if data.get("kind", "").endswith("List") else [data])


def main() -> None:  # pragma: no cover - a convenience for running it by hand
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=Path, nargs="*", default=[], help="JSON files (objects or Lists)")
    parser.add_argument("--demo", action="store_true", help="serve the AuditFlow simulator's objects")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--forbid", nargs="*", default=[], help="plural resources to refuse with 403")
    args = parser.parse_args()
    objects = list(load_objects(args.objects))
    if args.demo:
        from kubetally.simulate import ScenarioConfig, simulate
        from kubetally.simulate.k8s import cluster_objects

        objects += cluster_objects(simulate(ScenarioConfig(days=1)))
    with KubeAPIServer(objects, forbidden=args.forbid, port=args.port) as api:
        print(api.url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
