"""The one place label values are quoted for PromQL and for exposition text.

PromQL string literals and OpenMetrics label values both escape ``\\``, ``"`` and
newlines; PromQL additionally must not see raw control characters. Never build a
selector with an f-string around a raw value: use :func:`quote` / :func:`selector`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SANITIZE = re.compile(r"[^a-zA-Z0-9_]")


def escape_label_value(value: str) -> str:
    """``value`` escaped for inside double quotes (OpenMetrics and PromQL agree on these)."""
    out = "".join(_ESCAPES.get(ch, ch) for ch in value)
    # Remaining control characters: PromQL accepts \xNN escapes, exposition text never has them.
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", out)


def quote(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal."""
    return f'"{escape_label_value(value)}"'


def check_label_name(name: str) -> str:
    """``name`` if it is a valid label name, else ValueError (names are never escaped, only checked)."""
    if not _LABEL_NAME.match(name):
        raise ValueError(f"invalid Prometheus label name {name!r}")
    return name


def check_metric_name(name: str) -> str:
    if not _METRIC_NAME.match(name):
        raise ValueError(f"invalid Prometheus metric name {name!r}")
    return name


def matchers(
    equal: Mapping[str, str] | None = None,
    *,
    not_equal: Mapping[str, str] | None = None,
    regex: Mapping[str, str] | None = None,
    not_regex: Mapping[str, str] | None = None,
) -> str:
    """Comma-separated label matchers, every value quoted: ``job="kubelet",container!=""``."""
    parts: list[str] = []
    for op, items in (("=", equal), ("!=", not_equal), ("=~", regex), ("!~", not_regex)):
        for name, value in (items or {}).items():
            parts.append(f"{check_label_name(name)}{op}{quote(value)}")
    return ",".join(parts)


def selector(metric: str, extra: str = "") -> str:
    """``metric{extra}`` where ``extra`` comes from :func:`matchers`."""
    return f"{check_metric_name(metric)}{{{extra}}}"


def regex_escape(value: str) -> str:
    """``value`` as a literal inside a PromQL (RE2) regex, before :func:`quote` is applied."""
    return re.sub(r"([.^$|()\[\]{}*+?\\])", r"\\\1", value)


def sanitize_label_name(key: str) -> str:
    """A Kubernetes label key as kube-state-metrics writes it after ``label_``.

    ``app.kubernetes.io/name`` -> ``app_kubernetes_io_name`` (KSM's SanitizeLabelName).
    """
    return _SANITIZE.sub("_", key)
