"""Settings of the Kubernetes API source: which cluster (kubeconfig/context or in-cluster) and how to list."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class KubeConnection(BaseModel):
    """How to reach a Kubernetes API server (read-only: kubetally only lists and gets)."""

    model_config = ConfigDict(frozen=True)

    kubeconfig: Path | None = Field(None, description="kubeconfig file (as kubectl's --kubeconfig).")
    context: str | None = Field(None, description="Context of the kubeconfig (default: its current-context).")
    in_cluster: bool = Field(False, description="Use the pod's service account (when kubetally runs in the cluster).")
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="Timeout of one HTTP request.")
    page_size: int = Field(500, ge=1, le=10_000, description="Objects per list page (limit/continue), as kubectl.")
    retries: int = Field(2, ge=0, le=10, description="Retries on 429, 5xx and network errors.")
    restarts: int = Field(2, ge=0, le=10, description="Restarts of a list whose continue token expired (410 Gone).")

    @model_validator(mode="after")
    def _one_way_in(self) -> KubeConnection:
        if self.in_cluster and self.kubeconfig is not None:
            raise ValueError("give --kubeconfig or --in-cluster, not both")
        if self.in_cluster and self.context is not None:
            raise ValueError("--context needs --kubeconfig (in-cluster has no contexts)")
        return self
