"""Serve a WSGI application with the standard library (threads, one per request; no framework)."""

from __future__ import annotations

import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from kubetally.errors import KubetallyError


class _Threaded(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr (Prometheus scrapes every 30 s)."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise KubetallyError(f"--listen {text!r}: write HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def start(app: Any, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Bind and serve ``app`` in a daemon thread; returns the server (``server.server_port``) and the thread."""
    try:
        server = make_server(host, port, app, server_class=_Threaded, handler_class=_Quiet)
    except OSError as exc:
        raise KubetallyError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    thread = threading.Thread(target=server.serve_forever, name="kubetally-serve", daemon=True)
    thread.start()
    return server, thread
