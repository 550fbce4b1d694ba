"""Rendered answers as bytes: what a serve worker writes and the long-lived server answers from.

Standard library only (the server that imports this holds no dataset and no dataframe library). A
:data:`Bundle` maps a route key (:func:`kubetally.outputs.web.query.route_key`) to a :class:`Response`;
:func:`write_bundle` / :func:`read_bundle` move one between processes as a file: a JSON index line, then
the bodies back to back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from kubetally.outputs.web.query import BadRequest, route_key

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]


@dataclass(frozen=True)
class Response:
    status: str
    kind: str
    body: bytes


Bundle = dict[str, Response]


def error(status: str, message: str, **more: str) -> Response:
    """A JSON error answer: ``{"error": "one line"}``."""
    return Response(status, "application/json", (json.dumps({"error": message, **more}, indent=1) + "\n").encode())


def write_bundle(bundle: Bundle, path: Path) -> Path:
    index = [{"key": k, "status": r.status, "kind": r.kind, "length": len(r.body)} for k, r in bundle.items()]
    with path.open("wb") as out:
        out.write(json.dumps(index).encode() + b"\n")
        for response in bundle.values():
            out.write(response.body)
    return path


def read_bundle(path: Path) -> Bundle:
    with path.open("rb") as source:
        index = json.loads(source.readline())
        bundle: Bundle = {}
        for entry in index:
            body = source.read(entry["length"])
            if len(body) != entry["length"]:
                raise ValueError(f"{path}: truncated bundle (at {entry['key']})")
            bundle[entry["key"]] = Response(entry["status"], entry["kind"], body)
    return bundle


def send(start_response: StartResponse, response: Response) -> list[bytes]:
    headers = [("Content-Type", response.kind), ("Content-Length", str(len(response.body))),
               ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]  # fmt: skip
    start_response(response.status, headers)
    return [response.body]


Answer = Callable[[str, str, dict[str, str]], Response]
"""``answer(key, path, query)``: the response for a checked request (its route key, path and query)."""


class BundleApplication:
    """A WSGI callable that checks a request, names it by its route key and asks ``answer`` for the bytes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return send(start_response, Response("405 Method Not Allowed", "text/plain", b"read-only: GET only\n"))
        if path == "/healthz":
            return send(start_response, Response("200 OK", "text/plain", b"ok\n"))
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            key = route_key(path, query)
        except BadRequest as exc:
            return send(start_response, error("400 Bad Request", str(exc)))
        return send(start_response, self.answer(key, path, query))
