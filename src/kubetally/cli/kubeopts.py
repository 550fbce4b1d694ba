"""The Kubernetes source's CLI options, built once into a :class:`KubeConnection` (shared by every command)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from kubetally.errors import ConfigError
from kubetally.sources.kubernetes.settings import KubeConnection


def connection(
    *,
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool = False,
    page_size: int = 500,
    timeout: float = 30.0,
) -> KubeConnection | None:
    """The connection the options name, or None when they name no cluster (no --kubeconfig/--in-cluster)."""
    if context is not None and kubeconfig is None:
        raise ConfigError("--context needs --kubeconfig")
    if kubeconfig is None and not in_cluster:
        return None
    try:
        return KubeConnection(
            kubeconfig=kubeconfig, context=context, in_cluster=in_cluster, page_size=page_size, timeout_seconds=timeout
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"invalid Kubernetes connection: {error['msg'].removeprefix('Value error, ')}") from None
