"""kubetally: FinOps for Kubernetes clusters, from one k3s Raspberry Pi to many cloud clusters."""

__version__ = "0.1.0"
